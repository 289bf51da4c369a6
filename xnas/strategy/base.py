"""The ask/tell contract every strategy follows.

``ask()`` returns genomes; ``tell(genomes, F, G)`` gives back their objective
vectors in minimisation form (``objectives.to_minimization``) and constraint
violations (``G <= 0`` feasible). Strategies are deterministic given their seed
and the told values, so a run is resumed by replaying the stored history
through ask/tell: no live object is ever pickled into a checkpoint.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from xnas.registry import Registry
from xnas.space import Genome, SearchSpace


class Strategy(ABC):
    def __init__(
        self, space: SearchSpace, n_obj: int, n_constr: int, population: int, seed: int
    ) -> None:
        self.space, self.n_obj, self.n_constr = space, n_obj, n_constr
        self.population, self.seed = population, seed
        self.lineage: dict[Genome, Genome] = {}  # child -> parent, where the strategy knows it

    @abstractmethod
    def ask(self) -> list[Genome]: ...

    @abstractmethod
    def tell(self, genomes: list[Genome], F: np.ndarray, G: np.ndarray) -> None: ...


StrategyFactory = Callable[[SearchSpace, int, int, int, int], Strategy]
STRATEGIES: Registry[StrategyFactory] = Registry("strategy")
