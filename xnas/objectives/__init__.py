"""Objectives: declared in ``declarations`` (plain data), implemented one module each
(imported on first use, so reading a run needs no torch)."""

from xnas.objectives import declarations  # noqa: F401  (registers the built-ins)
from xnas.objectives.base import (
    OBJECTIVES,
    EvalContext,
    Measurement,
    Objective,
    copied_on_reuse,
    declare_objective,
    register_objective,
    to_minimization,
)

__all__ = [
    "OBJECTIVES",
    "EvalContext",
    "Measurement",
    "Objective",
    "count_flops",
    "count_params",
    "copied_on_reuse",
    "declare_objective",
    "register_objective",
    "to_minimization",
]


def __getattr__(name: str):
    if name in ("count_flops", "count_params"):  # torch-backed helpers, imported on demand
        from xnas.objectives import complexity

        return getattr(complexity, name)
    raise AttributeError(f"module 'xnas.objectives' has no attribute {name!r}")
