"""Evaluators: one task in, one EvalResult out (on a worker rank).

``EVALUATORS`` maps names to evaluators (``train``: build, train and score a network;
``tabular``: look the values up in a published table). Nothing here imports torch until
an evaluator that needs it is used.
"""

from xnas.evaluate.base import EVALUATORS, Evaluator, evaluator_for
from xnas.results import EvalResult, EvalTask

__all__ = ["EVALUATORS", "EvalResult", "EvalTask", "Evaluator", "evaluate", "evaluator_for"]


def __getattr__(name: str):
    if name == "evaluate":  # the train evaluator's function (imports torch)
        from xnas.evaluate.train import evaluate

        return evaluate
    raise AttributeError(f"module 'xnas.evaluate' has no attribute {name!r}")
