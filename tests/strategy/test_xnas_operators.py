"""`nsga2-sbx` uses XNAS's operator settings: checked against statistics derived here from
the published operator formulas (Deb & Agrawal 1995 SBX, Deb & Goyal 1996 polynomial
mutation, in the bounded forms of the NSGA-II C code), not against pymoo's code.

XNAS (LLNL/XNAS ``nsga_ii.py``, pymoo 0.4.2.2): SBX p=0.9 per mating, eta 3, per-variable
0.5; integer PM eta 3, per-variable 1/n_var, on every offspring; integers via bounds
widened by 0.5 and rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.population import Population

from xnas.config import SpaceConfig
from xnas.space import get_space
from xnas.strategy.nsga2 import integer_problem, xnas_operators

ETA = 3.0
LEVELS = 5  # NB201: five ops per edge
N_VAR = 6


def pm_change_probability(x: int, eta: float, levels: int) -> float:
    """P(round(child) != x) for one mutated gene, in closed form.

    Bounds widened to [-0.5, levels - 0.5] (width R = levels). With A = (1 - d)^(eta+1),
    the left branch (u <= 1/2) moves the gene by at least 1/2 iff u <= (B - A1) / (2 (1 - A1)),
    the right branch iff u >= (2 - A2 - B) / (2 (1 - A2)), where B = (1 - 1/(2R))^(eta+1).
    """
    R = float(levels)
    d1 = (x + 0.5) / R
    d2 = (levels - 0.5 - x) / R
    a1, a2 = (1 - d1) ** (eta + 1), (1 - d2) ** (eta + 1)
    b = (1 - 0.5 / R) ** (eta + 1)
    left = max(0.0, min(0.5, (b - a1) / (2 * (1 - a1)))) if a1 < 1 else 0.0
    right = max(0.0, 1 - max(0.5, (2 - a2 - b) / (2 * (1 - a2)))) if a2 < 1 else 0.0
    return left + right


def expected_pm_differ(eta: float, levels: int, n_var: int) -> float:
    """Share of mutated children that differ from the parent (uniform random parents)."""
    c = np.mean([pm_change_probability(x, eta, levels) for x in range(levels)])
    return 1 - (1 - c / n_var) ** n_var


def sbx_children(a: float, b: float, eta: float, lo: float, hi: float, u: np.ndarray):
    """Both bounded-SBX children of parents a < b for uniform draws ``u`` (Deb's C code)."""
    delta = b - a

    def betaq(beta):
        alpha = 2.0 - beta ** (-(eta + 1))
        return np.where(
            u <= 1 / alpha,
            (u * alpha) ** (1 / (eta + 1)),
            (1 / (2 - u * alpha)) ** (1 / (eta + 1)),
        )

    c1 = 0.5 * ((a + b) - betaq(1 + 2 * (a - lo) / delta) * delta)
    c2 = 0.5 * ((a + b) + betaq(1 + 2 * (hi - b) / delta) * delta)
    return c1, c2


def expected_sbx_neither(eta: float, levels: int) -> float:
    """Share of offspring genes equal to neither parent's value, parents uniform random."""
    u = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule over the uniform draw
    lo, hi = -0.5, levels - 0.5
    total = 0.0
    for a in range(levels):
        for b in range(levels):
            if a == b:
                continue  # equal parents: SBX does nothing
            x, y = min(a, b), max(a, b)
            c1, c2 = sbx_children(float(x), float(y), eta, lo, hi, u)
            for c in (c1, c2):
                r = np.round(c)
                total += np.mean((r != x) & (r != y)) / 2
    return 0.9 * 0.5 * total / levels**2  # mating probability x per-variable probability


@pytest.fixture(scope="module")
def setup():
    space = get_space(SpaceConfig(name="nb201"))
    problem = integer_problem(space, 2, 0)
    return space, problem, xnas_operators(space)


def test_pm_share_of_children_that_differ(setup):
    space, problem, ops = setup
    expected = expected_pm_differ(ETA, LEVELS, N_VAR)
    # 40.5% with XNAS's widened bounds and every offspring mutated (the 32.8% first quoted
    # for eta 3 matches bounds [0, 4] without widening and pymoo 0.6's 0.9 per individual)
    assert expected == pytest.approx(0.4054, abs=1e-3)
    rng = np.random.default_rng(0)
    n = 40_000
    X = rng.integers(0, LEVELS, size=(n, N_VAR))
    pop = Population.new("X", X.copy())
    out = ops["mutation"].do(problem, pop, random_state=np.random.default_rng(1)).get("X")
    assert out.dtype.kind == "i" and out.min() >= 0 and out.max() <= LEVELS - 1
    got = np.mean(np.any(out != X, axis=1))
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs(got - expected) < 4 * se, (got, expected)
    # and eta 20 (what we used before) would be far off: 8.4% under the same widening
    assert expected_pm_differ(20.0, LEVELS, N_VAR) < 0.1


def test_sbx_share_of_genes_taking_neither_parents_value(setup):
    space, problem, ops = setup
    expected = expected_sbx_neither(ETA, LEVELS)
    rng = np.random.default_rng(2)
    n = 40_000
    parents = rng.integers(0, LEVELS, size=(2 * n, N_VAR))
    pop = Population.new("X", parents)
    matings = np.arange(2 * n).reshape(n, 2)
    out = ops["crossover"].do(problem, pop, matings, random_state=np.random.default_rng(3))
    Q = out.get("X").reshape(2, n, N_VAR)  # pymoo stacks offspring 1 of all matings first
    a, b = parents[0::2], parents[1::2]
    neither = np.mean([(Q[k] != a) & (Q[k] != b) for k in range(2)])
    se = np.sqrt(expected * (1 - expected) / (2 * n * N_VAR))
    assert abs(neither - expected) < 5 * se, (neither, expected)
    assert Q.min() >= 0 and Q.max() <= LEVELS - 1
