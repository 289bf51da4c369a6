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
