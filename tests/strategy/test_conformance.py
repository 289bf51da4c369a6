"""The strategy contract, checked for every registered strategy on both spaces (in the
spirit of Optuna's ``optuna/testing``): a new strategy is tested here for free.

Told values come from a cheap deterministic function of the genome (two conflicting
objectives, one budget constraint), so nothing is trained.
"""

from __future__ import annotations

import numpy as np
import pytest

from xnas.config import SpaceConfig
from xnas.run import FAILED_F
from xnas.space import get_space
from xnas.strategy import STRATEGIES

POP = 8
CASES = [(s, sp) for s in STRATEGIES.names() for sp in ("nb201", "micro")]


def space_of(name):
    return get_space(SpaceConfig(name=name, channels=4, layers=1))


def values(space, genomes, fail_every: int = 0):
    """(F, G): objectives 'size' and 'distance from an optimum' (conflicting), a budget
    constraint on size, and every ``fail_every``-th genome failed (infeasible)."""
    X = np.array(genomes, dtype=float)
    span = np.maximum(space.upper - space.lower, 1)
    u = (X - space.lower) / span
    f1 = u.mean(axis=1)
    f2 = np.abs(u - 0.7).mean(axis=1)
    F = np.stack([f1, f2], axis=1)
    G = np.zeros((len(genomes), 2))
    G[:, 1] = f1 - 0.8  # budget: size <= 0.8
    if fail_every:
        bad = np.arange(len(genomes)) % fail_every == 0
        F[bad] = FAILED_F
        G[bad, 0] = 1.0
    return F, G


def drive(name, space_name, generations=3, seed=0, fail_every=0):
    space = space_of(space_name)
    strategy = STRATEGIES.get(name)(space, 2, 2, POP, seed)
    asked = []
    for _ in range(generations):
        genomes = strategy.ask()
        asked.append([space.canonical(g) for g in genomes])
        strategy.tell(genomes, *values(space, genomes, fail_every))
    return asked, strategy, space


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_deterministic_given_seed_and_told_values(name, space_name):
    a, _, _ = drive(name, space_name)
    b, _, _ = drive(name, space_name)
    assert a == b
    c, _, _ = drive(name, space_name, seed=1)
    assert c != a  # the seed matters


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_genomes_are_in_bounds_and_batches_sized(name, space_name):
    space = space_of(space_name)
    strategy = STRATEGIES.get(name)(space, 2, 2, POP, 0)
    for _ in range(3):
        genomes = strategy.ask()
        assert 1 <= len(genomes) <= POP
        for g in genomes:
            assert len(g) == space.n_var
            assert all(lo <= v <= hi for v, lo, hi in zip(g, space.lower, space.upper, strict=True))
            assert space.parse(space.canonical(g)) is not None
        strategy.tell(genomes, *values(space, genomes))


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_failures_and_constraints_do_not_break_the_search(name, space_name):
    asked, _, _ = drive(name, space_name, generations=4, fail_every=3)
    assert len(asked) == 4 and all(asked)


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_resume_by_replay_asks_what_the_uninterrupted_run_asks(name, space_name):
    full, _, space = drive(name, space_name, generations=4)
    # a fresh strategy told the stored history (the first 3 generations) ...
    replay = STRATEGIES.get(name)(space, 2, 2, POP, 0)
    for keys in full[:3]:
        genomes = replay.ask()
        assert [space.canonical(g) for g in genomes] == keys
        replay.tell(genomes, *values(space, genomes))
    # ... asks next exactly what the uninterrupted run asked
    assert [space.canonical(g) for g in replay.ask()] == full[3]


@pytest.mark.parametrize("name", [n for n in STRATEGIES.names() if n != "random"])
def test_the_search_improves_on_its_first_generation(name):
    """Not random: after 8 generations the best feasible 'distance' beats generation 0's
    median (a weak, deterministic check that told values are used)."""
    space = space_of("nb201")
    strategy = STRATEGIES.get(name)(space, 2, 2, POP, 0)
    best, first = np.inf, None
    for gen in range(8):
        genomes = strategy.ask()
        F, G = values(space, genomes)
        feasible = (G <= 0).all(axis=1)
        if gen == 0:
            first = float(np.median(F[feasible, 1]))
        if feasible.any():
            best = min(best, float(F[feasible, 1].min()))
        strategy.tell(genomes, F, G)
    assert best < first


def test_pymoo_algorithms_do_not_share_survival_state():
    """pymoo gives NSGA2, SPEA2 and SMS-EMOA one default survival object for all instances;
    SPEA2's keeps normalisation state: one run would change the next in the process."""
    from xnas.strategy.nsga2 import make_algorithm, space_operators

    ops = space_operators(space_of("nb201"))
    for name in ("nsga2", "nsga3", "spea2", "smsemoa"):
        a, b = (make_algorithm(name, POP, 2, ops) for _ in range(2))
        assert a.survival is not b.survival, name
