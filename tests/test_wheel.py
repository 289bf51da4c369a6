"""The package as a user installs it: a wheel and an sdist built from this checkout, the
wheel installed with pip into a fresh virtual environment (no MPI packages: a serial
install), then the console script, a tiny tabular search and its status run from there,
outside the checkout. The sdist is installed over it and must give the same version."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA

pytestmark = pytest.mark.slow


def _run(cmd, cwd, timeout=1200, env=None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )
    assert done.returncode == 0, (cmd, done.stdout[-2000:], done.stderr[-2000:])
    return done


def test_a_serial_wheel_install_runs_a_search_without_mpi(tmp_path):
    import xnas

    dist = tmp_path / "dist"
    # from a copy of the tracked files: a build never writes into the checkout
    src = tmp_path / "src"
    files = _run(["git", "ls-files", "-z"], REPO).stdout.split("\0")
    for name in filter(None, files):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            target.write_bytes((REPO / name).read_bytes())
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, src], tmp_path)
    (wheel,) = dist.glob("xnas-*.whl")
    (sdist,) = dist.glob("xnas-*.tar.gz")
    assert wheel.name.startswith(f"xnas-{xnas.__version__}-")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path)
    py, cli = venv / "bin" / "python", venv / "bin" / "xnas"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    t0 = time.perf_counter()
    _run([py, "-m", "pip", "install", "--quiet", wheel], tmp_path, env=env)
    print(f"[wheel] serial pip install from the wheel: {time.perf_counter() - t0:.0f} s")

    # a serial install: no MPI packages, and xnas imports and runs without them
    probe = "import importlib.util as u, xnas; print(xnas.__version__, u.find_spec('mpi4py'))"
    out = _run([py, "-c", probe], tmp_path, env=env).stdout.split()
    assert out == [xnas.__version__, "None"]
    assert "search" in _run([cli, "--help"], tmp_path, env=env).stdout
    typed = _run(
        [py, "-c", "import xnas, pathlib; print(pathlib.Path(xnas.__file__).parent)"],
        tmp_path,
        env=env,
    )
    assert (Path(typed.stdout.strip()) / "py.typed").exists()

    config = tmp_path / "tabular.yaml"
    table = SHARED_DATA / "nb201" / "nb201_200ep.csv"
    config.write_text(
        "space: {name: nb201}\n"
        "search: {population: 6, generations: 2}\n"
        "objectives: [error, params]\n"
        f"evaluator: {{name: tabular, table: {table},\n"
        "  columns: [{objective: error, column: error_cifar100, scale: 0.01}]}\n"
    )
    cmd = [cli, "search", config, "--run-dir", tmp_path / "run"]
    _run(cmd, tmp_path, env=env)
    status = _run([cli, "status", tmp_path / "run"], tmp_path, env=env).stdout
    assert "finished" in status or "stopped" in status, status
    # the run records the installed version
    version = (
        "import sqlite3, json, sys; c = sqlite3.connect(sys.argv[1]); "
        "row = c.execute(\"select value from meta where key='versions'\").fetchone(); "
        "print(json.loads(row[0])['xnas'])"
    )
    recorded = _run([py, "-c", version, tmp_path / "run" / "xnas.sqlite"], tmp_path, env=env)
    assert recorded.stdout.strip() == xnas.__version__

    # the sdist installs too (over the wheel, without touching the dependencies)
    _run(
        [py, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", sdist],
        tmp_path,
        env=env,
    )
    assert _run([cli, "--version"], tmp_path, env=env).stdout.strip() == f"xnas {xnas.__version__}"
