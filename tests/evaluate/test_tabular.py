"""`evaluator: tabular`: values come from a CSV, stored exactly; missing keys are bad input."""

from __future__ import annotations

import csv
import itertools
import subprocess
import sys

import numpy as np
import pytest

from xnas.config import SpaceConfig, load_config
from xnas.errors import DataError
from xnas.space import get_space
from xnas.store import RunStore

SPACE = get_space(SpaceConfig(name="nb201"))


def write_table(path, keys, rng):
    rows = []
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["params", "note", "arch", "error"])  # any column order, extra text column
        for key in keys:
            row = (float(rng.uniform(0.1, 1.5)), "x", key, float(rng.uniform(0.05, 0.9)))
            rows.append(row)
            w.writerow([repr(row[0]), row[1], row[2], repr(row[3])])
    return {key: {"params": p, "error": e} for p, _, key, e in rows}


@pytest.fixture(scope="module")
def full_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "nb201.csv"
    keys = [SPACE.canonical(g) for g in itertools.product(range(5), repeat=6)]
    return path, write_table(path, keys, np.random.default_rng(0))


def config(table, *extra):
    return load_config(
        None,
        [
            "space.name=nb201",
            "search.population=16",
            "search.generations=6",
            "objectives=[error, params]",
            "evaluator.name=tabular",
            f"evaluator.table={table}",
            *extra,
        ],
    )


def test_the_store_holds_exactly_the_tables_values(tmp_path, full_table):
    from xnas.driver import run_search

    path, truth = full_table
    assert len(truth) == 15625
    front = run_search(config(path), tmp_path / "r").front
    with RunStore.open(tmp_path / "r") as store:
        results = [r for *_, r in store.results()]
    assert len(results) > 40 and front
    for r in results:
        assert r.status == "ok" and r.measurements["error"]["method"] == "tabular"
        if r.reused_from is None:
            assert r.objectives == truth[r.key]  # exact float equality
        else:  # an equivalent cell's error (not trained again), its own parameter count
            assert r.objectives == {
                "error": truth[r.reused_from]["error"],
                "params": truth[r.key]["params"],
            }
    assert any(r.reused_from for r in results)


SHARED = "nb201/nb201_200ep.csv"


def test_columns_map_percent_to_the_objectives_unit(tmp_path, shared_data):
    from xnas.driver import run_search
    from xnas.evaluate.tabular import load_table

    table = shared_data / SHARED
    mapping = "evaluator.columns=[{objective: error, column: error_cifar100, scale: 0.01}]"
    run_search(config(table, mapping, "search.generations=2"), tmp_path / "r")
    rows = load_table(str(table), "arch", SPACE.cfg)
    with RunStore.open(tmp_path / "r") as store:
        results = [r for *_, r in store.results() if r.reused_from is None]
    for r in results:
        assert r.objectives["error"] == pytest.approx(rows[r.key]["error_cifar100"] / 100)
        assert r.measurements["error"]["converted"] == "0 + 0.01 * error_cifar100"


def test_accuracy_in_percent_becomes_error(tmp_path):
    keys = [SPACE.canonical(g) for g in itertools.product(range(5), repeat=6)]
    path = tmp_path / "acc.csv"
    body = "".join(f"{k},{60 + i % 30},{i}\n" for i, k in enumerate(keys))
    path.write_text("arch,acc,params\n" + body)
    from xnas.config import TableColumn
    from xnas.driver import make_task
    from xnas.evaluate.tabular import TabularEvaluator

    c = config(path, "evaluator.columns=[{objective: error, column: acc, scale: -0.01, offset: 1}]")
    ev = TabularEvaluator(str(path), "arch", c.evaluator.columns)
    assert c.evaluator.columns == (TableColumn("error", "acc", -0.01, 1.0),)
    task = make_task(c, SPACE, SPACE.parse(keys[7]))
    assert ev(task).objectives["error"] == pytest.approx(1 - 0.67)


def test_a_table_in_the_wrong_unit_is_refused_with_one_line(tmp_path, shared_data):
    table = shared_data / SHARED
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("{}")
    args = [
        "space.name=nb201",
        "objectives=[error, params]",
        "evaluator.name=tabular",
        f"evaluator.table={table}",
        "evaluator.columns=[{objective: error, column: error_cifar100}]",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "xnas", "search", str(cfg_file), "--run-dir", str(tmp_path / "r")]
        + [f"--set={a}" for a in args],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "above its natural bound 1" in lines[0] and "scale: 0.01" in lines[0]
    assert not (tmp_path / "r").exists()


def test_a_key_missing_from_the_table_stops_the_search_with_one_line(tmp_path):
    """Bad input found only when a task runs: one line, exit 2. Found at the first task,
    nothing is stored and no run directory is left; found later, the store is intact
    (no failure recorded) and resumable."""
    from xnas.strategy import STRATEGIES

    rng = np.random.default_rng(1)
    some = {SPACE.canonical(SPACE.sample(rng)) for _ in range(5)}
    first = STRATEGIES.get("nsga2")(SPACE, 2, 1, 8, 0).ask(8)  # the search's generation 0
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("{}")
    args = [f"--set={o}" for o in ("space.name=nb201", "objectives=[error, params]")]
    for name, keys in (("none", sorted(some)), ("gen0", [SPACE.canonical(g) for g in first])):
        path = tmp_path / f"{name}.csv"
        write_table(path, keys, rng)
        run_dir = tmp_path / name
        run = [sys.executable, "-m", "xnas", "search", str(cfg_file), "--run-dir", str(run_dir)]
        out = subprocess.run(
            [*run, *args, "--set=evaluator.name=tabular", f"--set=evaluator.table={path}"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "has no row for |" in lines[0]
        assert f"{len(set(keys))} rows" in lines[0]
        if name == "none":
            assert not run_dir.exists()  # nothing was stored: nothing is left behind
            continue
        with RunStore.open(run_dir) as store:  # the store is intact and resumable
            assert store.count() == len(set(keys)) and store.count("failed") == 0


@pytest.mark.parametrize(
    ("objectives", "message"),
    [("[error, flops]", "column 'flops' \\(objective 'flops'\\) is missing"), ("[error]", None)],
)
def test_the_table_is_checked_before_anything_is_stored(tmp_path, full_table, objectives, message):
    from xnas.driver import run_search

    path, _ = full_table
    cfg = config(path, f"objectives={objectives}", "search.generations=1")
    if message is None:
        assert run_search(cfg, tmp_path / "r").front
        return
    with pytest.raises(DataError, match=message):
        run_search(cfg, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_table_without_its_key_column_is_named(tmp_path):
    from xnas.driver import run_search

    path = tmp_path / "t.csv"
    path.write_text("name,error\nfoo,0.1\n")
    with pytest.raises(DataError, match="has no column 'arch'"):
        run_search(config(path), tmp_path / "r")
