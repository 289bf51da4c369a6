"""`random`: uniform random search (the baseline every NAS paper needs)."""

from __future__ import annotations

from collections import deque

from xnas.space import Genome
from xnas.strategy.base import STRATEGIES, Strategy


@STRATEGIES.register("random")
class RandomStrategy(Strategy):
    def __init__(self, space, n_obj, n_constr, population, seed, **_) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        self.recent: deque[Genome] = deque(maxlen=population)  # its "population": the latest

    def _ask(self, n):
        return self.samples(n)

    def tell(self, genomes, F, G) -> None:
        self.recent.extend(tuple(g) for g in genomes)

    def members(self):
        return list(self.recent)
