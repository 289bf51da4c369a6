"""How well does `surrogate-nsga2`'s predictor rank cells it has not seen?

On the NAS-Bench-201 table (200-epoch test error of CIFAR-100 and ImageNet16-120, the
same problems as ``bench_search.py``), two held-out checks of the strategy's own
predictor (``xnas.strategy.surrogate.predictor``, one-hot genes):

- ``source: search`` -- the results a real surrogate search stored (real driver, tabular
  evaluator) after 100 and 300 trainings, 5-fold cross-validated: Kendall's tau between
  each stored error and its prediction by a model fitted on the other folds. These are
  the genomes the search chose, so they crowd near the front: the harder, relevant case.
- ``source: uniform`` -- n cells drawn uniformly from the table, the model fitted on all
  of them and scored on 2,000 other cells.

Parameters are static (computed exactly from the genome), so they are never predicted:
their tau is 1 by construction and is printed as ``"exact"``.

    python benchmarks/bench_surrogate.py [--seeds 5] [--sizes 50 100 300]

One JSON line per (problem, source, size): median/min/max tau over seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_search import PROBLEMS, load, run_ours  # noqa: E402

from xnas.config import SpaceConfig  # noqa: E402
from xnas.space import get_space  # noqa: E402


def strategy_told(genomes, F):
    from xnas.config import SpaceConfig
    from xnas.space import get_space
    from xnas.strategy.surrogate import SurrogateNSGA2

    space = get_space(SpaceConfig(name="nb201"))
    s = SurrogateNSGA2(space, 2, 0, 20, 0)
    s.set_static(lambda gs: np.array([[np.nan, np.nan]] * len(gs)))  # both learned here
    s.tell(genomes, F, np.zeros((len(genomes), 0)))
    return s, space


def summary(taus: list[float]) -> dict:
    return {
        "tau_error_median": round(statistics.median(taus), 3),
        "tau_error_min": round(min(taus), 3),
        "tau_error_max": round(max(taus), 3),
    }


def main() -> None:
    from scipy.stats import kendalltau

    from xnas.strategy.surrogate import predictor

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 300])
    args = parser.parse_args()
    for problem, column in PROBLEMS.items():
        values, _ = load(column)
        keys = list(values)
        space = get_space(SpaceConfig(name="nb201"))
        genome_of = {k: space.parse_key(k) for k in keys}
        common = {"bench": "surrogate", "problem": problem, "tau_params": "exact"}
        # the stored results of real searches
        runs = {}
        for seed in range(args.seeds):
            seen = run_ours("surrogate-nsga2", column, seed, 3 * max(args.sizes))
            runs[seed] = [(k, f) for k, f, trained in seen if trained]
        for n in args.sizes:
            taus = []
            for seed in range(args.seeds):
                rows = runs[seed][:n]
                s, _ = strategy_told(
                    [genome_of[k] for k, _ in rows], np.array([f for _, f in rows])
                )
                taus.append(s.holdout_rank_correlation(folds=5, seed=seed)[0])
            print(json.dumps({**common, "source": "search", "trainings": n, **summary(taus)}))
        # uniform samples, scored on the rest of the table
        for n in args.sizes:
            taus = []
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                pick = rng.permutation(len(keys))
                train, test = pick[:n], pick[n : n + 2000]
                s, _ = strategy_told(
                    [genome_of[keys[i]] for i in train], np.array([values[keys[i]] for i in train])
                )
                model = predictor(seed).fit(s._features(s.X), np.array(s.F)[:, 0])
                pred = model.predict(s._features([genome_of[keys[i]] for i in test]))
                taus.append(float(kendalltau(pred, [values[keys[i]][0] for i in test]).statistic))
            print(json.dumps({**common, "source": "uniform", "trainings": n, **summary(taus)}))


if __name__ == "__main__":
    main()
