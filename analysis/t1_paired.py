"""T1 under results/PROTOCOL.md: the XNAS pair plus a random-search arm over paired seeds,
at equal trained budgets, with paired tests.

    python analysis/t1_paired.py results/paired-lines [results/paired-digits ...]

A study directory holds ``{so,mo,random}-seed<N>/``. The two NSGA-II arms of a seed share
their random generation 0 (reported per seed), so mo - so is a paired comparison: mean
difference with its 95% t interval, Cohen's d_z, the paired t-test, the Wilcoxon
signed-rank test (Pratt's treatment of zero differences: ties are common, errors being
multiples of 1/n) and the exact sign test over the non-zero differences. Random search
draws its own genomes (its sampler is not pymoo's), so a comparison with it is unpaired:
Welch's t-test and the Mann-Whitney U test, with Cohen's d. The rank tests' p values are
also given Holm-adjusted over the task's twelve tests.

Per seed, every arm is cut to the same number of *trained* evaluations (a training paid
for: a full-budget or a failed result that is not a reuse of an equivalent genome; a
reuse is free, and counted apart); an arm's values are computed over its results up to
its N-th training, in stored order. Errors are whole samples: thresholds compare with a
1e-9 tolerance.

Searches select on the validation split. With ``--retrain``, each run's networks on the
(error, introspection) front of its cut are retrained on train + validation and scored on
the held-out test split (``xnas retrain``: a fresh seed, the run's recipe, one training per
functional class), stored in the run. The held-out tables then read the quantities off the
networks the validation values chose: the test error of the validation-best-error network,
the test introspection of the validation-best-introspection one and of the one the
+0.01 rule picks, and the hypervolume of the whole front's test values.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy import stats

from xnas.report import open_run as _open_run
from xnas.report.tables import render
from xnas.space import get_space
from xnas.store import RunStore
from xnas.summary import full_budget, objective_rows

open_run = functools.lru_cache(maxsize=None)(_open_run)  # each store read once
ARMS = ("so", "mo", "random")
NAMES = {"so": "single-objective", "mo": "multi-objective", "random": "random search"}
COMPARISONS = (("mo", "so"), ("mo", "random"), ("so", "random"))
RUN = re.compile(r"(so|mo|random)-seed(\d+)$")
QUANTITIES = (
    "best error",
    "best introspection",
    "best introspection within +0.01 of the best error",
    "hypervolume (ref. error 1, introspection 0)",
)
NAMES_2D = ("error", "introspection")
TOLERANCE = 0.01
REFERENCE = np.array([1.0, 0.0])  # minimisation form: error 1, introspection 0


def trained(result) -> bool:
    """A training this run paid for: full budget or failed (a diverged or timed-out
    training cost its time too), not a copy of an equivalent's values."""
    return (full_budget(result) or result.status == "failed") and result.reused_from is None


def arms_of(study: Path) -> dict[int, dict[str, Path]]:
    """seed -> arm -> run directory, for seeds whose three arms all finished."""
    found: dict[int, dict[str, Path]] = defaultdict(dict)
    for store in sorted(study.glob("*/xnas.sqlite")):
        m = RUN.match(store.parent.name)
        if m:
            found[int(m.group(2))][m.group(1)] = store.parent
    out = {}
    for seed, arms in sorted(found.items()):
        if set(arms) == set(ARMS) and all(_finished(d) for d in arms.values()):
            out[seed] = arms
    return out


def _finished(run_dir: Path) -> bool:
    status = open_run(run_dir).status()
    return status["generations_done"] >= status["generations"]


def cut(results: list, n: int) -> list:
    """The results up to and including the ``n``-th training, in stored order."""
    count = 0
    for i, r in enumerate(results):
        count += trained(r)
        if count == n:
            return results[: i + 1]
    return list(results)


def _scored(results: list) -> list:
    return [
        r for r in results if full_budget(r) and {"error", "introspection"} <= set(r.objectives)
    ]


def chosen(results: list) -> dict[str, object]:
    """The networks the validation values choose for the three per-network quantities,
    taken from the (error, introspection) front (a tie in one value goes to the better
    other value, then to the first stored), so each is one the held-out split retrained."""
    ok = cut_front(results)
    best = min(ok, key=lambda r: r.objectives["error"])
    limit = best.objectives["error"] + TOLERANCE + 1e-9  # k/n errors as floats (6/500)
    return {
        QUANTITIES[0]: best,
        QUANTITIES[1]: max(ok, key=lambda r: r.objectives["introspection"]),
        QUANTITIES[2]: max(
            (r for r in ok if r.objectives["error"] <= limit),
            key=lambda r: r.objectives["introspection"],
        ),
    }


def hypervolume(values: list[dict[str, float]]) -> float:
    F = np.array([[v["error"], -v["introspection"]] for v in values])
    return float(HV(ref_point=REFERENCE)(F))


def values_of(results: list) -> dict[str, float]:
    picks = chosen(results)
    return {
        QUANTITIES[0]: picks[QUANTITIES[0]].objectives["error"],
        QUANTITIES[1]: picks[QUANTITIES[1]].objectives["introspection"],
        QUANTITIES[2]: picks[QUANTITIES[2]].objectives["introspection"],
        QUANTITIES[3]: hypervolume([r.objectives for r in _scored(results)]),
    }


def cut_front(results: list) -> list:
    """The full-budget (error, introspection) non-dominated results of a cut, stored order."""
    ok = _scored(results)
    F = objective_rows(ok, ["error", "introspection"], [])[0]
    return [ok[i] for i in sorted(NonDominatedSorting().do(F, only_non_dominated_front=True))]


@functools.cache  # each store's retrainings read once
def finals_of(run_dir: Path) -> dict[str, list]:
    """Functional class -> the run's ok retrainings of it on the final split, by repeat."""
    view = open_run(run_dir)
    space = get_space(view.cfg.space)
    with RunStore.open(run_dir) as store:
        finals = store.finals()
    out: dict[str, list] = defaultdict(list)
    for (key, _), result in sorted(finals.items(), key=lambda kv: kv[0][1]):
        if result.status == "ok":
            out[space.equivalence(view.get(key).genome)].append(result)
    return dict(out)


def retrained_repeats(run_dir: Path, results: list) -> int:
    """How many ok retrainings every network on the cut's front has (0: not retrained)."""
    space = get_space(open_run(run_dir).cfg.space)
    finals = finals_of(run_dir)
    return min(len(finals.get(space.equivalence(r.genome), [])) for r in cut_front(results))


def test_values(run_dir: Path, results: list, repeats: int) -> dict[str, float]:
    """The cut's quantities on the held-out test split, each network's value the mean of
    its first ``repeats`` retrainings: read off the networks the validation values chose
    (the hypervolume: the whole front's test values)."""
    space = get_space(open_run(run_dir).cfg.space)
    finals = finals_of(run_dir)
    test = {}
    for r in cut_front(results):
        runs = finals[space.equivalence(r.genome)][:repeats]
        test[r.key] = {n: float(np.mean([f.objectives[n] for f in runs])) for n in NAMES_2D}
    picks = chosen(results)
    return {
        QUANTITIES[0]: test[picks[QUANTITIES[0]].key]["error"],
        QUANTITIES[1]: test[picks[QUANTITIES[1]].key]["introspection"],
        QUANTITIES[2]: test[picks[QUANTITIES[2]].key]["introspection"],
        QUANTITIES[3]: hypervolume(list(test.values())),
    }


def cuts_of(arms: dict[str, Path]) -> tuple[dict[str, list], dict]:
    """Each arm's results cut to the seed's common trained budget, and the budget's record."""
    rows = {a: open_run(d).results for a, d in arms.items()}
    counts = {a: sum(trained(r) for r in rs) for a, rs in rows.items()}
    n = min(counts.values())
    cuts = {a: cut(rs, n) for a, rs in rows.items()}
    record = {
        "trained": n,
        "trained_before_cut": counts,
        "reuses": {a: sum(r.reused_from is not None for r in c) for a, c in cuts.items()},
    }
    return cuts, record


def retrain_study(study: Path, jobs: int = 1, repeats: int = 1) -> None:
    """Retrain every finished run's cut front on the final split (resumable)."""
    from concurrent.futures import ProcessPoolExecutor

    work = []
    for arms in arms_of(study).values():
        cuts, _ = cuts_of(arms)
        work += [(str(arms[a]), [r.key for r in cut_front(c)], repeats) for a, c in cuts.items()]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for run_dir, n in pool.map(_retrain_run, work):
            print(f"retrained {run_dir}: {n} networks on its front", file=sys.stderr)


def _retrain_run(job: tuple[str, list[str], int]) -> tuple[str, int]:
    from xnas.retrain import retrain

    run_dir, keys, repeats = job
    return run_dir, len(retrain(run_dir, keys, repeats=repeats))


def shared_generation0(arms: dict[str, Path]) -> str:
    """How many genomes of generation 0 the arms share: the two NSGA-II arms draw the
    same first generation; random search draws its own (its sampler is not pymoo's)."""
    first = {a: {r.key for g, _, r in open_run(d).rows if g == 0} for a, d in arms.items()}
    return (
        f"{len(first['so'] & first['mo'])} of {len(first['so'])} / "
        f"{len(first['so'] & first['random'])} of {len(first['random'])}"
    )


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment (family-wise error over the given tests)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [1.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def compare(a: np.ndarray, b: np.ndarray, paired: bool) -> dict:
    """One comparison's statistics (see the module docstring)."""
    n = len(a)
    if paired:
        d = a - b
        mean, sd = float(d.mean()), float(d.std(ddof=1))
        nonzero = int(np.count_nonzero(d))
        if sd > 0:
            half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
            ci = f"[{mean - half:+.4f}, {mean + half:+.4f}]"
            t_p = float(stats.ttest_rel(a, b).pvalue)
            rank_p = float(stats.wilcoxon(a, b, zero_method="pratt").pvalue)
            effect = mean / sd
        else:
            ci, t_p, rank_p, effect = "—", float("nan"), 1.0, float("nan")
        up, down = int((d > 0).sum()), int((d < 0).sum())
        sign_p = float(stats.binomtest(up, up + down).pvalue) if up + down else 1.0
        return dict(
            mean=mean,
            ci=ci,
            effect=effect,
            t_p=t_p,
            rank_p=rank_p,
            extra=f"{up} / {down} (sign p {sign_p:.3g}; {nonzero} non-zero)",
        )
    mean = float(a.mean() - b.mean())
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    welch = stats.ttest_ind(a, b, equal_var=False)
    if pooled > 0:
        low, high = welch.confidence_interval(0.95)
        ci = f"[{low:+.4f}, {high:+.4f}]"
        rank_p = float(stats.mannwhitneyu(a, b).pvalue)
    else:
        ci, rank_p = "—", 1.0
    return dict(
        mean=mean,
        ci=ci,
        effect=mean / pooled if pooled > 0 else float("nan"),
        t_p=float(welch.pvalue),
        rank_p=rank_p,
        extra="unpaired",
    )


def paired_rows(task: str, per_seed: list[dict[str, dict[str, float]]]) -> list[list]:
    tests = []
    for q in QUANTITIES:
        for a, b in COMPARISONS:
            x = np.array([s[a][q] for s in per_seed])
            y = np.array([s[b][q] for s in per_seed])
            tests.append((q, a, b, compare(x, y, paired="random" not in (a, b))))
    adjusted = holm([t["rank_p"] for *_, t in tests])
    return [
        [
            task,
            q,
            f"{a} − {b}",
            len(per_seed),
            f"{t['mean']:+.4f}",
            t["ci"],
            f"{t['effect']:+.2f}",
            f"{t['t_p']:.3g}",
            f"{t['rank_p']:.3g}",
            f"{h:.3g}",
            t["extra"],
        ]
        for (q, a, b, t), h in zip(tests, adjusted, strict=True)
    ]


HEADERS = [
    "task",
    "value",
    "difference",
    "seeds",
    "mean",
    "95% CI",
    "d_z (paired) or d",
    "t-test p",
    "rank test p",
    "rank p, Holm",
    "mo − so: higher / lower",
]


def means_rows(task: str, per_seed: list[dict[str, dict[str, float]]]) -> list[list]:
    means = []
    for a in ARMS:
        cells = []
        for q in QUANTITIES:
            v = np.array([s[a][q] for s in per_seed])
            cells.append(f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v[0]:.4f}")
        means.append([task, NAMES[a], len(per_seed), *cells])
    return means


def study_tables(study: Path, task: str) -> dict[str, list[list]] | None:
    """The tables' rows of one study (validation means and tests, budgets, and the
    held-out test split's means and tests over the seeds retrained), or None."""
    seeds = arms_of(study)
    if not seeds:
        return None
    per_seed, budgets, tested = [], [], []
    cut = {seed: cuts_of(arms) for seed, arms in seeds.items()}  # (cuts, record) per seed
    # the retrainings every front network of every arm and seed has
    repeats = min(
        retrained_repeats(arms[a], c)
        for seed, arms in seeds.items()
        for a, c in cut[seed][0].items()
    )
    for seed, arms in seeds.items():
        cuts, record = cut[seed]
        per_seed.append({a: values_of(c) for a, c in cuts.items()})
        budgets.append(
            [
                task,
                seed,
                record["trained"],
                " / ".join(str(record["trained_before_cut"][a]) for a in ARMS),
                " / ".join(str(record["reuses"][a]) for a in ARMS),
                shared_generation0(arms),
            ]
        )
        if repeats:
            tested.append({a: test_values(arms[a], c, repeats) for a, c in cuts.items()})
    return {
        "means": means_rows(task, per_seed),
        "paired": paired_rows(task, per_seed),
        "budgets": budgets,
        "test_means": means_rows(task, tested) if tested else [],
        "test_paired": paired_rows(task, tested) if len(tested) > 1 else [],
        "test_repeats": [[task, repeats]] if repeats else [],
    }


def text(studies: list[tuple[Path, str]]) -> str:
    got: dict[str, list[list]] = defaultdict(list)
    for study, task in studies:
        tables = study_tables(study, task)
        for name, rows in (tables or {}).items():
            got[name] += rows
    if not got["means"]:
        return ""
    retrained = {t for t, _ in got["test_repeats"]}
    missing = [task for _, task in studies if task not in retrained]
    not_yet = (
        f"Not retrained yet: {', '.join(missing)} "
        "(`python analysis/t1_paired.py --retrain results/paired-<task>`).\n"
        if missing
        else ""
    )
    held_out = "\n## On the held-out test split\n\n" + (
        "Each run's (error, introspection) front at its cut, retrained on train +\n"
        "validation with fresh seeds and scored on a test split no search saw\n"
        "(`xnas retrain`; lines: 500 freshly generated images; digits: 20% of every class\n"
        "held out before the search, `data.test_fraction`). A network's test value is the\n"
        "mean of its retrainings, each with its own seed ("
        + ", ".join(f"{t}: {r}" for t, r in got["test_repeats"])
        + " a network).\nA value is read off the network the *validation* values chose;\n"
        "the hypervolume is the front's test values'. Same tests as above.\n\n"
        + render(["task", "search", "seeds", *QUANTITIES], got["test_means"])
        + ("\n" + render(HEADERS, got["test_paired"]) if got["test_paired"] else "")
        + ("\n" + not_yet if not_yet else "")
        if got["test_means"]
        else not_yet
    )
    return (
        "# T1 (protocol): the XNAS pair and random search over paired seeds\n\n"
        "The protocol's re-run of T1 (`results/PROTOCOL.md`): per task, the single-objective\n"
        "(error only), multi-objective (error + introspectability) and random-search arms,\n"
        "population 32 x 4 generations, run with the same seeds. The two NSGA-II arms of a\n"
        "seed share their random generation 0 and random search runs under the same seed, so\n"
        "a seed is a block and every test is paired.\n"
        "Each seed's arms are cut to the same number of trained networks (reuses of an\n"
        "equivalent genome are free and counted apart). The first two tables are on the\n"
        "validation split the searches selected on; the held-out section below scores the\n"
        "selected networks, retrained, on a test split.\n\n"
        "## Means over seeds (± sample sd), validation split\n\n"
        + render(["task", "search", "seeds", *QUANTITIES], got["means"])
        + "\n## Differences between arms, validation split\n\n"
        "mo − so is paired (the two NSGA-II arms of a seed share generation 0): the mean\n"
        "difference with a 95% t interval, Cohen's d_z, the paired t-test, the Wilcoxon\n"
        "signed-rank test (Pratt's zero handling) and the exact sign test. A comparison with\n"
        "random search is unpaired (it draws its own genomes): Welch's t-test with its 95%\n"
        "interval, Cohen's d and the Mann-Whitney U test. The rank tests' p values are also\n"
        "Holm-adjusted over the task's twelve tests. All two-sided.\n\n"
        + render(HEADERS, got["paired"])
        + held_out
        + "\n## Budgets per seed\n\n"
        + render(
            [
                "task",
                "seed",
                "trained (each arm, after the cut)",
                "trained before the cut (so / mo / random)",
                "reuses in the cut (so / mo / random)",
                "shared generation 0",
            ],
            got["budgets"],
        )
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("studies", nargs="+", help="results/paired-<task> directories")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="first retrain every finished run's front on the held-out test split",
    )
    p.add_argument("--jobs", type=int, default=1, help="runs retrained at once (default 1)")
    p.add_argument("--repeats", type=int, default=1, help="retrainings per network (default 1)")
    args = p.parse_args(argv)
    studies = [(Path(s), Path(s).name.removeprefix("paired-")) for s in args.studies]
    if args.retrain:
        for study, _ in studies:
            retrain_study(study, args.jobs, args.repeats)
    sys.stdout.write(text(studies))


if __name__ == "__main__":
    main()
