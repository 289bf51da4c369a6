"""The run in optuna-dashboard: the mirror holds every stored evaluation (Optuna's own
Pareto front equals ours: an independent computation), grows as the run does, and the
dashboard page, rendered by a real headless browser, lists the run's trials."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    """A finished tabular NB201 search (no training: seconds)."""
    from xnas.config import load_config
    from xnas.driver import run_search

    run_dir = tmp_path_factory.mktemp("dash") / "nb201-run"
    cfg = load_config(
        None,
        [
            "space.name=nb201",
            "search.population=12",
            "search.generations=3",
            "objectives=[error, {name: params, constraint: '<= 900000'}]",
            "evaluator.name=tabular",
            f"evaluator.table={shared_data / 'nb201' / 'nb201_200ep.csv'}",
            "evaluator.columns=[{objective: error, column: error_cifar100, scale: 0.01}]",
        ],
    )
    run_search(cfg, run_dir)
    return run_dir


def test_the_mirror_holds_every_evaluation_and_optunas_front_is_ours(run, tmp_path):
    import optuna

    from xnas.report import open_run
    from xnas.report.optuna_mirror import sync

    storage = f"sqlite:///{tmp_path / 'o.sqlite3'}"
    name, added = sync(run, storage)
    view = open_run(run)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials()
    assert added == len(trials) == view.count()
    assert [t.user_attrs["key"] for t in trials] == [r.key for r in view.results]
    assert {t.user_attrs["error_provenance"] for t in trials} == {"tabular"}
    # Optuna computes the Pareto front itself (with the budget as a constraint)
    assert sorted(t.user_attrs["key"] for t in study.best_trials) == list(view.front_keys)
    assert sync(run, storage) == (name, 0)  # nothing twice
    from xnas.driver import run_search

    run_search(None, run, resume=True, budget=["search.generations=5"])
    _, more = sync(run, storage)
    assert more == open_run(run).count() - view.count() > 0  # the mirror follows the run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (make browser installs it; CI does)"
)
def test_the_dashboard_page_lists_the_runs_trials_in_a_real_browser(run, tmp_path):
    from xnas.report import open_run

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xnas",
            "dashboard",
            str(run),
            "--port",
            str(port),
            "--storage",
            f"sqlite:///{tmp_path / 'o.sqlite3'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        api = f"http://127.0.0.1:{port}/api/studies"
        for _ in range(120):  # the server answers once the mirror is written
            try:
                studies = json.load(urllib.request.urlopen(api, timeout=2))["study_summaries"]
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the dashboard never answered: " + server.stderr.read())
        assert studies[0]["study_name"] == run.name
        page = f"http://127.0.0.1:{port}/dashboard/studies/{studies[0]['study_id']}/trials"
        browse = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
        dom = subprocess.run(
            [*browse, "--dump-dom", page], capture_output=True, text=True, timeout=120
        ).stdout
        shot = tmp_path / "dashboard.png"
        subprocess.run(
            [*browse, "--window-size=1400,1000", f"--screenshot={shot}", page],
            capture_output=True,
            timeout=120,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    view = open_run(run)
    assert "Trial 0" in dom and "Trial 1" in dom  # the trial list, rendered by the browser
    assert view.results[0].key in dom  # trial 0 is the run's first stored evaluation
    assert shot.stat().st_size > 20_000  # a picture of a page, not of an error
