"""F1: the (error, introspectability) fronts of each task, single- vs multi-objective.

    python analysis/f1_fronts.py --pair lines runs/so-s0 runs/mo-s0 \
        [--pair lines runs/so-s1 runs/mo-s1 ...] -o fronts.pdf

One panel per task; every seed's front is drawn as its own thin line, its marker naming its
seed (single-objective blue, multi-objective red), over all of that setting's scored
architectures (faint dots); the thick step line is each setting's median attainment
surface over its seeds (moocore's empirical attainment function at 50%: the points at
least half of the seeds' fronts reach).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting  # noqa: E402

from xnas.report import open_run  # noqa: E402
from xnas.summary import objective_rows  # noqa: E402

NAMES = ["error", "introspection"]
COLOURS = {"single-objective": "#1f77b4", "multi-objective": "#d62728"}
MARKERS = "os^Dv<>p"


def points(run_dir: str):
    """(every scored (error, introspection) point, the front's points by error)."""
    ok = [
        r for r in open_run(run_dir).results if r.status == "ok" and set(NAMES) <= set(r.objectives)
    ]
    F = objective_rows(ok, NAMES, [])[0]
    front = sorted(
        NonDominatedSorting().do(F, only_non_dominated_front=True),
        key=lambda i: (ok[i].objectives["error"], -ok[i].objectives["introspection"]),
    )
    every = [(r.objectives["error"], r.objectives["introspection"]) for r in ok]
    return every, [every[i] for i in front]


def median_attainment(fronts: list[list[tuple[float, float]]]) -> tuple[list, list]:
    """The 50% attainment surface of several (error, introspection) fronts, as the
    (errors, introspections) of a step line (moocore.eaf, in minimisation form)."""
    import moocore

    points = np.array([(e, -i) for front in fronts for e, i in front])
    sets = np.concatenate([np.full(len(f), k) for k, f in enumerate(fronts)])
    surface = moocore.eaf(points, sets, percentiles=[50])[:, :2]
    surface = surface[np.argsort(surface[:, 0])]
    return surface[:, 0].tolist(), (-surface[:, 1]).tolist()


def draw(pairs: list[tuple[str, str, str]], output: str) -> str:
    by_task: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for task, so, mo in pairs:
        by_task[task].append((so, mo))
    fig, axes = plt.subplots(1, len(by_task), figsize=(4.6 * len(by_task), 4), squeeze=False)
    for ax, (task, runs) in zip(axes.flat, by_task.items(), strict=True):
        drawn, fronts = [], []  # every (error, introspection) point; the fronts' errors
        medians: dict[str, list] = defaultdict(list)  # setting -> every seed's front
        for seed, (so, mo) in enumerate(runs):
            for run_dir, label in ((so, "single-objective"), (mo, "multi-objective")):
                every, front = points(run_dir)
                drawn += every
                fronts += [e for e, _ in front]
                colour = COLOURS[label]
                ax.scatter(*zip(*every, strict=True), s=5, color=colour, alpha=0.12, lw=0)
                ax.plot(
                    *zip(*front, strict=True),
                    marker=MARKERS[seed % len(MARKERS)],
                    ls="-",
                    color=colour,
                    ms=4,
                    lw=0.7,
                    alpha=0.6,
                )
                medians[label].append(front)
        for label, seed_fronts in medians.items():
            surface = median_attainment(seed_fronts)
            ax.step(
                *surface,
                where="post",
                color=COLOURS[label],
                lw=2.4,
                label=f"{label}: median attainment ({len(seed_fronts)} seeds)",
            )
        for seed in range(len(runs)):  # which marker is which seed
            ax.plot(
                [],
                [],
                marker=MARKERS[seed % len(MARKERS)],
                ls="-",
                color="#555555",
                ms=4,
                lw=0.7,
                label=f"seed {seed} front",
            )
        # the axes span the fronts and most points; chance-level cells (e.g. all-"none")
        # would squash the fronts into a corner, so the farthest 2% are counted, not drawn,
        # and the error axis starts near the best error, not at 0 (CIFAR-10's are all > 0.6)
        errors = [e for e, _ in drawn]
        low = min(errors)
        right = max(max(fronts) + 0.3 * (max(fronts) - low), float(np.quantile(errors, 0.98)))
        beyond = sum(e > right for e in errors)
        ax.set_xlim(low - 0.03 * (right - low), right)
        shown = [i for e, i in drawn if e <= right]
        pad = 0.05 * (max(shown) - min(shown)) or 0.01  # one point: still a visible range
        ax.set_ylim(min(shown) - pad, max(shown) + pad)
        title = f"{task} ({len(runs)} seed{'s' if len(runs) > 1 else ''})"
        ax.set_title(title + (f"\n{beyond} points beyond error {right:.2f}" if beyond else ""))
        ax.set_xlabel("error (1 - val. acc., measured)")
        ax.set_ylabel("introspectability (higher is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--pair", nargs=3, action="append", required=True, metavar=("TASK", "SO_RUN", "MO_RUN")
    )
    p.add_argument("-o", "--output", default="fronts.pdf")
    args = p.parse_args(argv)
    print(f"wrote {draw([tuple(x) for x in args.pair], args.output)}")


if __name__ == "__main__":
    main()
