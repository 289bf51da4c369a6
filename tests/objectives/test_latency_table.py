"""The latency LUT: units, file round trip, clear refusals, and budgets applied before
training (a search rejects a genome whose predicted latency breaks its budget)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import xnas_cli
from xnas.config import SpaceConfig
from xnas.errors import ConfigError
from xnas.objectives.latency_table import build_table, load_table, predict, unit_calls
from xnas.space import get_space
from xnas.store import RunStore

SHAPE = (1, 12, 12)  # the `lines` task's input
NB201 = SpaceConfig(name="nb201", channels=4, layers=1)
LINES = [
    "space.name=nb201",
    "space.channels=4",
    "space.layers=1",
    "data.name=lines",
    "data.train_size=200",
    "data.val_size=100",
    "train.epochs=1",
    "search.population=6",
    "search.generations=2",
    "measure.latency_repeats=3",
    "measure.latency_warmup=1",
]


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> str:
    t = build_table(
        NB201, SHAPE, 4, torch.device("cpu"), warmup=1, repeats=3, patience=20, calibration=4
    )
    path = tmp_path_factory.mktemp("lut") / "lut.json"
    path.write_text(json.dumps(t))
    return str(path)


def test_units_are_the_candidate_ops_and_the_fixed_parts():
    # NB201 with one cell per stage: stem, 3 cells x 6 edges, 2 residual reductions,
    # last activation, pooling, classifier
    space = get_space(NB201)
    model = space.build(space.sample(np.random.default_rng(0)), SHAPE, 4)
    calls = unit_calls(model, SHAPE)
    assert len(calls) == 1 + 18 + 2 + 3
    params = sum(p.numel() for _, unit, _ in calls for p in unit.parameters())
    assert params == sum(p.numel() for p in model.parameters())  # nothing left out


def test_none_ops_of_different_strides_are_different_entries():
    from xnas.nn.ops import make_op

    assert repr(make_op("none", 4, 1)) != repr(make_op("none", 4, 2))


def test_the_file_round_trips_and_predicts_the_sum_of_its_entries(table):
    t = load_table(table, NB201)
    assert t == json.loads(Path(table).read_text())
    space = get_space(NB201)
    for seed in range(5):
        model = space.build(space.sample(np.random.default_rng(seed)), SHAPE, 4)
        value, plain, n = predict(t, model, SHAPE)
        by_hand = sum(t["entries"][key] for key, _, _ in unit_calls(model, SHAPE))
        assert n == 24 and plain == pytest.approx(by_hand)
        assert value == pytest.approx(t["model"]["scale"] * by_hand + t["model"]["overhead_ms"])
    assert t["measured"]["implementation"] == "eager" and t["measured"]["repeats"] == 3


def test_a_table_of_another_space_is_refused_in_one_line(table):
    with pytest.raises(ConfigError, match="measured for space 'nb201'.*uses 'micro'") as e:
        load_table(table, SpaceConfig(name="micro"))
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="channels=4.*channels=8"):
        load_table(table, SpaceConfig(name="nb201", channels=8, layers=1))


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not readable JSON"),
        ('{"format": "something else"}', "no 'format: xnas-latency-table'"),
        ('{"format": "xnas-latency-table", "version": 99}', "version 99"),
    ],
)
def test_a_corrupt_table_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_table(path, NB201)


def test_a_table_with_a_non_numeric_entry_is_refused(tmp_path, table):
    t = json.loads(Path(table).read_text())
    t["entries"][next(iter(t["entries"]))] = "fast"
    (tmp_path / "t.json").write_text(json.dumps(t))
    with pytest.raises(ConfigError, match="not a finite number"):
        load_table(tmp_path / "t.json", NB201)


def test_a_search_with_a_bad_table_exits_2_before_storing(tmp_path):
    (tmp_path / "bad.json").write_text("[]")
    (tmp_path / "c.yaml").write_text("space: {name: nb201}\n")
    done = xnas_cli(
        "search",
        str(tmp_path / "c.yaml"),
        "--set",
        "objectives=[error, latency_predicted]",
        "--set",
        f"measure.latency_table={tmp_path / 'bad.json'}",
        *[a for s in LINES for a in ("--set", s)],
        "--run-dir",
        str(tmp_path / "run"),
    )
    assert done.returncode == 2
    assert "latency table" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_search_rejects_genomes_over_the_predicted_latency_budget_before_training(
    tmp_path, table
):
    from xnas.config import load_config
    from xnas.driver import run_search

    t = load_table(table, NB201)
    space = get_space(NB201)
    rng = np.random.default_rng(1)
    values = [predict(t, space.build(space.sample(rng), SHAPE, 4), SHAPE)[0] for _ in range(30)]
    bound = float(np.median(values))  # about half the genomes break it
    cfg = load_config(
        None,
        [
            *LINES,
            f"objectives=[error, {{name: latency_predicted, constraint: '<= {bound}'}}]",
            f"measure.latency_table={table}",
        ],
    )
    run_search(cfg, tmp_path / "run")
    with RunStore.open(tmp_path / "run") as store:
        results = [r for *_, r in store.results()]
    rejected = [r for r in results if r.status == "rejected"]
    trained = [r for r in results if r.status == "ok" and r.reused_from is None]
    assert rejected and trained
    for r in rejected:
        assert r.objectives["latency_predicted"] > bound and "error" not in r.objectives
        assert r.epochs == 0 and not r.curve and "rejected before training" in r.error
        assert r.measurements["latency_predicted"]["method"] == "predicted"
    for r in trained:
        assert r.objectives["latency_predicted"] <= bound and r.epochs == 1


@pytest.mark.parametrize("damage", ["other shape", "missing unit"])
def test_a_table_that_cannot_serve_the_search_is_refused_before_a_store_exists(
    tmp_path, table, damage
):
    """Measured at another input shape, or without a unit the space's networks hold: one
    line, exit 2, and no run directory, so the corrected command can run again there."""
    original = json.loads(Path(table).read_text())
    t = json.loads(Path(table).read_text())
    if damage == "other shape":
        t["input_shape"] = [3, 32, 32]
    else:  # the global pooling every network ends with
        t["entries"] = {k: v for k, v in t["entries"].items() if "AdaptiveAvgPool2d" not in k}
        assert len(t["entries"]) < len(original["entries"])
    (tmp_path / "t.json").write_text(json.dumps(t))
    (tmp_path / "c.yaml").write_text("space: {name: nb201}\n")
    args = [
        "search",
        str(tmp_path / "c.yaml"),
        "--set",
        "objectives=[error, latency_predicted]",
        "--set",
        f"measure.latency_table={tmp_path / 't.json'}",
        *[a for s in LINES for a in ("--set", s)],
        "--run-dir",
        str(tmp_path / "run"),
    ]
    done = xnas_cli(*args)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()
    assert len(line) == 1 and ("input" in line[0] or "no entry" in line[0]), line
    assert not (tmp_path / "run").exists()
