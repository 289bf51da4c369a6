"""`error`: 1 - accuracy after training on the scored split (validation in a search, the
held-out test split under ``data.split: final``)."""

from __future__ import annotations

from xnas.objectives.base import EvalContext, Measurement


def error_objective(ctx: EvalContext) -> Measurement:
    if ctx.val_accuracy is None:
        raise RuntimeError("error needs the validation accuracy of the trained network")
    return Measurement(
        1.0 - ctx.val_accuracy,
        {
            "method": ctx.bundle.scored,
            "samples": len(ctx.bundle.val),
            "dataset": ctx.bundle.description,
        },
    )
