"""What a tabular study costs per process: ``xnas search`` of 300 evaluations on the
NAS-Bench-201 table (NSGA-II, population 30 x 10 generations: 300 asked, about 290
distinct keys looked up; CIFAR-100 column), timed as a whole fresh process, imports
included. No network is ever built in such a search, so torch should never be imported
(``torch_imported`` says whether it was).

    python benchmarks/bench_tabular.py [--rounds 3] [--against OTHER_CHECKOUT]

``--against`` alternates this checkout with another (an older commit in a ``git
worktree``) in each round and prints the ratio other/this of the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
TABLE = SHARED / "nb201" / "nb201_200ep.csv"
SETTINGS = [
    "space.name=nb201",
    "search.population=30",
    "search.generations=10",
    "search.reuse_equivalent=false",  # 300 table lookups, none merged
    "objectives=[error, params]",
    "evaluator.name=tabular",
    f"evaluator.table={TABLE}",
    "evaluator.columns=[{objective: error, column: error_cifar100, scale: 0.01}]",
]
# run inside the timed process after the search: did anything import torch?
PROBE = "import sys; print('torch' in sys.modules)"


def one(checkout: str) -> tuple[float, bool, int]:
    """(wall seconds, torch imported, evaluations stored) of one search in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import sys, runpy; sys.argv = ['xnas', 'search', '--run-dir', sys.argv[1], "
            f"'{tmp}/c.yaml'] + [a for s in {SETTINGS!r} for a in ('--set', s)];\n"
            "try:\n    runpy.run_module('xnas', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"{PROBE}"
        )
        Path(tmp, "c.yaml").write_text("{}\n")
        env = {**os.environ, "PYTHONPATH": checkout, "OMP_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", code, f"{tmp}/run"],
            capture_output=True,
            text=True,
            env=env,
            cwd=checkout,
            check=True,
        )
        wall = time.perf_counter() - t0
        import sqlite3

        with sqlite3.connect(f"{tmp}/run/xnas.sqlite") as conn:
            stored = conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    return wall, done.stdout.strip().splitlines()[-1] == "True", stored


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--against", help="another xnas checkout, alternated with this one")
    args = ap.parse_args(argv)
    checkouts = {"this": str(REPO)}
    if args.against:
        checkouts = {"other": args.against, **checkouts}
    walls: dict[str, list[float]] = {name: [] for name in checkouts}
    for rnd in range(args.rounds):
        for name, path in checkouts.items():
            wall, torch_imported, stored = one(path)
            walls[name].append(wall)
            print(
                json.dumps(
                    {
                        "bench": "tabular_search",
                        "round": rnd,
                        "checkout": name,
                        "wall_s": round(wall, 2),
                        "torch_imported": torch_imported,
                        "evaluations": stored,
                    }
                ),
                flush=True,
            )
    summary = {name: round(statistics.median(w), 2) for name, w in walls.items()}
    if args.against:
        ratios = [o / t for o, t in zip(walls["other"], walls["this"], strict=True)]
        summary["median_ratio_other_over_this"] = round(statistics.median(ratios), 2)
    print(
        json.dumps({"bench": "tabular_search", "median_wall_s": summary, "rounds": args.rounds}),
        flush=True,
    )


if __name__ == "__main__":
    main()
