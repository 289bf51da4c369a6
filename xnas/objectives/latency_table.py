"""`latency_predicted`: latency from a per-operator lookup table (LUT) measured once on
the target device, as NSGANetV2's LUT and nn-Meter do: a static objective that costs one
shape-tracing forward pass, searchable for a device the search does not run on.

A network is cut into *units*: every candidate op the space placed (built by
``make_op``) and every fixed part whose subtree holds no candidate op (stem,
preprocessing, NB201's residual reductions, last activation, pooling, classifier). A
unit's key is its module description plus its input shape, so one entry serves every
genome that places the same module at the same shape. ``xnas latency-table`` finds the
keys a space can produce by scanning sampled genomes until ``patience`` in a row add
none, and times each unit alone (eager, warm-up, median of repeats).

A plain sum misses what is not a unit -- the cells' additions and concatenations, the
flatten, Python's dispatch between modules -- and a unit timed alone runs with warmer
caches than inside a network. So the table also holds a two-term correction fitted by
least squares on full networks measured at build time: ``predicted = scale x sum +
overhead_ms``. Both terms and the fit's residuals are in the file.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from torch import nn

from xnas.config import SpaceConfig
from xnas.errors import ConfigError
from xnas.objectives.base import EvalContext, Measurement
from xnas.objectives.lut import FORMAT, VERSION, bad_table, load_table  # noqa: F401  (re-exported)


def units(model: nn.Module) -> list[nn.Module]:
    """The model's LUT units: candidate ops, and fixed parts that hold none."""

    def holds_op(m: nn.Module) -> bool:
        return any(getattr(s, "xnas_op", None) for s in m.modules())

    out: list[nn.Module] = []

    def walk(m: nn.Module) -> None:
        for child in m.children():
            if getattr(child, "xnas_op", None) or not holds_op(child):
                out.append(child)
            else:
                walk(child)

    walk(model)
    return out


def describe(module: nn.Module) -> str:
    return re.sub(r"\s+", " ", repr(module))


def unit_calls(model: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> list[tuple]:
    """(key, unit, input shape) of every unit call in one forward pass, in call order."""
    found: list[tuple] = []
    hooks = [
        u.register_forward_pre_hook(
            lambda m, args: found.append(
                (f"{describe(m)} @ {list(args[0].shape)}", m, tuple(args[0].shape))
            )
        )
        for u in units(model)
    ]
    was = model.training
    model.eval()
    try:
        device = next(model.parameters(), torch.empty(0)).device
        with torch.inference_mode():
            model(torch.zeros((batch, *input_shape), device=device))
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return found


def check_for_search(cfg, input_shape: tuple[int, int, int], num_classes: int) -> None:
    """Before a search stores anything: the table is this space's, measured at this
    dataset's input shape, and holds the units of a sample of the space's networks (built
    from random genomes), so a table that cannot serve the search is one line up front."""
    from xnas.space import get_space

    table = load_table(cfg.measure.latency_table, cfg.space)
    path = cfg.measure.latency_table
    if list(input_shape) != table["input_shape"]:
        raise bad_table(
            path,
            f"measured for input {table['input_shape']}, the data gives {list(input_shape)}; "
            "expected a table measured with this dataset's shape (xnas latency-table)",
        )
    space = get_space(cfg.space)
    rng = np.random.default_rng(0)
    for _ in range(8):
        model = space.build(space.sample(rng), input_shape, num_classes)
        predict(table, model, input_shape)  # ConfigError naming a missing unit


def predict(table: dict, model: nn.Module, input_shape: tuple[int, int, int]) -> tuple:
    """(predicted ms, plain sum ms, units) of ``model`` from ``table``."""
    if list(input_shape) != table["input_shape"]:
        raise ConfigError(
            f"latency table measured for input {table['input_shape']}, the data gives "
            f"{list(input_shape)}; expected a table measured with this dataset's shape"
        )
    total, n = 0.0, 0
    for key, _, _ in unit_calls(model, input_shape, table["measured"]["batch"]):
        if key not in table["entries"]:
            raise ConfigError(
                f"latency table has no entry for {key[:160]}; re-run `xnas latency-table` "
                f"(it scanned {table['coverage']['genomes_scanned']} genomes)"
            )
        total += table["entries"][key]
        n += 1
    m = table["model"]
    return m["scale"] * total + m["overhead_ms"], total, n


def latency_predicted_objective(ctx: EvalContext) -> Measurement:
    path = ctx.measure.latency_table
    if not path:
        raise ConfigError(
            "objective latency_predicted needs measure.latency_table: a LUT file "
            "written by `xnas latency-table`"
        )
    table = load_table(path, ctx.space)
    value, plain, n = predict(table, ctx.model, ctx.input_shape)
    return Measurement(
        value,
        {
            "method": "predicted",
            "source": "latency table (per-unit LUT, scale x sum + overhead)",
            "table": str(path),
            "table_measured": table["measured"],
            "units": n,
            "sum_ms": plain,
            "model": table["model"],
        },
    )


# ------------------------------------------------------------------- building
def table_for_config(
    cfg,
    device_name: str | None = None,
    *,
    patience: int = 100,
    calibration: int = 20,
    progress=None,
) -> dict[str, Any]:
    """``build_table`` for a search config: its space, its dataset's input shape and
    classes, its ``measure.latency_*`` settings, on ``device_name`` (default
    ``train.device``), with the torch threads this process has."""
    from xnas.data import cached_dataset
    from xnas.nn.device import resolve_device

    bundle = cached_dataset(cfg.data)
    m = cfg.measure
    return build_table(
        cfg.space,
        bundle.input_shape,
        bundle.num_classes,
        resolve_device(device_name or cfg.train.device),
        batch=m.latency_batch,
        warmup=m.latency_warmup,
        repeats=m.latency_repeats,
        patience=patience,
        calibration=calibration,
        progress=progress,
    )


def build_table(
    space_cfg: SpaceConfig,
    input_shape: tuple[int, int, int],
    num_classes: int,
    device: torch.device,
    *,
    batch: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    patience: int = 100,
    max_genomes: int = 5000,
    calibration: int = 20,
    seed: int = 0,
    progress=None,
) -> dict[str, Any]:
    """Measure every unit a space can produce at ``input_shape``, then fit the correction
    on ``calibration`` whole networks (random genomes) measured the way ``latency`` is."""
    import copy

    from xnas.objectives.latency import measure_latency, time_forward, where_measured
    from xnas.space import get_space

    space = get_space(space_cfg)
    rng = np.random.default_rng(seed)
    todo: dict[str, tuple[nn.Module, tuple]] = {}
    scanned, quiet = 0, 0
    while quiet < patience and scanned < max_genomes:
        model = space.build(space.sample(rng), input_shape, num_classes).to(device)
        new = 0
        for key, unit, shape in unit_calls(model, input_shape, batch):
            if key not in todo:
                todo[key] = (copy.deepcopy(unit), shape)
                new += 1
        scanned += 1
        quiet = 0 if new else quiet + 1
    entries: dict[str, float] = {}
    for i, (key, (unit, shape)) in enumerate(sorted(todo.items())):
        unit.eval()
        x = torch.randn(shape, device=device)
        entries[key] = statistics.median(time_forward(unit, x, warmup, repeats))
        if progress:
            progress(f"unit {i + 1}/{len(todo)}: {entries[key]:.3f} ms")
    table: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "space": asdict(space_cfg),
        "input_shape": list(input_shape),
        "num_classes": num_classes,
        "measured": {
            **where_measured(device),
            "batch": batch,
            "warmup": warmup,
            "repeats": repeats,
            "statistic": "median",
            "implementation": "eager",
            "torch": torch.__version__,
        },
        "coverage": {"genomes_scanned": scanned, "patience": patience, "units": len(entries)},
        "entries": entries,
        "model": {"scale": 1.0, "overhead_ms": 0.0},
    }
    sums, measured = [], []
    for _ in range(calibration):
        model = space.build(space.sample(rng), input_shape, num_classes).to(device)
        sums.append(predict(table, model, input_shape)[1])
        m = measure_latency(
            model,
            input_shape,
            device,
            batch=batch,
            warmup=warmup,
            repeats=repeats,
            impls=("eager",),
        )
        measured.append(m.value)
    if calibration >= 2:
        scale, overhead = np.polyfit(sums, measured, 1)
        residual = np.asarray(measured) - (scale * np.asarray(sums) + overhead)
        table["model"] = {
            "scale": float(scale),
            "overhead_ms": float(overhead),
            "fit": f"least squares, measured eager latency of {calibration} random genomes",
            "residual_ms_max": float(np.abs(residual).max()),
            "plain_sum_mape": float(
                np.mean(np.abs(np.asarray(sums) - measured) / np.asarray(measured))
            ),
        }
    return table
