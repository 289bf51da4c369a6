"""The objective contract: name, sense, stage, unit; and the one place direction lives.

Values are stored raw in their natural sense (accuracy-like values as they are);
``to_minimization`` is the only function that flips 'max' objectives for pymoo.
Declarations are plain data (no torch): an objective's implementation is imported the
first time it computes, so reading a run (``xnas status``) never loads torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xnas.registry import Registry

if TYPE_CHECKING:  # annotations only: the declarations stay importable without torch
    import torch
    from torch import nn

    from xnas.config import MeasureConfig, SpaceConfig
    from xnas.data import DataBundle


@dataclass(frozen=True)
class Measurement:
    value: float
    how: dict[str, Any] = field(default_factory=dict)  # device, threads, repeats, source, ...


@dataclass
class EvalContext:
    """What an objective may look at; ``cache`` lets objectives share work (e.g. FLOPs)."""

    model: nn.Module
    bundle: DataBundle
    device: torch.device
    measure: MeasureConfig
    val_accuracy: float | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    space: SpaceConfig | None = None  # the genome's space (a latency table must match it)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.bundle.input_shape


@dataclass(frozen=True)
class Objective:
    name: str
    sense: Literal["min", "max"]
    stage: Literal["static", "trained"]
    unit: str
    label: str
    # the implementation, or "module:function" imported on first use
    impl: Callable[[EvalContext], Measurement] | str
    # minimisation-form hypervolume reference where the objective has a natural bound
    # (error 1, introspection 0); None: 1.1 x the worst value of the run
    reference: float | None = None
    # how every value is obtained (results.Provenance), declared for a user's objective;
    # None for built-ins whose records say it themselves (energy: measured or modelled)
    provenance: str | None = None
    # a property of the function the genome computes (a proxy): a functionally equivalent
    # genome copies its class representative's value instead of computing its own
    per_class: bool = False
    # minimisation-form best value the objective can take (error 0, introspection -2: a
    # cosine distance is at most 2), the other corner of the normalised hypervolume's box;
    # None: the run's first feasible generation's best (summary.ideal_point)
    ideal: float | None = None

    def load(self) -> Callable[[EvalContext], Measurement]:
        """The implementation, its module imported now if it was given by name."""
        fn = self.impl
        if isinstance(fn, str):
            module, _, attr = fn.partition(":")
            fn = getattr(importlib.import_module(module), attr)
        return fn

    def compute(self, ctx: EvalContext) -> Measurement:
        return self.load()(ctx)


OBJECTIVES: Registry[Objective] = Registry("objective")


def copied_on_reuse(names: Sequence[str]) -> set[str]:
    """Of ``names``, the objectives a functionally equivalent genome copies from its class
    representative: the trained ones, and the per-class ones (proxies)."""
    out = set()
    for n in names:
        obj = OBJECTIVES.get(n)
        if obj.stage == "trained" or obj.per_class:
            out.add(n)
    return out


def declare_objective(
    name: str,
    impl: Callable[[EvalContext], Measurement] | str,
    *,
    sense: str,
    stage: str,
    unit: str = "",
    label: str = "",
    reference: float | None = None,
    provenance: str | None = None,
    per_class: bool = False,
    ideal: float | None = None,
) -> Objective:
    from xnas.results import PROVENANCES

    if provenance is not None and provenance not in PROVENANCES:
        raise ValueError(
            f"objective {name!r}: provenance {provenance!r}; expected one of "
            f"{', '.join(PROVENANCES)}"
        )
    obj = Objective(
        name,
        sense,
        stage,
        unit,
        label or name,
        impl,
        reference,
        provenance,  # type: ignore[arg-type]
        per_class,
        ideal,
    )
    OBJECTIVES.register(name)(obj)
    return obj


def register_objective(
    name: str,
    *,
    sense: str,
    stage: str,
    provenance: str,
    unit: str = "",
    label: str = "",
    reference: float | None = None,
    per_class: bool = False,
) -> Callable[[Callable[[EvalContext], Measurement]], Callable[[EvalContext], Measurement]]:
    """Decorator for a user's own objective (the built-ins are declared in
    ``objectives.declarations``). Its ``provenance`` is declared, never assumed: how
    every value is obtained (measured, counted, modelled, predicted, extrapolated,
    tabular, proxy), shown in every header and axis label. Put the module in a plugin
    (``xnas.plugins``) so every rank and every reader of a run can find it."""

    def decorator(fn: Callable[[EvalContext], Measurement]) -> Callable[[EvalContext], Measurement]:
        declare_objective(
            name,
            fn,
            sense=sense,
            stage=stage,
            unit=unit,
            label=label,
            reference=reference,
            provenance=provenance,
            per_class=per_class,
        )
        return fn

    return decorator


def to_minimization(values: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """Raw objective values -> the vector pymoo minimises (max objectives negated)."""
    return np.array(
        [-values[n] if OBJECTIVES.get(n).sense == "max" else values[n] for n in names],
        dtype=float,
    )
