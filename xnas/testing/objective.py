"""The objective contract (``objectives.base``): a declaration that says what the value
is, and an implementation that computes a finite value with a record of how, on a tiny
network and dataset (no training)."""

from __future__ import annotations

import math

from xnas.config import MeasureConfig, SpaceConfig
from xnas.objectives import OBJECTIVES, EvalContext
from xnas.results import PROVENANCES, EvalResult

SPACE = SpaceConfig(channels=8, layers=1)


def tiny_context(measure: MeasureConfig | None = None) -> EvalContext:
    """An NB201 ResNet cell at C=8 on 16 random 1x12x12 images of 4 classes."""
    import torch

    from xnas.data import ArrayDataset, DataBundle
    from xnas.space import resolve_arch

    space, genome = resolve_arch("nb201-resnet", SPACE)
    model = space.build(genome, (1, 12, 12), 4)
    x = torch.randn(16, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    data = ArrayDataset(x, torch.arange(16) % 4)
    bundle = DataBundle(
        "t", "t", data, data, 4, (1, 12, 12), ("a", "b", "c", "d"), (0.0,), (1.0,), None
    )
    return EvalContext(model, bundle, torch.device("cpu"), measure or MeasureConfig(), space=SPACE)


def check_declaration(name: str) -> None:
    obj = OBJECTIVES.get(name)
    assert obj.name == name
    assert obj.sense in ("min", "max") and obj.stage in ("static", "trained")
    assert isinstance(obj.unit, str) and obj.label
    assert obj.reference is None or math.isfinite(obj.reference)


def check_compute(name: str, ctx: EvalContext | None = None) -> None:
    """A finite value and a non-empty record whose provenance is one of the known kinds."""
    obj = OBJECTIVES.get(name)
    ctx = ctx or tiny_context()
    if ctx.val_accuracy is None:
        ctx.val_accuracy = 0.5  # a trained objective may read the measured accuracy
    m = obj.compute(ctx)
    assert isinstance(m.value, int | float) and math.isfinite(m.value), m
    assert m.how, f"{name} records nothing about how it was obtained"
    result = EvalResult("k", (0,), "ok", {name: float(m.value)}, {name: dict(m.how)})
    assert result.provenance(name) in PROVENANCES


def check_objective(name: str, ctx: EvalContext | None = None) -> None:
    check_declaration(name)
    check_compute(name, ctx)
