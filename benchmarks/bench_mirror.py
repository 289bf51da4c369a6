"""What the dashboard's Optuna mirror costs per evaluation.

A tabular NB201 search (NSGA-II, population 40, CIFAR-100 column; no training, so the run
is made in seconds) is mirrored twice: once in full (every result a new trial), then,
after ``xnas resume --set search.generations=...`` adds generations, incrementally (only
the new results), as ``xnas dashboard`` does while a search runs. Prints one JSON line per
round: milliseconds per mirrored evaluation for both, and for comparison the search's own
seconds per evaluation. The mirror runs in the dashboard's process, never the search's.

    python benchmarks/bench_mirror.py [--rounds 3] [--generations 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLE = SHARED / "nb201" / "nb201_200ep.csv"


def settings(generations: int) -> dict:
    return {
        "space.name": "nb201",
        "search.population": 40,
        "search.generations": generations,
        "search.reuse_equivalent": False,
        "objectives": ["error", "params"],
        "evaluator.name": "tabular",
        "evaluator.table": str(TABLE),
        "evaluator.columns": [{"objective": "error", "column": "error_cifar100", "scale": 0.01}],
    }


def one(generations: int) -> dict:
    import xnas
    from xnas.report.optuna_mirror import sync

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp, "run")
        t0 = time.perf_counter()
        view = xnas.search(xnas.load_config(None, settings(generations)), run, progress=False)
        search_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, full = sync(view)
        full_s = time.perf_counter() - t0
        view = xnas.resume(run, budget={"search.generations": generations + 2}, progress=False)
        t0 = time.perf_counter()
        _, added = sync(view)
        inc_s = time.perf_counter() - t0
    return {
        "bench": "mirror",
        "evaluations": full,
        "full_ms_per_eval": round(1000 * full_s / full, 3),
        "added": added,
        "incremental_ms_per_eval": round(1000 * inc_s / max(added, 1), 3),
        "search_ms_per_eval": round(1000 * search_s / full, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--generations", type=int, default=10)
    args = ap.parse_args()
    for _ in range(args.rounds):
        print(json.dumps(one(args.generations)), flush=True)


if __name__ == "__main__":
    main()
