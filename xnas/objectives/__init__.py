"""Objectives: one module each; every objective declares name, sense, stage and unit."""

from xnas.objectives import complexity, energy, error, introspection, latency, mcd  # noqa: F401
from xnas.objectives.base import (
    OBJECTIVES,
    EvalContext,
    Measurement,
    Objective,
    register_objective,
    to_minimization,
)
from xnas.objectives.complexity import count_flops, count_params

__all__ = [
    "OBJECTIVES",
    "EvalContext",
    "Measurement",
    "Objective",
    "count_flops",
    "count_params",
    "register_objective",
    "to_minimization",
]
