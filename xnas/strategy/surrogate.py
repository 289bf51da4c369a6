"""`surrogate-nsga2`: surrogate-assisted NSGA-II, in the spirit of NSGANetV2 / MSuNAS
(Lu et al., ECCV 2020): every ask after the random start fits one cheap predictor per
objective on everything told so far, runs NSGA-II on the predictors to propose many
candidates, and picks the batch by predicted hypervolume improvement.

- Features: ``space.features`` -- one-hot of every gene plus each cell's op counts
  (held-out Kendall tau of the NB201 error rises by about 0.1 with the counts).
- Predictor: scikit-learn's ``ExtraTreesRegressor``; the spread of its trees is the
  uncertainty. Exploitation scores candidates by the predicted mean; a share
  ``EXPLORE`` of each batch is scored optimistically (mean - ``KAPPA`` x spread):
  exploration where the predictor is unsure. (Optimism on the whole batch explored too
  much: on NB201 it trailed plain NSGA-II; bench_search.py.)
- Static objectives (parameters, FLOPs: known without training) are computed exactly by
  ``static`` when the driver supplies it (``set_static``), never predicted.
- Batch: greedy on predicted hypervolume improvement over the told front (pymoo's ``HV``,
  reference just past the worst told values), each pick added to the front before the
  next; when nothing improves, random unexplored candidates fill the batch.
- Deterministic given seed and told values (the trees and the inner NSGA-II draw their
  seeds from ``self.rng``), so it resumes by replay like every strategy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xnas.space import Genome
from xnas.strategy.base import STRATEGIES, Strategy

KAPPA = 1.0  # optimism: predicted mean minus KAPPA tree-spreads
EXPLORE = 0.25  # share of each batch picked on the optimistic values
INNER_POP, INNER_GENS = 48, 10  # NSGA-II on the predictors
SHORTLIST = 200  # candidates scored for hypervolume improvement


def predictor(seed: int):
    """One objective's model: extremely randomised trees, whose spread across trees is
    the uncertainty the selection uses."""
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(
        n_estimators=32, min_samples_leaf=1, max_features=0.5, random_state=seed, n_jobs=1
    )


@STRATEGIES.register("surrogate-nsga2")
class SurrogateNSGA2(Strategy):
    def __init__(self, space, n_obj, n_constr, population, seed, **_) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        self.X: list[Genome] = []
        self.F: list[np.ndarray] = []
        self.ok: list[bool] = []  # feasible (no failure, within budgets)
        self.static: Callable[[list[Genome]], np.ndarray] | None = None

    def set_static(self, fn: Callable[[list[Genome]], np.ndarray]) -> None:
        """``fn(genomes)`` -> (n, n_obj) minimisation-form values of the objectives known
        without training, NaN in the others (which are then predicted)."""
        self.static = fn

    def members(self) -> list[Genome]:
        front = self._front_index()
        return [self.X[i] for i in front][: self.population]

    def tell(self, genomes, F, G) -> None:
        G = np.asarray(G, dtype=float).reshape(len(genomes), -1)
        for genome, f, g in zip(genomes, np.asarray(F, dtype=float), G, strict=True):
            self.X.append(tuple(int(v) for v in genome))
            self.F.append(f)
            self.ok.append(bool((g <= 0).all()))

    # ----------------------------------------------------------------- asking
    def _ask(self, n: int) -> list[Genome]:
        if self.initial() or sum(self.ok) < max(4, self.n_obj + 2):
            return self.samples(n)
        models = self.fit()
        candidates = self._propose(models)
        if not candidates:
            return self.samples(n)
        return self._select(candidates, models, n)

    def _features(self, genomes) -> np.ndarray:
        return self.space.features(genomes)

    def fit(self) -> list:
        """One predictor per objective on the feasible results told so far (None where the
        objective is static: computed exactly)."""
        ok = np.array(self.ok)
        X = self._features([x for x, good in zip(self.X, ok, strict=True) if good])
        F = np.array(self.F)[ok]
        known = self._static(self.X[:1])[0]
        models = []
        for j in range(self.n_obj):
            if not np.isnan(known[j]):
                models.append(None)  # computed exactly
                continue
            models.append(predictor(int(self.rng.integers(2**31))).fit(X, F[:, j]))
        return models

    def holdout_rank_correlation(self, folds: int = 5, seed: int = 0) -> list[float | None]:
        """Kendall's tau, per objective, between each told (feasible) value and the
        predictor's value for it when fitted on the other folds: how well the surrogate
        ranks genomes it has not seen. ``None`` for objectives computed exactly."""
        from scipy.stats import kendalltau
        from sklearn.model_selection import KFold, cross_val_predict

        ok = np.array(self.ok)
        X = self._features([x for x, good in zip(self.X, ok, strict=True) if good])
        F = np.array(self.F)[ok]
        if len(X) < 2 * folds:
            raise ValueError(f"{len(X)} feasible results: need at least {2 * folds}")
        known = self._static(self.X[:1])[0]
        split = KFold(folds, shuffle=True, random_state=seed)
        out: list[float | None] = []
        for j in range(self.n_obj):
            if not np.isnan(known[j]):
                out.append(None)
                continue
            held_out = cross_val_predict(predictor(seed), X, F[:, j], cv=split)
            out.append(float(kendalltau(held_out, F[:, j]).statistic))
        return out

    def _static(self, genomes) -> np.ndarray:
        if self.static is None:
            return np.full((len(genomes), self.n_obj), np.nan)
        return np.asarray(self.static(list(genomes)), dtype=float)

    def predict(self, genomes, models) -> tuple[np.ndarray, np.ndarray]:
        """(optimistic values, means) for ``genomes``, exact where static."""
        values = self._static(genomes)
        means = values.copy()
        feats = self._features(genomes)
        for j, model in enumerate(models):
            if model is None:
                continue
            per_tree = np.stack([t.predict(feats) for t in model.estimators_])
            means[:, j] = per_tree.mean(axis=0)
            values[:, j] = means[:, j] - KAPPA * per_tree.std(axis=0)
        return values, means

    def _propose(self, models) -> list[Genome]:
        """Genomes NSGA-II finds on the predictors, started from the told front plus random
        samples; every genome it visits is a candidate (told keys excluded)."""
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.population import Population
        from pymoo.core.problem import Problem
        from pymoo.optimize import minimize

        from xnas.strategy.nsga2 import space_operators

        strategy, space = self, self.space
        seen: dict[str, Genome] = {}

        class Predicted(Problem):
            def __init__(self):
                super().__init__(
                    n_var=space.n_var,
                    n_obj=strategy.n_obj,
                    xl=space.lower,
                    xu=space.upper,
                    vtype=int,
                )

            def _evaluate(self, X, out, *args, **kwargs):
                genomes = [space.repair(x) for x in X]
                for g in genomes:
                    seen.setdefault(space.canonical(g), g)
                out["F"] = strategy.predict(genomes, models)[1]  # the means

        told = {space.canonical(x) for x in self.X}
        front = [self.X[i] for i in self._front_index()]
        start = front[:INNER_POP] + self.samples(max(0, INNER_POP - len(front)))
        ops = space_operators(space)
        ops["sampling"] = Population.new(X=np.array(start, dtype=int))
        minimize(
            Predicted(),
            NSGA2(pop_size=INNER_POP, **ops),
            ("n_gen", INNER_GENS),
            seed=int(self.rng.integers(2**31)),
            verbose=False,
        )
        return [g for k, g in seen.items() if k not in told]

    def _front_index(self) -> list[int]:
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        idx = [i for i, good in enumerate(self.ok) if good]
        if not idx:
            return []
        F = np.array([self.F[i] for i in idx])
        return [idx[i] for i in NonDominatedSorting().do(F, only_non_dominated_front=True)]

    def _select(self, candidates: list[Genome], models, n: int) -> list[Genome]:
        """Greedy predicted-hypervolume improvement: most of the batch on the predicted
        means (exploit), the last ``EXPLORE`` share on the optimistic values (explore
        where the trees disagree), random unexplored candidates if nothing improves."""
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        optimistic, means = self.predict(candidates, models)
        told = np.array([f for f, good in zip(self.F, self.ok, strict=True) if good])
        lo = np.minimum(told.min(axis=0), optimistic.min(axis=0))
        span = np.maximum(told.max(axis=0) - lo, 1e-12)
        front = (told[NonDominatedSorting().do(told, only_non_dominated_front=True)] - lo) / span
        # shortlist: the first few predicted fronts of the candidates
        order = np.concatenate(NonDominatedSorting().do(means, n_stop_if_ranked=SHORTLIST))
        short = [int(i) for i in order[:SHORTLIST]]
        explore = int(n * EXPLORE)
        picked: list[int] = []
        for values, quota in (((means - lo) / span, n - explore), ((optimistic - lo) / span, n)):
            front = self._greedy(values, short, picked, front, quota)
        shortlisted = set(short)
        rest = [i for i in short if i not in picked] + [
            i for i in range(len(candidates)) if i not in shortlisted
        ]
        while len(picked) < n and rest:  # nothing improves: explore the rest at random
            picked.append(rest.pop(int(self.rng.integers(len(rest)))))
        return [candidates[i] for i in picked]

    def _greedy(self, values, short, picked: list[int], front, quota: int) -> np.ndarray:
        """Add to ``picked`` (up to ``quota`` in all) the shortlisted candidate whose
        normalised ``values`` most improve the hypervolume of ``front``, one at a time."""
        from pymoo.indicators.hv import HV

        hv = HV(ref_point=np.full(self.n_obj, 1.1))  # the told worst is 1
        base = hv(front)
        while len(picked) < quota:
            best, gain = None, 0.0
            for i in short:
                if i in picked:
                    continue
                g = hv(np.vstack([front, values[i : i + 1]])) - base
                if g > gain:
                    best, gain = i, g
            if best is None:
                break
            picked.append(best)
            front = np.vstack([front, values[best : best + 1]])
            base += gain
        return front
