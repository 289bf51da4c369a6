"""Sample efficiency on the NAS-Bench-201 table: hypervolume ratio to the true front after
100 and 300 trainings, xnas's strategies (proxy-assisted or not) against pymoo's NSGA2 and
Optuna's NSGAIISampler, over paired seeds.

Problems: (test error, parameters) on CIFAR-100 and on ImageNet16-120, 200-epoch errors
from ``../shared/data/nb201/nb201_200ep.csv`` (percent, mapped to fractions).

**Every strategy is charged the same way: one training per distinct functional class**
(NATS-Bench's unique strings, ``space.equivalence``). A genome whose class was trained
before costs nothing and adds nothing: xnas reuses the class's result, and the anchors get
the same class cache (a revisit is answered from it, free), and every strategy runs until
it has trained N distinct classes. Only trained cells enter the hypervolume (a reuse's
stored error is its class's trained value, which the table's own noisy value for that
genome may not match). Screenings of a proxy-assisted search are counted separately
(``screened``): on a table they are lookups in the precomputed class table
``benchmarks/data/nb201_proxies.csv.gz`` (``bench_proxies.py table``: the proxy of the head
sized for that column's classes, computed on CIFAR-10 (JPEG) inputs); in a real search each
costs one forward/backward pass of the untrained network.

The hypervolume is taken on (error, params / max params) at two reference points, fixed
per problem and printed: ``wide`` (1.0, 1.05), the objectives' natural bounds, and
``tight``, the true front's nadir plus 10% of its range in each objective. A ratio is to
the hypervolume of the table's true front at the same reference. xnas strategies run
through the real driver (``run_search``, tabular evaluator, SQLite store).

    python benchmarks/bench_search.py [--budgets 100 300] [--seeds 20] [--only NAME ...]

One JSON line per (problem, strategy, budget): median/min/max ratio over seeds at each
reference; then per (problem, budget, strategy, opponent) a paired line: the seeds in which
the strategy's tight-reference hypervolume is higher, and the Wilcoxon signed-rank test of
the paired differences (scipy). Optuna needs ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("XNAS_SHARED_DATA", Path(__file__).parents[1] / "../shared/data"))
TABLE = SHARED / "nb201" / "nb201_200ep.csv"
PROBLEMS = {"cifar100": "error_cifar100", "imagenet16": "error_imagenet16"}
REF = np.array([1.0, 1.05])
PROXIES = Path(__file__).parent / "data" / "nb201_proxies.csv.gz"
POP = 20
# name -> (strategy, extra settings); the proxy-assisted runs screen with the ensemble
PROXY = ["search.proxy=proxy_ensemble"]
OURS = {
    "nsga2": ("nsga2", []),
    "nsga2+proxy": ("nsga2", [*PROXY, "search.proxy_warm_start=10", "search.proxy_filter=4"]),
    "nsga2+warm": ("nsga2", [*PROXY, "search.proxy_warm_start=10"]),
    "nsga2+filter": ("nsga2", [*PROXY, "search.proxy_filter=4"]),
    "surrogate-nsga2": ("surrogate-nsga2", []),
    "random": ("random", []),
}
ANCHORS = ("pymoo-nsga2", "optuna-nsga2")
DEFAULT = ("nsga2", "nsga2+proxy", "nsga2+warm", "nsga2+filter", "random", *ANCHORS)


def load(column: str):
    from xnas.config import SpaceConfig
    from xnas.evaluate.tabular import load_table

    rows = load_table(str(TABLE), "arch", SpaceConfig(name="nb201"))
    keys = list(rows)
    F = np.array([[rows[k][column] / 100, rows[k]["params"]] for k in keys])
    return {k: F[i] for i, k in enumerate(keys)}, F[:, 1].max()


def hv(points: np.ndarray, pmax: float, ref: np.ndarray = REF) -> float:
    """Hypervolume of (error, params) points on (error, params / pmax) axes."""
    from pymoo.indicators.hv import HV

    P = np.asarray(points, dtype=float).reshape(-1, 2) / [1.0, pmax]
    return float(HV(ref_point=ref)(P)) if len(P) else 0.0


def tight_reference(front: np.ndarray, pmax: float) -> np.ndarray:
    """The true front's nadir plus 10% of its range, on the normalised axes."""
    T = front / [1.0, pmax]
    lo, hi = T.min(axis=0), T.max(axis=0)
    return hi + 0.1 * (hi - lo)


def front_keys(values: dict[str, np.ndarray]) -> set[str]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    keys = list(values)
    F = np.array([values[k] for k in keys])
    return {keys[i] for i in NonDominatedSorting().do(F, only_non_dominated_front=True)}


def table_with_proxy(problem: str, folder: Path) -> Path:
    """The NB201 table with the problem's proxy column (proxy_ensemble) joined in."""
    import csv
    import gzip

    proxies = {}
    with gzip.open(PROXIES, "rt") as fh:
        for row in csv.DictReader(fh):
            proxies[row["arch"]] = row[f"proxy_ensemble_{problem}"]
    out = folder / f"nb201_{problem}_with_proxy.csv"
    with TABLE.open() as src, out.open("w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, [*reader.fieldnames, "proxy_ensemble"])
        writer.writeheader()
        for row in reader:
            writer.writerow({**row, "proxy_ensemble": proxies[row["arch"]]})
    return out


def run_ours(name: str, column: str, table: Path, seed: int, cap: int):
    """(key, stored (error, params), trained?) in stored order, through the real driver,
    until ``cap`` distinct classes are trained; and the number of screenings."""
    from xnas.config import load_config
    from xnas.driver import run_search
    from xnas.store import RunStore

    strategy, extra = OURS[name]
    seen: list = []
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "r"
        cfg = load_config(
            None,
            [
                "space.name=nb201",
                f"search.strategy={strategy}",
                f"search.population={POP}",
                f"search.generations={cap // POP + 1}",
                f"search.seed={seed}",
                "objectives=[error, params]",
                "evaluator.name=tabular",
                f"evaluator.table={table}",
                f"evaluator.columns=[{{objective: error, column: {column}, scale: 0.01}}]",
                *extra,
            ],
        )
        generations = cap // POP + 1
        run_search(cfg, run_dir)
        while True:  # extend the budget until cap classes are trained
            with RunStore.open(run_dir) as store:
                seen = [
                    (
                        r.key,
                        np.array([r.objectives["error"], r.objectives["params"]]),
                        not r.reused_from,
                    )
                    for *_, r in store.results()
                    if r.status != "failed"
                ]
                screened = len(store.screened())
            if sum(t for *_, t in seen) >= cap or generations > 50 * cap // POP:
                break
            generations += max(1, (cap - sum(t for *_, t in seen)) // POP + 1)
            run_search(None, run_dir, resume=True, budget=[f"search.generations={generations}"])
    return seen, screened


def _classes():
    from xnas.config import SpaceConfig
    from xnas.space import get_space

    space = get_space(SpaceConfig(name="nb201"))
    return space


class ClassCache:
    """What the anchors get too: a class seen before is answered from the cache, free."""

    def __init__(self, values) -> None:
        self.values, self.space = values, _classes()
        self.first: dict[str, np.ndarray] = {}
        self.seen: list = []

    def __call__(self, key: str) -> np.ndarray:
        cls = self.space.equivalence(self.space.parse(key))
        if cls in self.first:
            self.seen.append((key, self.first[cls], False))
            return self.first[cls]
        self.first[cls] = self.values[key]
        self.seen.append((key, self.values[key], True))
        return self.values[key]

    @property
    def trained(self) -> int:
        return len(self.first)


def run_pymoo(values, seed: int, cap: int):
    """pymoo's NSGA2 for discrete variables as its docs set it up (integer random sampling,
    SBX and PM with rounding repair, duplicates eliminated), through pymoo's own ask/tell,
    until ``cap`` distinct classes are trained."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.termination import get_termination

    cache = ClassCache(values)
    space = cache.space

    class Table(Problem):
        def __init__(self):
            super().__init__(n_var=6, n_obj=2, xl=0, xu=4, vtype=int)

        def _evaluate(self, X, out, *args, **kwargs):
            out["F"] = np.array([cache(space.canonical(tuple(int(v) for v in x))) for x in X])

    algorithm = NSGA2(
        pop_size=POP,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    problem = Table()
    algorithm.setup(problem, termination=get_termination("n_gen", 10**6), seed=seed)
    rounds = 0
    while cache.trained < cap and rounds < 200 * cap // POP:
        pop = algorithm.ask()
        Evaluator().eval(problem, pop)
        algorithm.tell(infills=pop)
        rounds += 1
    return cache.seen, 0


def run_optuna(values, seed: int, cap: int):
    import optuna

    from xnas.space.nb201 import NB201_OPS

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.NSGAIISampler(population_size=POP, seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    cache = ClassCache(values)

    def objective(trial):
        ops = [trial.suggest_categorical(f"e{i}", list(NB201_OPS)) for i in range(6)]
        key = f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"
        return tuple(cache(key))

    while cache.trained < cap and len(cache.seen) < 50 * cap:
        study.optimize(objective, n_trials=POP)
    return cache.seen, 0


def at_budget(seen, budget: int):
    """What was trained by the time ``budget`` trainings (distinct classes) were spent."""
    out, trained = {}, 0
    for key, f, is_training in seen:
        if is_training:
            if trained == budget:
                break
            trained += 1
            out.setdefault(key, f)
    return out, trained


def paired(a: list[float], b: list[float]) -> dict:
    """Seeds won, lost and tied by ``a`` over ``b`` and the Wilcoxon signed-rank test."""
    from scipy.stats import wilcoxon

    d = np.asarray(a) - np.asarray(b)
    out = {"wins": int((d > 0).sum()), "losses": int((d < 0).sum()), "ties": int((d == 0).sum())}
    out["median_difference"] = round(float(np.median(d)), 5)
    out["wilcoxon_p"] = (
        round(float(wilcoxon(d, zero_method="zsplit").pvalue), 5) if np.any(d != 0) else 1.0
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    args = parser.parse_args()
    strategies = args.only or list(DEFAULT)
    cap = max(args.budgets)
    for problem in args.problems:
        column = PROBLEMS[problem]
        values, pmax = load(column)
        true = front_keys(values)
        T = np.array([values[k] for k in true])
        refs = {"wide": REF, "tight": tight_reference(T, pmax)}
        true_hv = {name: hv(T, pmax, ref) for name, ref in refs.items()}
        references = {name: [round(r[0], 4), round(r[1] * pmax)] for name, r in refs.items()}
        print(json.dumps({"bench": "search", "problem": problem, "references": references}))
        ratios: dict[tuple[str, int], list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            proxied = any(name in OURS and OURS[name][1] for name in strategies)
            table = table_with_proxy(problem, Path(tmp)) if proxied else TABLE
            for name in strategies:
                per_budget: dict[int, list] = {b: [] for b in args.budgets}
                t0 = time.perf_counter()
                for seed in range(args.seeds):
                    if name == "pymoo-nsga2":
                        seen, screened = run_pymoo(values, seed, cap)
                    elif name == "optuna-nsga2":
                        seen, screened = run_optuna(values, seed, cap)
                    else:
                        seen, screened = run_ours(name, column, table, seed, cap)
                    for b in args.budgets:
                        found, trained = at_budget(seen, b)
                        F = np.array(list(found.values()))
                        r = {n: hv(F, pmax, ref) / true_hv[n] for n, ref in refs.items()}
                        per_budget[b].append((r, trained, screened))
                for b, rows in per_budget.items():
                    line = {
                        "bench": "search",
                        "problem": problem,
                        "strategy": name,
                        "budget": b,
                        "seeds": args.seeds,
                    }
                    for ref_name in refs:
                        prefix = "hv_ratio_wide" if ref_name == "wide" else "hv_ratio_tight"
                        values_ = [r[ref_name] for r, _, _ in rows]
                        line[f"{prefix}_median"] = round(statistics.median(values_), 4)
                        line[f"{prefix}_min"] = round(min(values_), 4)
                        line[f"{prefix}_max"] = round(max(values_), 4)
                    ratios[(name, b)] = [r["tight"] for r, _, _ in rows]
                    line |= {
                        "trainings": min(t for _, t, _ in rows),
                        "charged": "distinct functional classes trained",
                        # screenings of the whole run (to the largest budget), not cut
                        # at this budget
                        "screened_at_cap_median": statistics.median(s for *_, s in rows),
                        "references": references,
                        "wall_s": round(time.perf_counter() - t0, 1),
                    }
                    print(json.dumps(line), flush=True)
        for b in args.budgets:
            for name in strategies:
                for other in strategies:
                    if other == name or (name, b) not in ratios or (other, b) not in ratios:
                        continue
                    if name in ANCHORS or (other not in ANCHORS and other != "nsga2"):
                        continue
                    print(
                        json.dumps(
                            {
                                "bench": "search-paired",
                                "problem": problem,
                                "budget": b,
                                "strategy": name,
                                "opponent": other,
                                "reference": "tight",
                                "seeds": args.seeds,
                                **paired(ratios[(name, b)], ratios[(other, b)]),
                            }
                        ),
                        flush=True,
                    )


if __name__ == "__main__":
    main()
