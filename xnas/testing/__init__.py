"""Conformance kits: what every strategy, space, objective and evaluator must do, as plain
functions that raise ``AssertionError`` (in the spirit of ``optuna.testing``).

xnas's own tests run them over every registered entry, so a new entry is tested for free;
a third-party plugin runs them in its own tests::

    from xnas.testing.strategy import check_strategy
    def test_my_strategy():
        check_strategy("my-strategy")        # after registering it

Nothing here imports pytest or hypothesis.
"""

from xnas.testing.evaluator import check_evaluator
from xnas.testing.objective import check_objective
from xnas.testing.space import check_space
from xnas.testing.strategy import check_strategy

__all__ = ["check_evaluator", "check_objective", "check_space", "check_strategy"]
