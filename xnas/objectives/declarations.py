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
    ideal=0.0,
)
declare_objective(
    "introspection",
    f"{_PKG}.introspection:introspection_objective",
    sense="max",
    stage="trained",
    label="introspectability",
    reference=0.0,
    ideal=-2.0,  # a mean cosine distance is at most 2
)
declare_objective(
    "latency",
    f"{_PKG}.latency:latency_objective",
    sense="min",
    stage="static",
    unit="ms",
    ideal=0.0,
)
declare_objective(
    "latency_predicted",
    f"{_PKG}.latency_table:latency_predicted_objective",
    sense="min",
    stage="static",
    unit="ms",
    label="latency (predicted, LUT)",
    ideal=0.0,
)
declare_objective(
    "energy", f"{_PKG}.energy:energy_objective", sense="min", stage="static", unit="mJ", ideal=0.0
)
declare_objective(
    "params",
    f"{_PKG}.complexity:params_objective",
    sense="min",
    stage="static",
    label="parameters",
    ideal=0.0,
)
declare_objective(
    "flops",
    f"{_PKG}.complexity:flops_objective",
    sense="min",
    stage="static",
    unit="FLOPs = 2 x MACs",
    label="FLOPs",
    ideal=0.0,
)
declare_objective(
    "mcd",
    f"{_PKG}.mcd:mcd_objective",
    sense="max",
    stage="trained",
    label="mean confidence decrease",
    reference=0.0,
    ideal=-1.0,  # a confidence falls by at most 1
)

# zero-cost proxies: scores of the untrained network (xnas.objectives.proxies), higher is
# predicted better; a property of the function, copied within a functional class
for _name, _label in (
    ("naswot", "NASWOT (log|K_H|)"),
    ("synflow", "synflow"),
    ("jacob_cov", "jacob_cov"),
    ("grad_norm", "grad_norm"),
    ("snip", "snip"),
    ("proxy_ensemble", "proxy ensemble (mean reference quantile)"),
):
    declare_objective(
        _name,
        f"{_PKG}.proxies:{_name}_objective",
        sense="max",
        stage="static",
        label=_label,
        provenance="proxy",
        per_class=True,
        ideal=-1.0 if _name == "proxy_ensemble" else None,  # a quantile is at most 1
    )
