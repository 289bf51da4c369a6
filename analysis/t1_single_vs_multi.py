"""T1: per task, XNAS's single- vs multi-objective search.

    python analysis/t1_single_vs_multi.py --pair lines runs/so runs/mo [--pair ...] [--format md]

For each run: error and introspectability of its best-error and its best-introspection
architecture (over every evaluation, introspection recorded in the single-objective run),
and the hypervolume of its (error, introspection) front against one reference point,
(error 1, introspection 0), so the two runs of a task compare directly.
"""

from __future__ import annotations

import argparse

import numpy as np
from pymoo.indicators.hv import HV

from xnas.run import objective_rows
from xnas.store import RunStore
from xnas.tables import render

NAMES = ["error", "introspection"]


def row(task: str, setting: str, run_dir: str) -> list:
    with RunStore.open(run_dir) as store:
        results = [r for *_, r in store.results()]
    ok = [r for r in results if r.status == "ok" and set(NAMES) <= set(r.objectives)]
    if not ok:
        raise SystemExit(f"{run_dir}: no finished evaluation with error and introspection")
    best_err = min(ok, key=lambda r: (r.objectives["error"], r.key))
    best_int = max(ok, key=lambda r: (r.objectives["introspection"], r.key))
    F = objective_rows(ok, NAMES, [])[0]
    hv = float(HV(ref_point=np.array([1.0, 0.0]))(F))
    return [
        task,
        setting,
        len(ok),
        best_err.objectives["error"],
        best_err.objectives["introspection"],
        best_int.objectives["error"],
        best_int.objectives["introspection"],
        hv,
    ]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pair", nargs=3, action="append", required=True, metavar=("TASK", "SO_RUN", "MO_RUN")
    )
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    args = p.parse_args(argv)
    headers = [
        "task",
        "search",
        "evaluations",
        "best-error: error",
        "best-error: introspection",
        "best-introspection: error",
        "best-introspection: introspection",
        "hypervolume (ref. error 1, introspection 0)",
    ]
    rows = []
    for task, so, mo in args.pair:
        rows += [row(task, "single-objective", so), row(task, "multi-objective", mo)]
    print(render(headers, rows, args.format), end="")


if __name__ == "__main__":
    main()
