"""The shipped stop rule on the recorded curves, each dataset held out of its calibration:
the band covers the final accuracy and the rule never stops a front member."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_recorded_curves_meet_the_goals_out_of_sample():
    out = subprocess.run(
        [sys.executable, "benchmarks/bench_stoprule.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    summary = lines[-1]
    assert summary["held_out"].startswith("every dataset")
    assert {line["held_out"] for line in lines[:-1]} == {"cifar10", "digits", "lines", "mnist"}
    assert summary["band_coverage"] >= 0.95
    assert summary["false_stop_rate"] <= 0.02
    assert summary["stopped"] > 0  # the rule does fire


def test_the_nested_choice_never_sees_the_dataset_it_is_scored_on():
    """Item 6 of the evidence review: min_epochs and quantile are chosen on the other
    datasets only. Scrambling the held-out dataset's curves must not change the choice,
    and its false stops are reported with an exact binomial upper bound."""
    import random

    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_stoprule as b

    curves = b.load()
    groups = sorted({b.group_of(c) for c in curves})
    held, inner = groups[0], groups[1:]
    chosen = b.choose(curves, inner)
    rng = random.Random(0)
    scrambled = [
        {**c, "curve": rng.sample(c["curve"], len(c["curve"]))} if b.group_of(c) == held else c
        for c in curves
    ]
    assert b.choose(scrambled, inner) == chosen
    # 0 false stops of 40 cannot show a rate below 5%: the bound says so (scipy's exact CI)
    assert b.clopper_pearson_upper(0, 40) > 0.05
    assert abs(b.clopper_pearson_upper(0, 46) - (1 - 0.025 ** (1 / 46))) < 1e-9


@pytest.mark.slow
def test_the_studies_own_curves_replay_at_their_budgets(tmp_path, capsys):
    """Item 6: calibration evidence at the 3-4-epoch budgets the studies train. The curves
    come from a run's store (from-scratch, full budget, no reuse), with params counted from
    the rebuilt network: they equal the run's own params objective."""
    from tests.conftest import cfg
    from xnas.driver import run_search
    from xnas.report import open_run

    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_stoprule as b

    run_search(cfg("train.epochs=3", "search.generations=1"), tmp_path / "study" / "so-seed0")
    curves = b.curves_from_stores([str(tmp_path / "study")])
    view = open_run(tmp_path / "study" / "so-seed0")
    trained = [r for r in view.results if r.status == "ok" and r.reused_from is None]
    assert len(curves) == len(trained) > 0
    for c in curves:
        assert c["epochs"] == len(c["curve"]) == 3
        assert c["params"] == view.get(c["arch"]).objectives["params"]
    b.short_budgets(b.load() + curves)
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {x["nominal"] for x in lines} == {0.9, 0.95, 0.99}
    assert all(x["short_budget_held_out"] == "lines" and x["budgets"] == [3] for x in lines)
    assert all(x["checks"] == 2 * len(curves) for x in lines)  # epochs 1 and 2 of 3
