"""The command line a researcher lives in: one config convention, examples in every
help, progress while a search runs (a line per evaluation at -v, time to go per
generation, status --follow), budgets extended on resume, architectures named by role,
readable output, tables that read back, and nothing left behind after a clean finish."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import BASE, REPO, xnas_cli
from xnas.cli import build_parser

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_examples_in_its_help(command):
    text = build_parser()._subparsers._group_actions[0].choices[command].format_help()  # noqa: SLF001
    assert "examples:" in text and f"xnas {command}" in text


def tabular(shared_data, *extra):
    return [
        "space.name=nb201",
        "search.population=8",
        "search.generations=2",
        "objectives=[error, params]",
        "evaluator.name=tabular",
        f"evaluator.table={shared_data / 'nb201' / 'nb201_200ep.csv'}",
        "evaluator.columns=[{objective: error, column: error_cifar100, scale: 0.01}]",
        *extra,
    ]


def sets(items):
    return [a for s in items for a in ("--set", s)]


@pytest.fixture(scope="module")
def table_run(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("cli")
    (d / "c.yaml").write_text("{}\n")
    done = xnas_cli(
        "search", "-c", str(d / "c.yaml"), "--run-dir", str(d / "r"), *sets(tabular(shared_data))
    )
    assert done.returncode == 0, done.stderr
    return d / "r", done


def test_a_search_starts_talking_at_once_and_says_how_long_is_left(table_run):
    _, done = table_run
    lines = done.stdout.splitlines()
    assert lines[0].startswith("searching nb201_200ep.csv") or lines[0].startswith("searching")
    gen0 = next(line for line in lines if line.startswith("gen   0:"))
    assert "so far" in gen0 and "to go" in gen0


def test_nothing_is_left_behind_after_a_clean_finish(table_run):
    run, _ = table_run
    leftovers = {p.name for p in run.iterdir()} - {"xnas.sqlite", "weights"}
    assert leftovers == set(), leftovers  # no empty xnas.lock, no inflight/


def test_resume_extends_the_budget_refuses_the_rest_and_says_when_nothing_is_left(table_run):
    import shutil

    run, _ = table_run
    copy = run.parent / "extend"
    shutil.copytree(run, copy)
    nothing = xnas_cli("resume", str(copy))
    assert (
        nothing.returncode == 0
        and "nothing left to do: search.generations (2) done" in nothing.stdout
    )
    refused = xnas_cli("resume", str(copy), "--set", "search.population=20")
    assert refused.returncode == 2 and "changes the budget only" in refused.stderr
    more = xnas_cli("resume", str(copy), "--set", "search.generations=4")
    assert more.returncode == 0, more.stderr
    assert "gen   3:" in more.stdout and more.stdout.strip().endswith("search.generations (4) done")
    status = xnas_cli("status", str(copy)).stdout
    assert "generations  4/4" in status  # the run's config records the new budget


def test_tables_read_back_and_latex_is_a_booktabs_table(table_run, tmp_path):
    import pandas as pd

    run, _ = table_run
    for what in ("pareto", "cost"):
        out = tmp_path / f"{what}.csv"
        assert (
            xnas_cli(
                "table", str(run), "--format", "csv", "--what", what, "-o", str(out)
            ).returncode
            == 0
        )
        frame = pd.read_csv(out)  # one table a file: pandas reads it whole
        assert len(frame) >= 1 and ("key" in frame if what == "pareto" else "evaluations" in frame)
    both = xnas_cli("table", str(run), "--format", "csv")
    assert both.returncode == 2 and "--what" in both.stderr
    tex = xnas_cli("table", str(run), "--format", "latex").stdout
    assert tex.count(r"\begin{table}") == 2 and r"\toprule" in tex and r"\caption{" in tex
    assert r"\texttt{\detokenize{|" in tex and r"\textbar{}nor" not in tex
    header = next(line for line in tex.splitlines() if line.startswith(r"\begin{tabular}"))
    assert "r" in header.split("{")[2]  # numbers right-aligned


def test_reading_a_run_never_imports_torch(table_run):
    run, _ = table_run
    for argv in (["status", str(run)], ["table", str(run)], ["export", str(run)]):
        code = (
            "import sys, runpy; sys.argv = ['xnas', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('xnas', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('TORCH', 'torch' in sys.modules)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=REPO
        )
        assert done.stdout.strip().endswith("TORCH False"), (argv, done.stderr[-300:])


def test_architectures_are_named_by_role(table_run):
    from xnas.report import open_run
    from xnas.report.select import select

    run, _ = table_run
    view = open_run(run)
    knee, best = select(view, "knee"), select(view, "best:error")
    assert knee.key in view.front_keys and best.key in view.front_keys
    assert best.objectives["error"] == min(r.objectives["error"] for r in view.front)
    assert select(view, view.front_keys[0][:30]).key == view.front_keys[0]  # a unique prefix
    bad = xnas_cli("export", str(run), "--arch", "best:speed")
    assert bad.returncode == 2 and "best:error or best:params" in bad.stderr


def test_arch_shows_the_published_nb201_size_and_says_so():
    out = xnas_cli("arch", "nb201-resnet").stdout
    assert "559,386" in out and "C=16, layers=5: NAS-Bench-201's published network" in out


def test_data_explains_its_validation_size(shared_data):
    out = xnas_cli(
        "data", *sets(["data.name=mnist", f"data.root={shared_data}", "data.train_size=2000"])
    ).stdout
    assert out.startswith("loading      mnist")
    assert "10% of the training split held out (data.val_fraction)" in out


def test_two_configs_are_one_line(tmp_path):
    (tmp_path / "a.yaml").write_text("{}\n")
    (tmp_path / "b.yaml").write_text("{}\n")
    done = xnas_cli("search", str(tmp_path / "a.yaml"), "-c", str(tmp_path / "b.yaml"))
    assert done.returncode == 2 and "two configs given" in done.stderr


@pytest.mark.slow
def test_verbose_says_a_line_per_evaluation_and_status_follows_a_running_search(tmp_path):
    import os

    (tmp_path / "c.yaml").write_text("{}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    search = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xnas",
            "search",
            str(tmp_path / "c.yaml"),
            "--run-dir",
            str(tmp_path / "r"),
            "-v",
            *sets([*BASE, "search.generations=3"]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    while not (tmp_path / "r" / "xnas.sqlite").exists() and search.poll() is None:
        time.sleep(0.2)
    follow = xnas_cli("status", str(tmp_path / "r"), "--follow", "--interval", "0.3")
    out, err = search.communicate(timeout=600)
    assert search.returncode == 0, err
    lines = follow.stdout.splitlines()
    assert lines[-1] == "stopped      search.generations (3) done"
    assert sum(" evaluations (" in line for line in lines) >= 2  # it saw the run move
    per_eval = [line for line in err.splitlines() if line.startswith("  ok ")]
    from tests.conftest import stored

    assert len(per_eval) == len(stored(tmp_path / "r"))
    assert all(" rank 0, " in line and line.endswith(" s") for line in per_eval)


@pytest.mark.slow
def test_evaluate_retrains_a_runs_knee_and_prints_readable_records(tmp_path):
    from tests.conftest import cfg
    from xnas.driver import run_search

    run_search(cfg("search.generations=1", "objectives=[error, params, latency]"), tmp_path / "r")
    done = xnas_cli("evaluate", "--run", str(tmp_path / "r"), "--arch", "knee", "--epochs", "2")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    text = done.stdout
    assert "2 epochs" in rows["evaluating"] and len(rows["curve"].split()) == 5  # 2 values
    assert rows["latency"].split()[-1] == "measured"  # its provenance, in its column
    record = text.split("\nlatency", 1)[1].split("\n", 2)[1]  # the record, on its own lines
    assert "repeats 30" in text and record.startswith(" " * 16 + "method measured; device cpu")
    assert "0000000" not in done.stdout  # float noise rounded away
