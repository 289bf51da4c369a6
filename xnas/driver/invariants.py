"""Run-level invariants a result must meet before it is stored: the one place where the
driver turns a returned result into a failure (a worker's exception became one in
``parallel.worker.call_task``, the only other place).

- every objective value is a finite number (a NaN loss that slipped through, a latency
  of inf): such a result is a failure, never a point on a front;
- one energy source per run (nvml | rapl | model, fixed by the first result that has
  one): a front must not mix counters with the model.
"""

from __future__ import annotations

import math
from dataclasses import replace

from xnas.results import EvalResult


def non_finite(result: EvalResult) -> dict[str, object]:
    """The objective values of ``result`` that are not finite numbers."""
    return {
        k: v
        for k, v in result.objectives.items()
        if not isinstance(v, int | float) or not math.isfinite(v)
    }


def energy_source_of(result: EvalResult) -> str | None:
    how = result.measurements.get("energy") if result.has_values else None
    return how.get("energy_source") if how else None


def admit(result: EvalResult, pinned_energy: str | None) -> EvalResult:
    """``result`` as it may be stored: unchanged, or failed with the invariant it broke.
    ``pinned_energy`` is the run's energy source (None before the first energy value)."""
    if result.status == "failed":
        return result
    bad = non_finite(result)
    if bad:
        return replace(
            result,
            status="failed",
            error=f"non-finite objective values {bad} (treated as a failed evaluation)",
        )
    source = energy_source_of(result)
    if source is None or pinned_energy is None or source == pinned_energy:
        return result
    return replace(
        result,
        status="failed",
        objectives={},
        error=(
            f"energy came from {source!r} but this run's energy values come from "
            f"{pinned_energy!r} (fixed by its first result): one front must not mix "
            "sources; give every rank the same counters or set measure.energy_source"
        ),
    )
