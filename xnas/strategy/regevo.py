"""`regevo` / `regevo-ws`: regularized (aging) evolution, Real et al., AAAI 2019.

A queue of the ``population`` most recent individuals; each child mutates the best
of ``sample_size`` random members, and the oldest member leaves when a child
enters. "Best" is multi-objective: a random member of the sample's first
non-dominated front (``regevo``), or XNAS's weighted-sum variant (``regevo-ws``):
the lowest sum of min-max-normalised minimisation objectives in the sample.
Infeasible members never win against feasible ones. Aging evolution is steady-state
by nature (each told genome enters the queue, the oldest leaves); generational mode
asks ``population`` children from the same queue at once.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from xnas.strategy.base import STRATEGIES, Strategy


class RegularizedEvolution(Strategy):
    weighted_sum = False
    keeps_lineage = True  # each child mutates one parent

    def __init__(self, space, n_obj, n_constr, population, seed, sample_size: int = 0, **_) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        self.sample_size = sample_size or max(2, population // 4)
        self.queue: deque = deque(maxlen=population)  # (genome, F row, violation)

    def _best(self, sample: list) -> tuple:
        feasible = [m for m in sample if m[2] == 0] or sample
        F = np.array([m[1] for m in feasible])
        if self.weighted_sum:
            span = np.where(np.ptp(F, axis=0) > 0, np.ptp(F, axis=0), 1.0)
            return feasible[int(np.argmin(((F - F.min(axis=0)) / span).sum(axis=1)))]
        front = NonDominatedSorting().do(F, only_non_dominated_front=True)
        return feasible[int(self.rng.choice(front))]

    def _ask(self, n):
        if self.initial() or not self.queue:
            return self.samples(n)
        children = []
        members = list(self.queue)
        for _ in range(n):
            idx = self.rng.choice(
                len(members), size=min(self.sample_size, len(members)), replace=False
            )
            parent = self._best([members[i] for i in idx])
            child = self.space.mutate(parent[0], self.rng)
            self.lineage[tuple(child)] = tuple(parent[0])
            children.append(child)
        return children

    def members(self):
        return [m[0] for m in self.queue]

    def tell(self, genomes, F, G) -> None:
        for genome, f, g in zip(genomes, np.asarray(F), np.asarray(G), strict=True):
            self.queue.append((tuple(genome), f, float(np.clip(g, 0, None).sum())))


@STRATEGIES.register("regevo")
class ParetoRegEvo(RegularizedEvolution):
    weighted_sum = False


@STRATEGIES.register("regevo-ws")
class WeightedSumRegEvo(RegularizedEvolution):
    weighted_sum = True
