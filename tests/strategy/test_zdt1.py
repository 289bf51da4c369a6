"""The ask/tell adapter matches pymoo's own minimize() on ZDT1 (hypervolume within 2%)."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize
from pymoo.problems import get_problem
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from xnas.strategy.nsga2 import PymooStrategy

POP, GENS, SEED = 40, 60, 1


def hv(F: np.ndarray) -> float:
    return float(HV(ref_point=np.array([1.1, 1.1]))(F))


def test_nsga2_adapter_matches_pymoo_minimize_on_zdt1():
    problem = get_problem("zdt1", n_var=10)
    reference = minimize(problem, NSGA2(pop_size=POP), ("n_gen", GENS), seed=SEED, verbose=False)
    ops = {"eliminate_duplicates": True}
    strategy = PymooStrategy(None, 2, 0, POP, SEED, problem=problem, operators=ops)
    seen = []
    for _ in range(GENS):
        X = np.array(strategy.ask(POP))
        F = problem.evaluate(X)
        seen.append(F)
        strategy.tell(list(map(tuple, X)), F, np.zeros((len(X), 0)))
    F_all = np.vstack(seen)
    front = F_all[NonDominatedSorting().do(F_all, only_non_dominated_front=True)]
    ours, theirs = hv(front), hv(reference.F)
    assert ours == pytest.approx(theirs, rel=0.02), (ours, theirs)


class ZDT1Space:
    """A continuous 'space' for the function test: DEAP's own bounded SBX and polynomial
    mutation with pymoo NSGA2's default settings (eta 15, p 0.9; eta 20, p 1/n)."""

    n_var = 10

    def __init__(self, seed: int) -> None:
        import random

        self.py_rng = random.Random(seed)  # DEAP's operators draw from the random module

    def sample(self, rng):
        return tuple(rng.random(self.n_var))

    def crossover(self, a, b, rng):
        import random

        from deap import tools

        x, y = list(a), list(b)
        state = random.getstate()
        random.setstate(self.py_rng.getstate())
        try:
            if random.random() < 0.9:
                tools.cxSimulatedBinaryBounded(x, y, eta=15, low=0.0, up=1.0)
            self.py_rng.setstate(random.getstate())
        finally:
            random.setstate(state)
        return tuple(x), tuple(y)

    def mutate(self, x, rng):
        import random

        from deap import tools

        y = list(x)
        state = random.getstate()
        random.setstate(self.py_rng.getstate())
        try:
            tools.mutPolynomialBounded(y, eta=20, low=0.0, up=1.0, indpb=1 / self.n_var)
            self.py_rng.setstate(random.getstate())
        finally:
            random.setstate(state)
        return tuple(y)


def test_deap_nsga2_matches_pymoo_minimize_on_zdt1():
    from xnas.strategy.deap_nsga2 import DeapNSGA2

    problem = get_problem("zdt1", n_var=10)
    reference = minimize(problem, NSGA2(pop_size=POP), ("n_gen", GENS), seed=SEED, verbose=False)
    strategy = DeapNSGA2(ZDT1Space(SEED), 2, 0, POP, SEED)
    seen = []
    for _ in range(GENS):
        X = strategy.ask(POP)
        F = problem.evaluate(np.array(X))
        seen.append(F)
        strategy.tell(X, F, np.zeros((len(X), 0)))
    F_all = np.vstack(seen)
    front = F_all[NonDominatedSorting().do(F_all, only_non_dominated_front=True)]
    ours, theirs = hv(front), hv(reference.F)
    assert ours == pytest.approx(theirs, rel=0.02), (ours, theirs)
