"""Proxy-assisted search: rank genomes before training them.

``Screener`` gets the static values (the zero-cost proxy ``search.proxy`` and the run's
static objectives: params, FLOPs, latency, ...) of genomes that are not trained: screening
tasks (``EvalTask.screen``) go to the executor like evaluations, so they run on the ranks
in parallel; results are cached by functional class (a proxy is a property of the
function: ``space.equivalence``) and committed to the store's ``screened`` table, so a
resumed run re-scores nothing and decides exactly as before.

Two uses (``search.proxy_warm_start``, ``search.proxy_filter``):

- ``warm_start``: screen ``k x population`` seeded random genomes; generation 0 is NSGA-II's
  survival (non-dominated rank, then crowding: pymoo's ``RankAndCrowding``) on (proxy,
  static objectives), so it spreads over cost levels instead of taking the proxy's top.
- ``ProxyFilter``: each later generation the strategy is asked ``k x population``
  offspring; the trained results so far fit one ExtraTrees regressor per trained
  objective on (the space's genome features, the proxy); the population is chosen by the
  same survival on the candidates' predicted trained values and exact static values.
  The strategy is told only what was trained, as usual.

Everything is a function of the seed and of committed state (stored screenings and
results), so a resumed run asks what the uninterrupted one asked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from xnas.driver.checks import screen_names
from xnas.driver.policy import Search
from xnas.objectives import OBJECTIVES, to_minimization
from xnas.parallel import as_failure, call_task
from xnas.results import EvalResult
from xnas.space import Genome

log = logging.getLogger("xnas.driver")


class Screener:
    """Static values of untrained genomes, scored on the executor, cached by class."""

    def __init__(self, search: Search) -> None:
        self.search = search
        self.names = screen_names(search.cfg, list(search.names))
        store = search.state.store
        self.by_key: dict[str, EvalResult] = store.screened()
        self.by_class: dict[str, EvalResult] = {}
        for result in self.by_key.values():
            self.by_class.setdefault(self._class(result.genome, result.key), result)
        self.seconds = sum(float(r.timings.get("total", 0.0)) for r in self.by_key.values())

    def _class(self, genome: Genome, key: str) -> str:
        space = self.search.space
        return space.equivalence(genome) if self.search.cfg.search.reuse_equivalent else key

    def results(self, genomes: list[Genome]) -> list[EvalResult]:
        """One screening per genome (a class member shares its class's screening)."""
        s = self.search
        keys = [s.space.canonical(g) for g in genomes]
        todo: dict[str, tuple[Genome, str]] = {}
        for genome, key in zip(genomes, keys, strict=True):
            cls = self._class(genome, key)
            if key not in self.by_key and cls not in self.by_class and cls not in todo:
                todo[cls] = (genome, key)
        if todo:
            t0 = time.perf_counter()
            futures = {}
            for cls, (genome, key) in todo.items():
                task = replace(
                    s.tasks.build(genome, key), screen=True, objectives=tuple(self.names)
                )
                task = replace(
                    task, weights_to=None, donor_key=None, donor_weights=None, budgets=()
                )
                futures[cls] = (task, s.executor.submit(call_task, s.evaluate_fn, task, None))
            new = []
            for cls, (task, future) in futures.items():
                try:
                    result = future.result()
                except Exception as exc:  # lost in transport: a failed screening
                    result = as_failure(task, exc)
                if result.status == "failed":
                    log.warning("screening %s failed: %s", task.key, (result.error or "")[:200])
                self.by_class[cls] = self.by_key[task.key] = result
                new.append(result)
            s.state.store.add_screened(new)
            self.seconds += sum(float(r.timings.get("total", 0.0)) for r in new)
            log.info(
                "screened %d genomes on %s in %.1f s",
                len(new),
                ", ".join(self.names),
                time.perf_counter() - t0,
            )
        out = []
        for genome, key in zip(genomes, keys, strict=True):
            found = self.by_key.get(key) or self.by_class[self._class(genome, key)]
            out.append(found)
        return out

    def matrix(self, genomes: list[Genome]) -> np.ndarray:
        """Minimisation-form values of ``self.names`` (inf where a screening failed)."""
        rows = []
        for r in self.results(genomes):
            if r.status != "screened" or not all(n in r.objectives for n in self.names):
                rows.append([np.inf] * len(self.names))
            else:
                rows.append(to_minimization(r.objectives, self.names))
        return np.asarray(rows, dtype=float).reshape(len(genomes), len(self.names))


def survivors(F: np.ndarray, n: int, seed: int | list[int]) -> list[int]:
    """NSGA-II's survival (pymoo's RankAndCrowding) of ``n`` rows of ``F`` (minimised)."""
    from pymoo.core.population import Population
    from pymoo.core.problem import Problem
    from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

    F = np.where(np.isfinite(F), F, np.nanmax(np.where(np.isfinite(F), F, np.nan), axis=0) + 1)
    F = np.nan_to_num(F, nan=1e300)
    pop = Population.new(index=np.arange(len(F)), F=F)
    problem = Problem(n_var=1, n_obj=F.shape[1])
    kept = RankAndCrowding().do(
        problem, pop, n_survive=min(n, len(F)), random_state=np.random.default_rng(seed)
    )
    return sorted(int(i) for i in kept.get("index"))


def warm_start(search: Search, screener: Screener) -> list[Genome]:
    """Generation 0 of a warm-started run: NSGA-II's survivors among ``proxy_warm_start x
    population`` distinct random genomes, on (proxy, static objectives)."""
    cfg = search.cfg.search
    rng = np.random.default_rng([cfg.seed, 0x57A7])
    want = cfg.proxy_warm_start * cfg.population
    genomes, keys = [], set()
    for _ in range(100 * want):
        if len(genomes) == want:
            break
        g = search.space.sample(rng)
        key = search.space.canonical(g)
        if key not in keys:
            keys.add(key)
            genomes.append(g)
    F = screener.matrix(genomes)
    chosen = survivors(F, cfg.population, cfg.seed)
    return [genomes[i] for i in chosen]


class ProxyFilter:
    """Choose a generation's trainings among ``proxy_filter x population`` offspring."""

    def __init__(self, search: Search, screener: Screener) -> None:
        self.search, self.screener = search, screener
        self.factor = search.cfg.search.proxy_filter
        names = list(search.names)
        self.trained = [n for n in names if OBJECTIVES.get(n).stage == "trained"]
        self.static = [n for n in names if n not in self.trained]
        self._fitted: tuple[int, list] | None = None  # (rows fitted on, models)

    def choose(self, candidates: list[Genome], n: int, generation: int) -> list[Genome]:
        s = self.search
        keys = [s.space.canonical(g) for g in candidates]
        distinct = list({k: g for k, g in zip(keys, candidates, strict=True)}.values())
        if len(distinct) <= n:
            return distinct
        screened = self.screener.matrix(distinct)  # proxy first, then static objectives
        proxy = screened[:, :1]
        # trained results of earlier generations only: a replay sees what the run saw
        rows = [
            r
            for r in s.state.rows.values()
            if r.generation < generation
            and r.final
            and r.result.status in ("ok", "stopped")
            and not r.result.reused_from  # a class member's copy adds no information
        ]
        names = list(s.names)
        F = np.full((len(distinct), len(names)), np.nan)
        for name in self.static:  # known exactly from the screening
            if name in self.screener.names:
                F[:, names.index(name)] = screened[:, self.screener.names.index(name)]
        if len(rows) >= 4 and self.trained:
            X_new = self._features(distinct, proxy)
            for name, model in zip(self.trained, self._models(rows), strict=True):
                F[:, names.index(name)] = model.predict(X_new)
        else:  # too few trained results: the proxy stands in for every trained objective
            for name in self.trained:
                F[:, names.index(name)] = proxy[:, 0]
        F = np.where(np.isnan(F), np.inf, F)
        chosen = survivors(F, n, [s.cfg.search.seed, generation])
        return [distinct[i] for i in chosen]

    def _models(self, rows) -> list:
        """One ExtraTrees regressor per trained objective, fitted on ``rows`` (earlier
        generations' results, in stored order). The rows only grow, so their count names
        them: a generation whose genomes were all stored already (told at once, the next
        asked) reuses the same models instead of refitting identical ones."""
        if self._fitted is not None and self._fitted[0] == len(rows):
            return self._fitted[1]
        from sklearn.ensemble import ExtraTreesRegressor

        X = self._features([r.result.genome for r in rows], self._proxy_of(rows))
        names = list(self.search.names)
        models = []
        for name in self.trained:
            model = ExtraTreesRegressor(
                n_estimators=50, min_samples_leaf=2, random_state=self.search.cfg.search.seed
            )
            model.fit(X, np.array([r.F[names.index(name)] for r in rows]))
            models.append(model)
        self._fitted = (len(rows), models)
        return models

    def _proxy_of(self, rows) -> np.ndarray:
        """The proxy of trained genomes (minimisation form): their screening (made now for
        one that was never screened, e.g. a random generation 0)."""
        return self.screener.matrix([r.result.genome for r in rows])[:, :1]

    def _features(self, genomes: list[Genome], proxy: np.ndarray) -> np.ndarray:
        X = self.search.space.features(genomes)
        return np.hstack([X, np.nan_to_num(proxy, nan=0.0, posinf=1e30, neginf=-1e30)])
