"""`mcd`: mean confidence decrease — how faithful a network's attributions are.

For a sample of validation images: attribute the predicted class with one of captum's
methods (``measure.attribution``: IntegratedGradients by default; Saliency, GradientShap,
KernelShap or Lime), mask the top fraction of pixels by attribution magnitude (summed over
channels) to the baseline (zeros: the dataset mean after normalisation), and record the
drop in the predicted class's softmax probability. The objective is the mean drop. A large
drop means the explanation points at pixels the network really uses, so the sense is *max*
(the issue text said min; see the closing note of issue 4 for why it was changed).

KernelShap and Lime perturb square patches (``measure.attribution_patch`` pixels a side)
rather than single pixels, as DeepOptiFrame's SHAP/LIME scores do on images: per-pixel
perturbation of a 32x32 input would need thousands of forward passes per image.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from xnas.objectives.base import EvalContext, Measurement

# method -> a short description for the record
METHODS = {
    "integrated_gradients": "captum IntegratedGradients (baseline 0)",
    "saliency": "captum Saliency (absolute input gradient)",
    "gradient_shap": "captum GradientShap (baselines 0 and the batch mean, Gaussian noise)",
    "kernel_shap": "captum KernelShap over square patches (baseline 0)",
    "lime": "captum Lime over square patches (baseline 0)",
}


def patch_mask(shape: tuple[int, ...], patch: int) -> torch.Tensor:
    """Feature ids of square patches, (1, 1, H, W): KernelShap and Lime's superpixels."""
    h, w = shape[-2:]
    rows = torch.arange(h) // patch
    cols = torch.arange(w) // patch
    per_row = (w + patch - 1) // patch
    return (rows[:, None] * per_row + cols[None, :]).view(1, 1, h, w)


def attribute(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    method: str = "integrated_gradients",
    steps: int = 16,
    samples: int = 64,
    patch: int = 4,
    seed: int = 0,
) -> torch.Tensor:
    """Attributions of ``target`` for ``x`` (same shape as ``x``) by ``method``."""
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; expected one of {list(METHODS)}")
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # the caller's random state is untouched
        torch.manual_seed(seed)  # GradientShap's noise, KernelShap's and Lime's coalitions
        return _attribute(model, x, target, method, steps, samples, patch)


def _attribute(model, x, target, method, steps, samples, patch) -> torch.Tensor:
    from captum import attr

    if method == "integrated_gradients":
        return attr.IntegratedGradients(model).attribute(x, target=target, n_steps=steps)
    if method == "saliency":
        return attr.Saliency(model).attribute(x, target=target, abs=True)
    if method == "gradient_shap":
        baselines = torch.cat([torch.zeros_like(x[:1]), x.mean(0, keepdim=True)])
        return attr.GradientShap(model).attribute(
            x, baselines=baselines, n_samples=samples, stdevs=0.1, target=target
        )
    explainer: Callable = (attr.KernelShap if method == "kernel_shap" else attr.Lime)(model)
    mask = patch_mask(tuple(x.shape), patch).to(x.device)
    # one image at a time: each gets its own coalitions
    return torch.cat(
        [
            explainer.attribute(
                x[i : i + 1],
                baselines=0.0,
                target=int(target[i]),
                feature_mask=mask,
                n_samples=samples,
                perturbations_per_eval=min(samples, 32),
            )
            for i in range(len(x))
        ]
    )


def mean_confidence_decrease(
    model: torch.nn.Module,
    x: torch.Tensor,
    top_fraction: float,
    steps: int,
    method: str = "integrated_gradients",
    samples: int = 64,
    patch: int = 4,
) -> float:
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            probs = model(x).softmax(dim=1)
        predicted = probs.argmax(dim=1)
        attributions = attribute(model, x, predicted, method, steps, samples, patch)
        saliency = attributions.detach().abs().sum(dim=1).flatten(1)  # (N, H*W)
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
    value = mean_confidence_decrease(
        ctx.model,
        x,
        m.mcd_top_fraction,
        m.mcd_steps,
        m.attribution,
        m.attribution_samples,
        m.attribution_patch,
    )
    how = {
        "method": f"{METHODS[m.attribution]}, top pixels masked to baseline 0",
        "attribution": m.attribution,
        "samples": len(x),
        "top_fraction": m.mcd_top_fraction,
    }
    if m.attribution == "integrated_gradients":
        how["ig_steps"] = m.mcd_steps
    if m.attribution in ("gradient_shap", "kernel_shap", "lime"):
        how["attribution_samples"] = m.attribution_samples
    if m.attribution in ("kernel_shap", "lime"):
        how["patch"] = m.attribution_patch
    return Measurement(value, how)
