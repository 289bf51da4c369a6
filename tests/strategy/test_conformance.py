"""The strategy contract, checked for every registered strategy on both spaces by the
kit shipped in the package (``xnas.testing.strategy``, in the spirit of Optuna's
``optuna/testing``): a new strategy is tested here for free, and a third party's with the
same functions.
"""

from __future__ import annotations

import pytest

from xnas.strategy import STRATEGIES
from xnas.testing import strategy as kit
from xnas.testing.strategy import POP, SHAPES, drive, space_of, values

CASES = [(s, sp) for s in STRATEGIES.names() for sp in kit.SPACE_NAMES]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_deterministic_given_seed_and_told_values(name, space_name, shape):
    kit.check_deterministic(name, space_name, shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_genomes_are_in_bounds_and_parse(name, space_name, shape):
    kit.check_bounds(name, space_name, shape)


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_ask_refuses_an_empty_batch(name, space_name):
    kit.check_refuses_empty_ask(name, space_name)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_failures_and_constraints_do_not_break_the_search(name, space_name, shape):
    kit.check_failures_and_constraints(name, space_name, shape)


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_generational_resume_by_replay_asks_what_the_uninterrupted_run_asks(name, space_name):
    kit.check_generational_replay(name, space_name)


@pytest.mark.parametrize(("name", "space_name"), CASES)
def test_steady_state_replay_of_arrivals_reseeds_deterministically(name, space_name):
    kit.check_steady_replay(name, space_name)


@pytest.mark.parametrize("shape", ["generational", "steady"])
@pytest.mark.parametrize("name", [n for n in STRATEGIES.names() if n != "random"])
def test_the_search_improves_on_its_random_start(name, shape):
    kit.check_improves(name, shape)


def test_the_kit_catches_a_strategy_that_breaks_the_contract():
    """The kit can fail: a strategy that ignores its seed, or asks out of bounds."""
    from xnas.strategy.random import RandomStrategy

    class Unseeded(RandomStrategy):
        def __init__(self, space, n_obj, n_constr, population, seed, **kw):
            super().__init__(space, n_obj, n_constr, population, 0, **kw)

    class OutOfBounds(RandomStrategy):
        def _ask(self, n):
            return [tuple(int(u) + 1 for u in self.space.upper) for _ in range(n)]

    for bad, check in ((Unseeded, kit.check_deterministic), (OutOfBounds, kit.check_bounds)):
        STRATEGIES.register("kit-probe")(bad)
        try:
            with pytest.raises(AssertionError):
                check("kit-probe", "nb201", "generational")
        finally:
            STRATEGIES.unregister("kit-probe")


PYMOO = ("nsga2", "nsga3", "spea2", "smsemoa")


@pytest.mark.parametrize("name", PYMOO)
def test_generational_batches_are_exactly_pymoos_own_generations(name):
    """Oracle: pymoo's ``minimize`` with the same algorithm, operators and seed evaluates
    the very genomes the strategy asks, generation by generation."""
    from pymoo.core.callback import Callback
    from pymoo.core.problem import Problem
    from pymoo.optimize import minimize

    from xnas.strategy.nsga2 import make_algorithm, space_operators

    space = space_of("nb201")

    class Values(Problem):
        def __init__(self):
            super().__init__(
                n_var=space.n_var, n_obj=2, n_ieq_constr=2, xl=space.lower, xu=space.upper
            )

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"], out["G"] = values(space, X.astype(int).tolist())

    class Record(Callback):
        def __init__(self):
            super().__init__()
            self.asked = []

        def notify(self, algorithm):
            self.asked.append([space.canonical(tuple(x)) for x in algorithm.off.get("X")])

    record = Record()
    algorithm = make_algorithm(name, POP, 2, space_operators(space))
    minimize(Values(), algorithm, ("n_gen", 5), seed=7, callback=record, verbose=False)
    ours, _, _ = drive(name, "nb201", evaluations=5 * POP, seed=7)
    assert ours == record.asked


def test_pymoo_algorithms_do_not_share_survival_state():
    """pymoo gives NSGA2, SPEA2 and SMS-EMOA one default survival object for all instances;
    SPEA2's keeps normalisation state: one run would change the next in the process."""
    from xnas.strategy.nsga2 import make_algorithm, space_operators

    ops = space_operators(space_of("nb201"))
    for name in PYMOO:
        a, b = (make_algorithm(name, POP, 2, ops) for _ in range(2))
        assert a.survival is not b.survival, name
