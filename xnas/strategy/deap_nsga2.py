"""`deap-nsga2`: NSGA-II with DEAP's ``selNSGA2`` for survival and the space's operators.

DEAP fitness weights are -1 on every objective because the driver tells values in
minimisation form (max objectives already negated, in ``objectives.to_minimization``,
the one place direction lives). Infeasible individuals (failed or over budget)
get a penalty fitness worse than any feasible one, scaled by their violation.
Mating uses binary tournaments on (front rank, crowding distance) with the
strategy's own seeded Generator, so runs are deterministic given the seed. Any batch
told is merged with the parents and cut back to ``population`` by ``selNSGA2``, so a
steady-state run does (mu + 1) survival on each arrival.
"""

from __future__ import annotations

import numpy as np
from deap import base, creator, tools

from xnas.strategy.base import STRATEGIES, Strategy

PENALTY = 1e12


class _Individual:
    __slots__ = ("genome", "fitness", "rank")

    def __init__(self, genome, fitness) -> None:
        self.genome, self.fitness, self.rank = genome, fitness, 0


@STRATEGIES.register("deap-nsga2")
class DeapNSGA2(Strategy):
    def __init__(self, space, n_obj, n_constr, population, seed, **_) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        name = f"XnasFitnessMin{n_obj}"
        if not hasattr(creator, name):
            creator.create(name, base.Fitness, weights=(-1.0,) * n_obj)
        self.fitness_cls = getattr(creator, name)
        self.parents: list[_Individual] | None = None

    def _tournament(self) -> _Individual:
        i, j = self.rng.integers(len(self.parents), size=2)
        a, b = self.parents[i], self.parents[j]
        key_a = (a.rank, -a.fitness.crowding_dist)
        key_b = (b.rank, -b.fitness.crowding_dist)
        return a if key_a <= key_b else b

    def _ask(self, n):
        if self.initial() or not self.parents or len(self.parents) < 2:
            return self.samples(n)
        children = []
        while len(children) < n:
            c1, c2 = self.space.crossover(
                self._tournament().genome, self._tournament().genome, self.rng
            )
            children += [self.space.mutate(c1, self.rng), self.space.mutate(c2, self.rng)]
        return children[:n]

    def members(self):
        return [ind.genome for ind in self.parents or []]

    def tell(self, genomes, F, G) -> None:
        pool = {ind.genome: ind for ind in self.parents or []}
        for genome, f, g in zip(genomes, np.asarray(F), np.asarray(G), strict=True):
            violation = float(np.clip(g, 0, None).sum())
            values = tuple(f) if violation == 0 else (PENALTY * (1 + violation),) * self.n_obj
            pool.setdefault(tuple(genome), _Individual(tuple(genome), self.fitness_cls(values)))
        pool = list(pool.values())
        survivors = tools.selNSGA2(pool, min(self.population, len(pool)))
        for rank, front in enumerate(tools.sortNondominated(survivors, len(survivors))):
            for ind in front:
                ind.rank = rank
        self.parents = survivors
