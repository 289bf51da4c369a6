"""The objective contract: name, sense, stage, unit; and the one place direction lives.

Values are stored raw in their natural sense (accuracy-like values as they are);
``to_minimization`` is the only function that flips 'max' objectives for pymoo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from xnas.config import MeasureConfig
from xnas.data import DataBundle
from xnas.registry import Registry


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
    compute: Callable[[EvalContext], Measurement]


OBJECTIVES: Registry[Objective] = Registry("objective")


def register_objective(
    name: str, *, sense: str, stage: str, unit: str = "", label: str = ""
) -> Callable[[Callable[[EvalContext], Measurement]], Callable[[EvalContext], Measurement]]:
    def decorator(fn: Callable[[EvalContext], Measurement]) -> Callable[[EvalContext], Measurement]:
        OBJECTIVES.register(name)(
            Objective(name, sense, stage, unit, label or name, fn)  # type: ignore[arg-type]
        )
        return fn

    return decorator


def to_minimization(values: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """Raw objective values -> the vector pymoo minimises (max objectives negated)."""
    return np.array(
        [-values[n] if OBJECTIVES.get(n).sense == "max" else values[n] for n in names],
        dtype=float,
    )
