"""Latency, energy, MCD and the direction contract."""

from __future__ import annotations

import platform
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from xnas.config import MeasureConfig, SpaceConfig
from xnas.data import ArrayDataset, DataBundle
from xnas.objectives import OBJECTIVES, EvalContext, to_minimization
from xnas.objectives.latency import measure_latency
from xnas.space import resolve_arch

SPACE = SpaceConfig(channels=8, layers=1)


def context(measure: MeasureConfig | None = None) -> EvalContext:
    space, genome = resolve_arch("nb201-resnet", SPACE)
    model = space.build(genome, (1, 12, 12), 4)
    x = torch.randn(16, 1, 12, 12)
    data = ArrayDataset(x, torch.arange(16) % 4)
    bundle = DataBundle(
        "t", "t", data, data, 4, (1, 12, 12), ("a", "b", "c", "d"), (0.0,), (1.0,), None
    )
    return EvalContext(model, bundle, torch.device("cpu"), measure or MeasureConfig(), space=SPACE)


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
    obj = OBJECTIVES.get(name)
    assert obj.sense in ("min", "max") and obj.stage in ("static", "trained")
    table = request.getfixturevalue("latency_table") if name == "latency_predicted" else None
    measure = MeasureConfig(latency_repeats=5, mcd_samples=4, mcd_steps=4, latency_table=table)
    ctx = context(measure)
    ctx.val_accuracy = 0.5
    m = obj.compute(ctx)
    assert np.isfinite(m.value) and m.how, m


def test_repeated_latency_measurements_agree_within_10_percent():
    ctx = context()
    runs = [
        measure_latency(
            ctx.model, (1, 12, 12), ctx.device, repeats=60, warmup=10, impls=("eager",)
        ).value
        for _ in range(3)
    ]
    assert max(runs) / min(runs) < 1.10, runs


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
