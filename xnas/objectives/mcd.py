"""`mcd`: mean confidence decrease — how faithful IntegratedGradients explanations are.

For a sample of validation images: attribute the predicted class with captum's
IntegratedGradients (baseline: zeros, the dataset mean after normalisation), mask
the top fraction of pixels by attribution magnitude (summed over channels) to the
baseline, and record the drop in the predicted class's softmax probability. The
objective is the mean drop. A large drop means the explanation points at pixels
the network really uses, so the sense is *max* (the issue text said min; see the
closing note of issue 4 for why it was changed).
"""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients

from xnas.objectives.base import EvalContext, Measurement


def mean_confidence_decrease(
    model: torch.nn.Module, x: torch.Tensor, top_fraction: float, steps: int
) -> float:
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            probs = model(x).softmax(dim=1)
        predicted = probs.argmax(dim=1)
        ig = IntegratedGradients(model)
        attributions = ig.attribute(x, target=predicted, n_steps=steps)
        saliency = attributions.abs().sum(dim=1).flatten(1)  # (N, H*W)
        k = max(1, int(round(top_fraction * saliency.shape[1])))
        top = saliency.topk(k, dim=1).indices
        mask = torch.zeros_like(saliency, dtype=torch.bool).scatter_(1, top, True)
        masked = x.masked_fill(mask.view(x.shape[0], 1, *x.shape[2:]), 0.0)
        with torch.no_grad():
            after = model(masked).softmax(dim=1)
        rows = torch.arange(len(x))
        return float((probs[rows, predicted] - after[rows, predicted]).mean())
    finally:
        model.train(was)


def mcd_objective(ctx: EvalContext) -> Measurement:
    m = ctx.measure
    x = ctx.bundle.val.x[: m.mcd_samples].to(ctx.device)
    value = mean_confidence_decrease(ctx.model, x, m.mcd_top_fraction, m.mcd_steps)
    return Measurement(
        value,
        {
            "method": "captum IntegratedGradients, top pixels masked to baseline 0",
            "samples": len(x),
            "top_fraction": m.mcd_top_fraction,
            "ig_steps": m.mcd_steps,
        },
    )
