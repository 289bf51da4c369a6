"""Model cost: trainable parameters and FLOPs (torch.utils.flop_counter).

FLOPs follow PyTorch's flop counter: 2 per multiply-accumulate of convolutions
and matrix products, for one forward pass of a single input; pooling,
normalisation and activations are not counted (the usual NAS convention). NAS-Bench-201
and many NAS papers call multiply-accumulates "FLOPs": their figures are half of ours.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from xnas.objectives.base import EvalContext, Measurement

FLOP_CONVENTION = (
    "2 FLOPs per multiply-accumulate; NAS-Bench-201 tables report MACs as 'FLOPs' (divide by 2)"
)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """FLOPs of one forward pass on one sample, in eval mode, without touching gradients."""
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros((1, *input_shape), device=device))
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)


def flops_of(ctx: EvalContext) -> int:
    if "flops" not in ctx.cache:
        ctx.cache["flops"] = count_flops(ctx.model, ctx.input_shape)
    return ctx.cache["flops"]


def params_objective(ctx: EvalContext) -> Measurement:
    return Measurement(
        float(count_params(ctx.model)), {"method": "counted", "trainable_only": True}
    )


def flops_objective(ctx: EvalContext) -> Measurement:
    return Measurement(
        float(flops_of(ctx)),
        {
            "method": "torch.utils.flop_counter",
            "convention": FLOP_CONVENTION,
            "batch": 1,
            "input_shape": list(ctx.input_shape),
        },
    )


def count_complexity(result, cfg) -> tuple[int | str, int | str]:
    """(params, FLOPs) of a stored result: its objectives where recorded, else counted on
    a rebuild of its network at its dataset's shape; empty where the data is not at hand
    (a tabular run). For tables that list both always (``report.tables.pareto_table``)."""
    params, flops = result.objectives.get("params"), result.objectives.get("flops")
    if params is not None and flops is not None:
        return int(params), int(flops)
    try:
        from xnas.data import cached_dataset
        from xnas.space import get_space

        bundle = cached_dataset(cfg.data)
        model = get_space(cfg.space).build(result.genome, bundle.input_shape, bundle.num_classes)
        return count_params(model), count_flops(model, bundle.input_shape)
    except Exception:  # data not at hand (a tabular run): leave the cells empty
        return params if params is not None else "", flops if flops is not None else ""
