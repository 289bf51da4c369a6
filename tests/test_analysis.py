"""Smoke tests: each analysis script builds its table or figure from real tiny runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.test_run import cfg

ANALYSIS = REPO / "analysis"


def script(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ANALYSIS / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from xnas.run import run_search

    base = tmp_path_factory.mktemp("study")
    so = cfg("objectives=[error, {name: introspection, optimize: false}]", "search.generations=2")
    mo = cfg("objectives=[error, introspection]", "search.generations=2")
    run_search(so, base / "so")
    run_search(mo, base / "mo")
    return str(base / "so"), str(base / "mo")


def test_t1_single_vs_multi_objective(pair):
    text = script("t1_single_vs_multi.py", "--pair", "lines", *pair, "--format", "csv")
    lines = text.strip().splitlines()
    assert lines[0].startswith("task,search,evaluations") and len(lines) == 3
    rows = [line.split(",") for line in lines[1:]]
    assert [r[1] for r in rows] == ["single-objective", "multi-objective"]
    assert all(0 <= float(r[3]) <= 1 and float(r[7]) >= 0 for r in rows)


def test_t2_pareto_set(pair):
    text = script("t2_pareto_set.py", pair[1])
    assert "| key | error | introspection" in text and "epoch-equivalents" in text


def test_t3_references_under_one_budget():
    text = script(
        "t3_references.py",
        "--config",
        "experiments/demo/config.yaml",
        "--set=train.epochs=1",
        "--set=data.train_size=120",
        "--set=data.val_size=60",
        "--set=space.channels=4",
        "--set=measure.latency_repeats=3",
        "--set=measure.energy_repeats=3",
        "--format",
        "csv",
    )
    lines = text.strip().splitlines()
    assert lines[0].startswith("lines, 1 epochs")
    assert "energy (mJ, modelled)" in lines[1]
    names = [line.split(",")[0] for line in lines[2:]]
    assert names == [
        "nsganet",
        "nb201-best-cifar10",
        "nb201-resnet",
        "nb201-all-conv3x3",
        "nb201-all-skip",
    ]


def test_f1_fronts_figure(pair, tmp_path):
    out = tmp_path / "fronts.pdf"
    script("f1_fronts.py", "--pair", "lines", *pair, "-o", str(out))
    assert out.stat().st_size > 5_000
