"""The reporting package and the Python API, on a real (tiny) run.

Oracles: pymoo's own non-dominated sorting and hypervolume on the store read directly,
the store's row count, and the CLI's output for the same run.
"""

from __future__ import annotations

import numpy as np
import pytest

import xnas
from tests.conftest import BASE
from xnas.errors import ConfigError, DataError
from xnas.results import EvalResult, provenance
from xnas.space import get_space
from xnas.store import RunStore

OBJECTIVES = "objectives=[error, introspection, {name: params, optimize: false}, energy]"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "r"
    view = xnas.search(xnas.load_config(None, [*BASE, OBJECTIVES]), run_dir)
    return run_dir, view


@pytest.mark.slow
def test_the_view_front_and_hypervolume_match_pymoo_on_the_raw_store(run):
    from pymoo.indicators.hv import HV
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    run_dir, view = run
    with RunStore.open(run_dir) as store:
        rows = list(store.results())
        ref = np.array(store.meta("hv_reference"))
    ok = [r for _, v, r in rows if r.has_values and v == 0]
    F = np.array(
        [
            [r.objectives["error"], -r.objectives["introspection"], r.objectives["energy"]]
            for r in ok
        ]
    )
    front = NonDominatedSorting().do(F, only_non_dominated_front=True)
    assert list(view.front_keys) == sorted(ok[i].key for i in front)
    assert view.hypervolume == pytest.approx(HV(ref_point=ref)(F[front]))
    assert view.names == ("error", "introspection", "energy")
    assert view.recorded == ("error", "introspection", "params", "energy")
    assert view.count() == len(rows) and view.status()["front"] == list(view.front_keys)


@pytest.mark.slow
def test_frames_carry_every_evaluation_and_typed_provenance(run):
    run_dir, view = run
    frame = view.frame()
    assert len(frame) == view.count() and frame.index.is_unique
    assert set(frame["energy_provenance"].dropna()) == {"modelled"}  # no counter on CPU
    assert set(frame["params_provenance"].dropna()) == {"counted"}
    assert set(frame["error_provenance"].dropna()) == {"measured"}
    assert frame["on_front"].sum() == len(view.front_keys)
    # identity first, objectives in the configured order; the genome decodes to its key
    assert list(frame.columns[:5]) == ["genome", "generation", "status", "on_front", "violation"]
    assert list(frame.columns[5:9]) == ["error", "introspection", "params", "energy"]
    space = get_space(view.cfg.space)
    for key, genome in frame["genome"].items():
        assert space.key(tuple(int(g) for g in genome.split())) == key
    front = view.front_frame()
    assert sorted(front.index) == list(view.front_keys)
    assert list(front["error"]) == sorted(front["error"])  # best first by the first objective
    assert {"error", "introspection", "params", "energy", "energy_provenance"} <= set(front)


@pytest.mark.slow
def test_the_front_table_ends_the_cli_output_with_values(run, tmp_path):
    from tests.conftest import xnas_cli

    run_dir, view = run
    text = view.table("front")
    assert text.startswith(f"front ({len(view.front_keys)} architectures)")
    assert "energy (mJ, modelled)" in text.splitlines()[1]
    for r in view.front:
        line = next(line for line in text.splitlines() if line.endswith(r.key))
        assert f"{r.objectives['error']:.6g}" in line and f"{r.objectives['energy']:.6g}" in line
    # the CLI on the same config: the same front; its output ends with the table, the run
    # directory and why the search stopped
    (tmp_path / "c.yaml").write_text("{}\n")
    done = xnas_cli(
        "search",
        str(tmp_path / "c.yaml"),
        "--run-dir",
        str(tmp_path / "cli"),
        *sum((["--set", s] for s in [*BASE, OBJECTIVES, "parallel.threads_per_rank=1"]), []),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "stopped      search.generations (3) done"  # why, on the last line
    assert lines[-2] == f"run directory {tmp_path / 'cli'}"
    assert "\n".join(lines[:-2]).endswith(text.strip().splitlines()[-1])
    assert xnas.open_run(tmp_path / "cli").front_keys == view.front_keys  # same seed, same front


def test_provenance_is_stamped_and_inferred_for_old_records():
    cases = [
        ({"method": "validation"}, "measured"),
        ({"method": "extrapolated", "predicted": True}, "extrapolated"),
        ({"method": "tabular", "table": "t.csv"}, "tabular"),
        ({"method": "predicted", "source": "latency table"}, "predicted"),
        ({"energy_source": "model", "method": "modelled (not measured)"}, "modelled"),
        ({"energy_source": "nvml", "method": "measured (GPU total energy counter)"}, "measured"),
        ({"method": "counted"}, "counted"),
        ({"method": "torch.utils.flop_counter"}, "counted"),
        ({"method": "measured", "provenance": "predicted"}, "predicted"),  # a stamp wins
    ]
    for how, expected in cases:
        assert provenance(how) == expected, how
    r = EvalResult("k", (0,), "ok", {"error": 0.1}, {"error": {"method": "extrapolated"}})
    assert r.measurements["error"]["provenance"] == "extrapolated" == r.provenance("error")


def test_api_takes_mappings_and_refuses_bad_input_before_storing(tmp_path):
    cfg = xnas.load_config({"data": {"name": "digits"}}, {"train.epochs": 2})
    assert cfg.data.name == "digits" and cfg.train.epochs == 2
    assert xnas.load_config(cfg, ["train.epochs=3"]).train.epochs == 3
    with pytest.raises(ConfigError, match="train.epochz"):
        xnas.load_config(None, {"train.epochz": 1})
    with pytest.raises(ConfigError):
        xnas.search({"search": {"population": 0}}, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_dataset_root_falls_back_to_xnas_data(monkeypatch, shared_data):
    from xnas.config import DataConfig
    from xnas.data.torchvision_sets import require_root

    cfg = DataConfig(name="mnist")
    monkeypatch.delenv("XNAS_DATA", raising=False)
    with pytest.raises(DataError, match="XNAS_DATA is unset"):
        require_root(cfg, "MNIST/raw")
    monkeypatch.setenv("XNAS_DATA", str(shared_data))
    assert require_root(cfg, "MNIST/raw") == shared_data
    monkeypatch.setenv("XNAS_DATA", "/nonexistent/xnas-data")
    with pytest.raises(DataError, match="/nonexistent/xnas-data"):
        require_root(cfg, "MNIST/raw")
    assert require_root(DataConfig(name="mnist", root=str(shared_data)), "x") == shared_data
