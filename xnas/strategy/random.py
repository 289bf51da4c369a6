"""`random`: uniform random search (the baseline every NAS paper needs)."""

from __future__ import annotations

import numpy as np

from xnas.strategy.base import STRATEGIES, Strategy


@STRATEGIES.register("random")
class RandomStrategy(Strategy):
    def __init__(self, space, n_obj, n_constr, population, seed, **_) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        self.rng = np.random.default_rng(seed)

    def ask(self):
        return [self.space.sample(self.rng) for _ in range(self.population)]

    def tell(self, genomes, F, G) -> None:
        pass
