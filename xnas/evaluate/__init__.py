"""One genome in, one EvalResult out (runs on a worker rank)."""

from xnas.evaluate.evaluator import derive_seed, evaluate, make_task
from xnas.evaluate.task import EvalResult, EvalTask
from xnas.evaluate.trainer import Diverged, TrainOutcome, train

__all__ = [
    "Diverged",
    "EvalResult",
    "EvalTask",
    "TrainOutcome",
    "derive_seed",
    "evaluate",
    "make_task",
    "train",
]
