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
        X = np.array(strategy.ask())
        F = problem.evaluate(X)
        seen.append(F)
        strategy.tell(list(map(tuple, X)), F, np.zeros((len(X), 0)))
    F_all = np.vstack(seen)
    front = F_all[NonDominatedSorting().do(F_all, only_non_dominated_front=True)]
    ours, theirs = hv(front), hv(reference.F)
    assert ours == pytest.approx(theirs, rel=0.02), (ours, theirs)
