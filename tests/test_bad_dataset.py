"""A dataset that cannot load stops the search with one line and exit 2, before anything
is stored (it used to be stored as one failed evaluation per genome, exit 0)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO, cfg
from xnas.driver import make_task
from xnas.errors import DataError
from xnas.evaluate import evaluate
from xnas.space import get_space


def test_search_with_a_missing_root_exits_2_and_leaves_no_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnas",
            "search",
            "experiments/demo/config.yaml",
            "--set",
            "data.name=mnist",
            "--set",
            "data.root=/nonexistent",
            "--run-dir",
            str(run_dir),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "/nonexistent" in lines[0]
    assert not run_dir.exists()


def test_evaluate_raises_bad_input_instead_of_storing_a_failure():
    c = cfg()
    space = get_space(c.space)
    task = make_task(c, space, space.sample(np.random.default_rng(0)))
    task = dataclasses.replace(
        task, data=dataclasses.replace(task.data, name="mnist", root="/nonexistent")
    )
    with pytest.raises(DataError, match="/nonexistent"):
        evaluate(task)
