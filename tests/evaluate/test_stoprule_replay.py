"""The shipped stop rule on the recorded curves, each dataset held out of its calibration:
the band covers the final accuracy and the rule never stops a front member."""

from __future__ import annotations

import json
import subprocess
import sys

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
