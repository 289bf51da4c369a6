"""Replay recorded learning curves through the stop rule (``python benchmarks/bench_stoprule.py``).

Curves: ``tests/fixtures/learning_curves.json`` (``benchmarks/collect_curves.py``: the
xnas trainer on digits, lines and MNIST subsets, NB201 and micro cells, three learning
rates, 12- and 20-epoch budgets). Every number is *out of sample*: the band is
calibrated on every dataset but the one being replayed (leave one dataset out), so a
dataset's curves never calibrate their own band.

Per held-out setting and overall, one JSON line with
- ``band_coverage``: share of (curve, epoch k >= min_epochs) whose final accuracy lies
  inside the band predicted at k (goal >= 0.95);
- ``false_stop_rate``: share of stopped candidates that were non-dominated, by their
  true final error and params, against the same front the rule saw (goal <= 0.02);
  a "search" is one setting, budget and learning rate, and each candidate's front is the
  non-dominated set of the other architectures' true (error, params);
- ``epochs_saved``: share of the training epochs the stops saved.
``--write-calibration`` writes the shipped calibration (all curves) into the package.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xnas.evaluate.calibration import DEFAULT_FILE, HeadroomBand  # noqa: E402
from xnas.evaluate.stoprule import StopRule, check  # noqa: E402

CURVES = REPO / "tests" / "fixtures" / "learning_curves.json"


def load(path: Path = CURVES) -> list[dict]:
    return json.loads(path.read_text())["curves"]


def group_of(c: dict) -> str:
    """Held out together: every setting of one dataset (its subsets, budgets and rates)."""
    return c["dataset"]


def search_of(c: dict) -> tuple:
    """One simulated search: one setting, budget and learning rate, all architectures."""
    return (c["setting"], c["epochs"], c["lr"])


def front_of(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray(points, dtype=float)
    return tuple(tuple(F[i]) for i in NonDominatedSorting().do(F, only_non_dominated_front=True))


def non_dominated(point: tuple[float, float], front) -> bool:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.asarray([*front, point], dtype=float)
    return len(F) - 1 in NonDominatedSorting().do(F, only_non_dominated_front=True)


def replay(curves: list[dict], band: HeadroomBand, min_epochs: int, quantile: float) -> dict:
    inside = total = 0
    for c in curves:
        y, T = c["curve"], c["epochs"]
        for k in range(min_epochs, T):
            p = band.predict(y[:k], T, quantile)
            inside += p.lower - 1e-12 <= y[-1] <= p.upper + 1e-12
            total += 1
    searches: dict[tuple, list[dict]] = defaultdict(list)
    for c in curves:
        searches[search_of(c)].append(c)
    stopped = false = saved = budget = 0
    for members in searches.values():
        for i, c in enumerate(members):
            others = [(1 - o["curve"][-1], o["params"]) for j, o in enumerate(members) if j != i]
            front = front_of(others)
            rule = StopRule(("error", "params"), front, min_epochs, quantile)
            y, T = c["curve"], c["epochs"]
            budget += T
            for k in range(1, T):
                stop, _ = check(
                    rule,
                    tuple(y[:k]),
                    T,
                    {"params": c["params"]},
                    chance=1 / c["classes"],
                    band=band,
                    val_samples=c["val_samples"],
                )
                if stop:
                    stopped += 1
                    saved += T - k
                    false += non_dominated((1 - y[-1], c["params"]), front)
                    break
    return {
        "curves": len(curves),
        "band_coverage": round(inside / max(1, total), 4),
        "checks": total,
        "stopped": stopped,
        "false_stops": false,
        "false_stop_rate": round(false / max(1, stopped), 4),
        "epochs_saved": round(saved / max(1, budget), 4),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-epochs", type=int, default=3)
    ap.add_argument("--quantile", type=float, default=0.99)
    ap.add_argument("--write-calibration", action="store_true")
    args = ap.parse_args(argv)
    curves = load()
    groups = sorted({group_of(c) for c in curves})
    totals = defaultdict(int)
    for g in groups:
        held = [c for c in curves if group_of(c) == g]
        band = HeadroomBand.fit(
            [c["curve"] for c in curves if group_of(c) != g], source=f"all but {g}"
        )
        out = replay(held, band, args.min_epochs, args.quantile)
        print(json.dumps({"held_out": g, **out}))
        inside = round(out["band_coverage"] * out["checks"])
        for k, v in (
            ("inside", inside),
            ("checks", out["checks"]),
            ("stopped", out["stopped"]),
            ("false", out["false_stops"]),
            ("curves", out["curves"]),
        ):
            totals[k] += v
        totals["saved"] += out["epochs_saved"] * sum(c["epochs"] for c in held)
        totals["budget"] += sum(c["epochs"] for c in held)
    summary = {
        "held_out": "every dataset (leave one out)",
        "curves": totals["curves"],
        "min_epochs": args.min_epochs,
        "quantile": args.quantile,
        "band_coverage": round(totals["inside"] / totals["checks"], 4),
        "false_stop_rate": round(totals["false"] / max(1, totals["stopped"]), 4),
        "stopped": totals["stopped"],
        "epochs_saved": round(totals["saved"] / totals["budget"], 4),
        "goals": {"band_coverage": ">= 0.95", "false_stop_rate": "<= 0.02"},
    }
    print(json.dumps(summary))
    if args.write_calibration:
        band = HeadroomBand.fit(
            [c["curve"] for c in curves],
            source=f"{len(curves)} recorded curves, {', '.join(groups)}",
        )
        DEFAULT_FILE.write_text(band.to_json() + "\n")
        print(f"wrote {DEFAULT_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
