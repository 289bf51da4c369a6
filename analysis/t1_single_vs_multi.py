"""T1: per task, XNAS's single- vs multi-objective search, over seeds.

    python analysis/t1_single_vs_multi.py --pair lines runs/so-s0 runs/mo-s0 \
        --pair lines runs/so-s1 runs/mo-s1 [--pair ...] [--per-seed] [--format md]

For each run: error and introspectability of its best-error and its best-introspection
architecture (over every evaluation with both values, introspection recorded in the
single-objective run), the best introspectability within one point of error of the run's best
error (what a tolerable error cost buys), and the hypervolume of its (error, introspection)
points against one reference point, (error 1, introspection 0), so runs of a task compare
directly. A task
given several pairs (one per seed) is reported as mean +- sample standard deviation over
its seeds, with the number of seeds; ``--per-seed`` lists every run instead.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from pymoo.indicators.hv import HV

from xnas.report import open_run
from xnas.report.tables import render
from xnas.summary import objective_rows

NAMES = ["error", "introspection"]
REFERENCE = np.array([1.0, 0.0])  # minimisation form: error 1, introspection 0
VALUES = [
    "best-error: error",
    "best-error: introspection",
    "best-introspection: error",
    "best-introspection: introspection",
    "best introspection within +0.01 of the best error",
    "hypervolume (ref. error 1, introspection 0)",
]
TOLERANCE = 0.01  # "a tolerable error cost": one point of error above the run's best


def run_values(run_dir: str) -> dict:
    """T1's values of one run directory (plus its count of scored architectures)."""
    view = open_run(run_dir)
    ok = [r for r in view.results if r.status == "ok" and set(NAMES) <= set(r.objectives)]
    if not ok:
        raise SystemExit(f"{run_dir}: no finished evaluation with error and introspection")
    best_err = min(ok, key=lambda r: (r.objectives["error"], -r.objectives["introspection"], r.key))
    best_int = max(ok, key=lambda r: (r.objectives["introspection"], -r.objectives["error"], r.key))
    F = objective_rows(ok, NAMES, [])[0]
    # errors are whole-sample fractions (k / n) stored as floats: 6/500 is 0.01200000000000001,
    # so the comparison allows float rounding (1e-9 is far below one sample in any split)
    limit = best_err.objectives["error"] + TOLERANCE + 1e-9
    near = [r for r in ok if r.objectives["error"] <= limit]
    return {
        "evaluations": len(ok),
        "best-error: error": best_err.objectives["error"],
        "best-error: introspection": best_err.objectives["introspection"],
        "best-introspection: error": best_int.objectives["error"],
        "best-introspection: introspection": best_int.objectives["introspection"],
        "best introspection within +0.01 of the best error": max(
            r.objectives["introspection"] for r in near
        ),
        "hypervolume (ref. error 1, introspection 0)": float(HV(ref_point=REFERENCE)(F)),
    }


def mean_sd(values: list[float], digits: int = 4) -> str:
    """'mean +- sd' over seeds (sample sd; a single seed gives its value alone)."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def t1(pairs: list[tuple[str, str, str]], per_seed: bool = False) -> tuple[list[str], list[list]]:
    """(headers, rows) of T1 for ``pairs`` of (task, single-objective run, multi-objective run)."""
    by_task: dict[tuple[str, str], list[dict]] = defaultdict(list)
    order: list[str] = []
    for task, so, mo in pairs:
        if task not in order:
            order.append(task)
        by_task[task, "single-objective"].append({"run": so, **run_values(so)})
        by_task[task, "multi-objective"].append({"run": mo, **run_values(mo)})
    if per_seed:
        headers = ["task", "search", "run", "evaluations", *VALUES]
        rows = [
            [task, setting, v["run"], v["evaluations"], *(round(v[k], 6) for k in VALUES)]
            for task in order
            for setting in ("single-objective", "multi-objective")
            for v in by_task[task, setting]
        ]
        return headers, rows
    headers = ["task", "search", "seeds", "evaluations (mean)", *VALUES]
    rows = []
    for task in order:
        for setting in ("single-objective", "multi-objective"):
            runs = by_task[task, setting]
            rows.append(
                [
                    task,
                    setting,
                    len(runs),
                    round(float(np.mean([v["evaluations"] for v in runs])), 1),
                    *(mean_sd([v[k] for v in runs]) for k in VALUES),
                ]
            )
    return headers, rows


def paired(pairs: list[tuple[str, str, str]]) -> tuple[list[str], list[list]]:
    """The multi- minus single-objective difference per task, seed by seed (the two runs of a
    seed share their random generation 0, so they are pairs): mean difference, the paired
    t-test's two-sided p (scipy ``ttest_rel``), and how many seeds went each way. With n
    pairs an exact sign test cannot go below 2 / 2**n (0.25 for 3 seeds)."""
    from scipy.stats import ttest_rel

    values: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for task, so, mo in pairs:
        values[task].append((run_values(so), run_values(mo)))
    headers = [
        "task",
        "value",
        "pairs",
        "mean MO - SO",
        "paired t p",
        "MO higher / lower",
        "sign test floor",
    ]
    rows = []
    for task, runs in values.items():
        for k in (
            "best-introspection: introspection",
            "best introspection within +0.01 of the best error",
            "hypervolume (ref. error 1, introspection 0)",
        ):
            so = np.array([a[k] for a, _ in runs])
            mo = np.array([b[k] for _, b in runs])
            d = mo - so
            p = float(ttest_rel(mo, so).pvalue) if len(d) > 1 and d.std() > 0 else float("nan")
            rows.append(
                [
                    task,
                    k,
                    len(d),
                    round(float(d.mean()), 4),
                    round(p, 3),
                    f"{int((d > 0).sum())} / {int((d < 0).sum())}",
                    round(2 / 2 ** len(d), 3),
                ]
            )
    return headers, rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pair", nargs=3, action="append", required=True, metavar=("TASK", "SO_RUN", "MO_RUN")
    )
    p.add_argument("--per-seed", action="store_true", help="one row per run, not per task")
    p.add_argument("--format", choices=("md", "csv", "latex"), default="md")
    args = p.parse_args(argv)
    print(render(*t1([tuple(x) for x in args.pair], args.per_seed), args.format), end="")


if __name__ == "__main__":
    main()
