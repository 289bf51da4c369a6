"""Run-level invariants a result must meet before it is stored: the one place where the
driver turns a returned result into a failure (failures made where the evaluation runs,
or is lost, are ``parallel.worker``'s: ``call_task``, ``as_failure``, ``worker_died``).

- every searched or budgeted objective has a value, and every value is a finite number
  (a NaN loss that slipped through, a latency of inf): such a result is a failure, never
  a point on a front;
- one energy source per run (nvml | rapl | model, fixed by the first result that has
  one): a front must not mix counters with the model.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

from xnas.results import EvalResult


def non_finite(result: EvalResult) -> dict[str, object]:
    """The objective values of ``result`` that are not finite real numbers (numpy's
    scalars are numbers too; a string or None is not)."""
    return {
        k: v
        for k, v in result.objectives.items()
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
    }


def missing(result: EvalResult, required: tuple[str, ...]) -> list[str]:
    """Objectives the run needs (searched, or under a budget) that ``result`` lacks."""
    return [n for n in required if n not in result.objectives]


def energy_source_of(result: EvalResult) -> str | None:
    how = result.measurements.get("energy") if result.has_values else None
    return how.get("energy_source") if how else None


def admit(
    result: EvalResult, pinned_energy: str | None, required: tuple[str, ...] = ()
) -> EvalResult:
    """``result`` as it may be stored: unchanged, or failed with the invariant it broke.
    ``pinned_energy`` is the run's energy source (None before the first energy value);
    ``required``: the objectives every result with values must have."""
    if result.status == "failed":
        return result
    lacking = missing(result, required) if result.has_values else []
    if lacking:
        return replace(
            result,
            status="failed",
            failure="invalid",
            error=f"no value for objective {lacking[0]!r} (the evaluator returned "
            f"{sorted(result.objectives)}; expected every searched objective)",
        )
    bad = non_finite(result)
    if bad:
        return replace(
            result,
            status="failed",
            failure="invalid",
            error=f"non-finite objective values {bad} (treated as a failed evaluation)",
        )
    source = energy_source_of(result)
    if source is None or pinned_energy is None or source == pinned_energy:
        return result
    return replace(
        result,
        status="failed",
        failure="invalid",
        objectives={},
        error=(
            f"energy came from {source!r} but this run's energy values come from "
            f"{pinned_energy!r} (fixed by its first result): one front must not mix "
            "sources; give every rank the same counters or set measure.energy_source"
        ),
    )
