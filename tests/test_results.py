"""results/: the committed tables are what analysis/ makes of the committed stores.

Two oracles: a regeneration that must match byte for byte, and the T1 per-run rows recomputed
from the SQLite files with nothing but sqlite3 + json (no xnas code in the loop).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO

RESULTS = REPO / "results"


def _stores():
    return sorted(RESULTS.glob("*/*-seed*/xnas.sqlite"))


pytestmark = pytest.mark.skipif(not _stores(), reason="no study stores committed under results/")


def test_committed_tables_regenerate_byte_for_byte():
    done = subprocess.run(
        [sys.executable, "analysis/results_tables.py", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _raw_results(store):
    """Every stored result of a run, read with sqlite3 + json only (no xnas code)."""
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    results = [json.loads(text) for (text,) in con.execute("SELECT result FROM evaluations")]
    con.close()
    return results


def _every_run_rows():
    text = (RESULTS / "T1.md").read_text().split("## Every run", 1)[1]
    rows = [line.strip("|").split(" | ") for line in text.splitlines() if line.startswith("| ")]
    header, *body = rows
    return [
        dict(zip([h.strip() for h in header], [c.strip() for c in row], strict=True))
        for row in body
    ]


def test_t1_rows_agree_with_the_raw_stores():
    rows = _every_run_rows()
    assert rows, "T1.md lists no run"
    for row in rows:
        results = _raw_results(RESULTS / row["run"] / "xnas.sqlite")
        datasets = {r["measurements"]["error"]["dataset"] for r in results if r["status"] == "ok"}
        assert len(datasets) == 1, datasets
        # a number measured on the lossy JPEG re-encoding is never shown as CIFAR-10's own
        assert row["task"].endswith("(JPEG)") == ("JPEG" in datasets.pop()), row["task"]
        ok = [r["objectives"] for r in results if r["status"] == "ok"]
        ok = [o for o in ok if "error" in o and "introspection" in o]
        best_err = min(ok, key=lambda o: (o["error"], -o["introspection"]))
        best_int = max(ok, key=lambda o: (o["introspection"], -o["error"]))
        assert int(row["evaluations"]) == len(ok)
        assert float(row["best-error: error"]) == pytest.approx(best_err["error"], abs=1e-6)
        assert float(row["best-error: introspection"]) == pytest.approx(
            best_err["introspection"], abs=1e-6
        )
        assert float(row["best-introspection: introspection"]) == pytest.approx(
            best_int["introspection"], abs=1e-6
        )
        assert float(row["best-introspection: error"]) == pytest.approx(best_int["error"], abs=1e-6)
        # whole samples, an oracle independent of the script's float tolerance: an error is
        # k / n of the validation split, "+0.01" is floor(0.01 n) samples more
        n = {r["measurements"]["error"]["samples"] for r in results if r["status"] == "ok"}
        (n,) = n
        best_k = round(best_err["error"] * n)
        near = max(
            o["introspection"]
            for o in ok
            if round(o["error"] * n) <= best_k + math.floor(0.01 * n + 1e-9)
        )
        key = "best introspection within +0.01 of the best error"
        assert float(row[key]) == pytest.approx(near, abs=1e-6)


def _staircase_area(points, ref):
    """2-D hypervolume by the staircase (an oracle independent of pymoo): minimise both."""
    area, prev_y = 0.0, ref[1]
    for x, y in sorted(points):
        if y < prev_y:
            area += (ref[0] - x) * (prev_y - y)
            prev_y = y
    return area


def test_t2_shared_box_hypervolume_against_a_staircase():
    """T2's seeds compare in one box; checked on the committed lines pair (2 objectives)."""
    import numpy as np

    sys.path.insert(0, str(REPO / "analysis"))
    from results_tables import common_hypervolumes

    from xnas.report import open_run
    from xnas.summary import feasible_front

    dirs = sorted((RESULTS / "xnas-lines").glob("mo-seed*"))
    if len(dirs) < 2:
        pytest.skip("the lines pair is not committed")
    views = [open_run(d) for d in dirs]
    got = common_hypervolumes(views)
    Fs = [feasible_front(v.rows, list(v.names), list(v.constraints))[1] for v in views]
    ideal = np.vstack(Fs).min(axis=0)
    ref = np.max([v.reference for v in views], axis=0)
    for F, hv in zip(Fs, got, strict=True):
        scaled = (F - ideal) / (ref - ideal)
        assert 0.0 < hv < 1.0
        assert hv == pytest.approx(_staircase_area(scaled.tolist(), (1.0, 1.0)), rel=1e-9)


def _raw_first_generation(store):
    """Generation 0's networks at rung 0 (the rungs table, then the final rows), each key
    once: the random sample T2's first correlation table claims over."""
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rows = con.execute("SELECT result FROM rungs WHERE generation = 0 AND rung = 0").fetchall()
    rows += con.execute("SELECT result FROM evaluations WHERE generation = 0").fetchall()
    con.close()
    first = {}
    for (text,) in rows:
        r = json.loads(text)
        rung = (r.get("fidelity") or {}).get("rung", 0)
        if r.get("reused_from"):
            continue
        if r["key"] not in first and rung == 0 and r["status"] in ("ok", "partial", "stopped"):
            first[r["key"]] = r["objectives"]
    return list(first.values())


def test_t2_correlations_agree_with_the_raw_stores():
    """T2's two Spearman tables (the random first generation; the fully trained networks),
    recomputed from the SQLite rows with pandas (its own ranking code, not scipy's) and no
    xnas code in the loop."""
    import pandas as pd

    path = RESULTS / "T2.md"
    if not path.is_file():
        pytest.skip("no four-objective run committed")
    checked = 0
    for section in path.read_text().split("\n## ")[1:]:
        study = section.split("\n", 1)[0].strip()
        random_part, trained_part = section.split("Spearman's rho", 1)[1].split("The same over")
        for part, which in ((random_part, "random"), (trained_part, "trained")):
            block = part.split("\n\n", 2)[1]
            header, _, *body = [line.strip("|").split(" | ") for line in block.splitlines()]
            header = [h.strip() for h in header]
            for row in body:
                row = dict(zip(header, [c.strip() for c in row], strict=True))
                store = RESULTS / study / row["run"] / "xnas.sqlite"
                if which == "random":
                    frame = pd.DataFrame(_raw_first_generation(store))
                else:
                    results = _raw_results(store)
                    frame = pd.DataFrame([r["objectives"] for r in results if r["status"] == "ok"])
                assert int(row["networks"]) == len(frame)
                for column in header[2:]:
                    a, b = column.split(" vs ")
                    rho = frame[a].corr(frame[b], method="spearman")
                    assert float(row[column]) == pytest.approx(rho, abs=0.005 + 1e-9), (
                        which,
                        row,
                        column,
                    )
                    checked += 1
    assert checked, "T2.md holds no correlation table"


@pytest.mark.mpi
def test_run_studies_leaves_a_finished_store_byte_for_byte(tmp_path):
    """Re-running the study script over finished runs (resume returns at once) must not
    rewrite the committed stores: it used to vacuum them again, changing their bytes."""
    import shutil

    runs = [RESULTS / "xnas-lines" / f"{v}-seed0" for v in ("so", "mo")]
    if not all((d / "xnas.sqlite").exists() for d in runs):
        pytest.skip("the lines pair is not committed")
    for d in runs:
        shutil.copytree(d, tmp_path / "xnas-lines" / d.name)
    done = subprocess.run(
        ["bash", "results/run_studies.sh", "xnas-lines"],
        cwd=REPO,
        env={**os.environ, "RESULTS": str(tmp_path), "SEEDS": "1", "RANKS": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for d in runs:
        copy = tmp_path / "xnas-lines" / d.name
        assert (copy / "xnas.sqlite").read_bytes() == (d / "xnas.sqlite").read_bytes()
        assert not (copy / "xnas.sqlite.before").exists()
