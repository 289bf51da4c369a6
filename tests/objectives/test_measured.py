"""Latency, energy, MCD and the direction contract."""

from __future__ import annotations

import platform
import socket
from pathlib import Path

import pytest
import torch

from xnas.config import MeasureConfig, SpaceConfig
from xnas.objectives import OBJECTIVES, EvalContext, to_minimization
from xnas.objectives.latency import measure_latency
from xnas.testing import objective as kit

SPACE = SpaceConfig(channels=8, layers=1)


def context(measure: MeasureConfig | None = None) -> EvalContext:
    return kit.tiny_context(measure)


@pytest.fixture(scope="module")
def latency_table(tmp_path_factory) -> str:
    """A small LUT of the context's space, for ``latency_predicted``."""
    import json

    from xnas.objectives.latency_table import build_table

    table = build_table(
        SPACE, (1, 12, 12), 4, torch.device("cpu"), repeats=2, patience=10, calibration=2
    )
    path = tmp_path_factory.mktemp("lut") / "lut.json"
    path.write_text(json.dumps(table))
    return str(path)


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_every_objective_declares_itself_and_records_how(name, request):
    """The objective kit (``xnas.testing.objective``) on every registered objective."""
    table = request.getfixturevalue("latency_table") if name == "latency_predicted" else None
    measure = MeasureConfig(latency_repeats=5, mcd_samples=4, mcd_steps=4, latency_table=table)
    kit.check_objective(name, context(measure))


def test_the_objective_kit_catches_a_value_that_is_not_finite():
    from xnas.objectives import Measurement, register_objective

    @register_objective("kit_probe", sense="min", stage="static", provenance="counted")
    def probe(ctx):
        return Measurement(float("nan"), {"method": "counted"})

    try:
        with pytest.raises(AssertionError):
            kit.check_objective("kit_probe", context())
    finally:
        OBJECTIVES.unregister("kit_probe")


def test_latency_is_the_fastest_implementations_median_and_says_how():
    """How repeatable the figure is on a machine is a measurement, not a test: it is
    reported by ``benchmarks/bench_latency.py`` (``latency_repeatability``)."""
    ctx = context()
    m = measure_latency(
        ctx.model, (1, 12, 12), ctx.device, repeats=7, warmup=2, impls=("eager", "channels_last")
    )
    timings = m.how["timings_ms"]
    assert set(timings) == {"eager", "channels_last"} and all(t > 0 for t in timings.values())
    assert m.value == min(timings.values()) and timings[m.how["implementation"]] == m.value
    assert (m.how["repeats"], m.how["warmup"], m.how["statistic"]) == (7, 2, "median")


def test_the_compiled_candidate_computes_what_eager_does_or_says_why_not():
    """torch.compile is timed where a C++ compiler exists (this machine and CI have one);
    the compiled callable must give the network's outputs."""
    import shutil

    from xnas.objectives.latency import prepare

    ctx = context()
    model = ctx.model.eval()
    m = measure_latency(model, (1, 12, 12), ctx.device, repeats=3, impls=("eager", "compiled"))
    if shutil.which("c++") or shutil.which("g++"):
        assert "compiled" in m.how["timings_ms"], m.how["failed"]
        x = torch.randn(2, 1, 12, 12)
        fn, xi = prepare("compiled", model, x)
        with torch.no_grad():
            assert torch.allclose(fn(xi), model(x), atol=1e-5)
    else:
        assert "compiled" in m.how["failed"]


def test_latency_selector_records_every_timing_and_the_winner():
    m = measure_latency(context().model, (1, 12, 12), torch.device("cpu"), repeats=5)
    how = m.how
    assert set(how["timings_ms"]) | set(how["failed"]) == {"eager", "channels_last"}
    assert how["implementation"] == min(how["timings_ms"], key=how["timings_ms"].get)
    assert m.value == how["timings_ms"][how["implementation"]]
    for k in ("device", "device_name", "threads", "batch", "warmup", "repeats", "statistic"):
        assert k in how
    assert how["threads"] == torch.get_num_threads() and how["rank"] == 0
    assert how["host"] == socket.gethostname()


def test_latency_names_the_cpu_model_not_the_architecture():
    """Oracle: the kernel's own description of the processor (lscpu reads the same)."""
    m = measure_latency(context().model, (1, 12, 12), torch.device("cpu"), repeats=2)
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo on this platform")
    models = {
        line.split(":", 1)[1].strip()
        for line in cpuinfo.read_text().splitlines()
        if line.lower().startswith("model name")
    }
    if not models:
        pytest.skip("/proc/cpuinfo names no model here")
    assert m.how["device_name"] in models
    assert m.how["device_name"] != platform.machine()


def test_energy_without_counters_is_modelled_and_says_so():
    ctx = context(MeasureConfig(energy_source="model"))
    m = OBJECTIVES.get("energy").compute(ctx)
    assert m.how["energy_source"] == "model" and "not measured" in m.how["method"]
    # MACs x 4.6 pJ + bytes x 160 pJ, in mJ
    expected = (m.how["macs"] * 4.6 + m.how["bytes_moved"] * 160.0) * 1e-9
    assert m.value == pytest.approx(expected)
    auto = OBJECTIVES.get("energy").compute(context())
    assert auto.how["energy_source"] in ("model", "rapl", "nvml")
    with pytest.raises(RuntimeError, match="not available"):
        OBJECTIVES.get("energy").compute(context(MeasureConfig(energy_source="nvml")))


def test_to_minimization_flips_only_max_objectives():
    vals = {"error": 0.1, "introspection": 0.4, "latency": 2.0}
    assert to_minimization(vals, ["error", "introspection", "latency"]).tolist() == [0.1, -0.4, 2.0]
