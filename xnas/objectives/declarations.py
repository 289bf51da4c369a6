"""The built-in objectives, declared as plain data; each implementation module is imported
when the objective first computes. Sense and stage are declared here and nowhere else."""

from __future__ import annotations

from xnas.objectives.base import declare_objective

_PKG = "xnas.objectives"

declare_objective(
    "error",
    f"{_PKG}.error:error_objective",
    sense="min",
    stage="trained",
    label="error (1 - val. acc.)",
    reference=1.0,
)
declare_objective(
    "introspection",
    f"{_PKG}.introspection:introspection_objective",
    sense="max",
    stage="trained",
    label="introspectability",
    reference=0.0,
)
declare_objective(
    "latency", f"{_PKG}.latency:latency_objective", sense="min", stage="static", unit="ms"
)
declare_objective(
    "latency_predicted",
    f"{_PKG}.latency_table:latency_predicted_objective",
    sense="min",
    stage="static",
    unit="ms",
    label="latency (predicted, LUT)",
)
declare_objective(
    "energy", f"{_PKG}.energy:energy_objective", sense="min", stage="static", unit="mJ"
)
declare_objective(
    "params",
    f"{_PKG}.complexity:params_objective",
    sense="min",
    stage="static",
    label="parameters",
)
declare_objective(
    "flops",
    f"{_PKG}.complexity:flops_objective",
    sense="min",
    stage="static",
    unit="FLOPs = 2 x MACs",
    label="FLOPs",
)
declare_objective(
    "mcd",
    f"{_PKG}.mcd:mcd_objective",
    sense="max",
    stage="trained",
    label="mean confidence decrease",
    reference=0.0,
)
