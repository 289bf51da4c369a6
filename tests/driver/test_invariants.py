"""Run-level invariants: the one driver function that turns a returned result into a
failure before it is stored (finite values, one energy source per run)."""

from __future__ import annotations

import math

import pytest

from xnas.driver.invariants import admit
from xnas.results import EvalResult


def _ok(**objectives) -> EvalResult:
    how = {n: {"energy_source": "model"} if n == "energy" else {} for n in objectives}
    return EvalResult("k", (0,), "ok", dict(objectives), how)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "0.3"])
def test_non_finite_or_non_numeric_objectives_are_failures(value):
    result = admit(_ok(error=0.1, params=value), None)
    assert result.status == "failed" and "non-finite" in result.error and "params" in result.error


def test_a_finite_result_passes_unchanged():
    result = _ok(error=0.1, params=3.0)
    assert admit(result, None) is result


def test_a_second_energy_source_is_refused_and_the_first_kept():
    result = _ok(error=0.1, energy=2.0)
    assert admit(result, "model") is result  # the run's own source
    assert admit(result, None) is result  # the first result pins it (RunState does)
    refused = admit(result, "nvml")
    assert refused.status == "failed" and refused.objectives == {}
    assert "energy came from 'model'" in refused.error and "'nvml'" in refused.error


def test_a_failed_result_is_left_as_it_is():
    failed = EvalResult("k", (0,), "failed", {}, {}, error="boom")
    assert admit(failed, "nvml") is failed


def test_numpy_scalars_are_numbers():
    import numpy as np

    result = _ok(error=np.float32(0.25), params=np.int64(7))
    assert admit(result, None) is result


def test_a_result_without_a_searched_objective_is_a_failure_not_a_crash():
    result = admit(_ok(error=0.1), None, required=("error", "params"))
    assert result.status == "failed" and result.failure == "invalid"
    assert "no value for objective 'params'" in result.error
