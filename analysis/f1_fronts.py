"""F1: the (error, introspectability) fronts of each task, single- vs multi-objective.

python analysis/f1_fronts.py --pair lines runs/so runs/mo [--pair ...] -o fronts.pdf
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting  # noqa: E402

from xnas.run import objective_rows  # noqa: E402
from xnas.store import RunStore  # noqa: E402

NAMES = ["error", "introspection"]


def points(run_dir: str):
    with RunStore.open(run_dir) as store:
        results = [r for *_, r in store.results()]
    ok = [r for r in results if r.status == "ok" and set(NAMES) <= set(r.objectives)]
    F = objective_rows(ok, NAMES, [])[0]
    front = sorted(
        NonDominatedSorting().do(F, only_non_dominated_front=True),
        key=lambda i: ok[i].objectives["error"],
    )
    every = [(r.objectives["error"], r.objectives["introspection"]) for r in ok]
    return every, [every[i] for i in front]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pair", nargs=3, action="append", required=True, metavar=("TASK", "SO_RUN", "MO_RUN")
    )
    p.add_argument("-o", "--output", default="fronts.pdf")
    args = p.parse_args(argv)
    fig, axes = plt.subplots(1, len(args.pair), figsize=(4.6 * len(args.pair), 4), squeeze=False)
    for ax, (task, so, mo) in zip(axes.flat, args.pair, strict=True):
        for run_dir, label, colour in (
            (so, "single-objective", "#1f77b4"),
            (mo, "multi-objective", "#d62728"),
        ):
            every, front = points(run_dir)
            ax.scatter(*zip(*every, strict=True), s=8, color=colour, alpha=0.25)
            ax.plot(*zip(*front, strict=True), "o-", color=colour, ms=4, label=f"{label} front")
        ax.set_title(task)
        ax.set_xlabel("error (1 - val. acc.)")
        ax.set_ylabel("introspectability (higher is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
