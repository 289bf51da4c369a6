"""Every experiment folder holds a valid config and an executable run.sh."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO
from xnas.config import load_config
from xnas.driver import check_config

TASKS = sorted(p.name for p in (REPO / "experiments").iterdir() if p.is_dir())


def test_the_study_is_complete():
    for data in ("lines", "digits", "mnist", "cifar10"):
        assert {f"xnas-{data}-so", f"xnas-{data}-mo", f"four-{data}"} <= set(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_config_and_launcher(task):
    folder = REPO / "experiments" / task
    cfg = load_config(folder / "config.yaml")
    # space, strategy, budgets, cost settings (e.g. no stop rule that could never fire)
    check_config(cfg)
    assert os.access(folder / "run.sh", os.X_OK)
    assert "launch.sh" in (folder / "run.sh").read_text()
    if task.startswith("xnas-"):
        assert cfg.search.population == 64 and cfg.space.name == "nb201"
        assert cfg.search.strategy == "nsga2-sbx"
        assert [o.name for o in cfg.objectives] == ["error", "introspection"]
        assert cfg.objectives[1].optimize == task.endswith("-mo")


@pytest.mark.parametrize("task", TASKS)
def test_configs_tell_the_truth(task):
    """No guessed runtimes and no path that exists only in this repository's setup."""
    text = (REPO / "experiments" / task / "config.yaml").read_text()
    assert "rough estimate" not in text and "PENDING" not in text
    assert "shared/data" not in text and "root:" not in text  # XNAS_DATA or --set data.root
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any(
        "Runtime" in line and ("measured" in line or "not measured" in line) for line in header
    ), "the header states a measured runtime (or says it has none)"


@pytest.mark.parametrize("data", ["lines", "digits", "mnist", "cifar10"])
def test_an_xnas_pair_differs_only_in_what_it_optimises(data):
    from dataclasses import replace

    so, mo = (
        load_config(REPO / "experiments" / f"xnas-{data}-{m}" / "config.yaml") for m in ("so", "mo")
    )
    assert replace(so, objectives=mo.objectives) == mo


def test_tracked_shell_scripts_are_executable_in_a_clone():
    """A clone takes file modes from git, not from this checkout: a script committed 644 runs
    here (after a chmod) but is 'Permission denied' for a user (results/run_studies.sh was)."""
    import subprocess

    listing = subprocess.run(
        ["git", "ls-files", "-s", "--", "*.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert listing, "no tracked shell scripts found"
    modes = {line.split("\t", 1)[1]: line.split()[0] for line in listing}
    assert {path: mode for path, mode in modes.items() if mode != "100755"} == {}


@pytest.mark.parametrize("data", ["lines", "digits"])
def test_the_protocol_arms_differ_only_in_what_they_optimise_and_how_they_search(data):
    from dataclasses import replace

    so, mo, rnd = (
        load_config(REPO / "experiments" / f"paired-{data}-{m}" / "config.yaml")
        for m in ("so", "mo", "random")
    )
    assert replace(so, objectives=mo.objectives) == mo
    assert replace(rnd, search=replace(rnd.search, strategy=mo.search.strategy)) == mo
    assert (mo.search.population, mo.search.generations) == (32, 4)
