"""The ask/tell contract every strategy follows.

``ask(n)`` returns up to ``n`` genomes to evaluate next; ``tell(genomes, F, G)`` gives
back any batch of evaluated genomes (asked or not, in any grouping) with their
objective vectors in minimisation form (``objectives.to_minimization``) and constraint
violations (``G <= 0`` feasible). The driver's barrier policy decides the batch sizes:
generational asks ``population`` and tells them together, steady-state asks one per
free worker and tells each on arrival. So every strategy runs in both modes.

Strategies are deterministic given their seed and the told values, so a run is
resumed by replaying the stored history through ask/tell: no live object is ever
pickled into a checkpoint. Every strategy draws from one generator, ``self.rng``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from xnas.registry import Registry
from xnas.space import Genome, SearchSpace


class Strategy(ABC):
    # whether ``lineage`` records each asked child's parent (``cost.donor: parent`` needs it)
    keeps_lineage = False

    def __init__(
        self, space: SearchSpace, n_obj: int, n_constr: int, population: int, seed: int
    ) -> None:
        self.space, self.n_obj, self.n_constr = space, n_obj, n_constr
        self.population, self.seed = population, seed
        self.rng = np.random.default_rng(seed)
        self.handed_out = 0  # genomes asked so far (the first ``population`` are samples)
        self.lineage: dict[Genome, Genome] = {}  # child -> parent, where the strategy knows it
        self.seeded: list[Genome] = []  # a warm start's genomes, handed out first

    def warm_start(self, genomes: list[Genome]) -> None:
        """Start from these genomes instead of random samples (a proxy-assisted search's
        screened selection): the initial population's first asks return them."""
        self.seeded = list(genomes)

    def ask(self, n: int) -> list[Genome]:
        """Up to ``n`` genomes (fewer only where the strategy cannot make more new ones)."""
        if n < 1:
            raise ValueError(f"ask(n): expected n >= 1, got {n}")
        genomes: list[Genome] = []
        if self.seeded and self.initial():
            genomes, self.seeded = self.seeded[:n], self.seeded[n:]
            self.handed_out += len(genomes)
            if len(genomes) == n:
                return genomes
        more = self._ask(n - len(genomes))
        self.handed_out += len(more)
        return genomes + more

    def initial(self) -> bool:
        """Still handing out the random initial population."""
        return self.handed_out < self.population

    def samples(self, n: int) -> list[Genome]:
        return [self.space.sample(self.rng) for _ in range(n)]

    def reseed(self, salt: int) -> None:
        """After a steady-state resume has told the ``salt`` stored arrivals (without the
        asks that produced them, some of which were lost in flight): a fresh generator
        and count, deterministic given the seed and the stored history."""
        self.handed_out = salt
        self.rng = np.random.default_rng([self.seed, salt])

    @abstractmethod
    def members(self) -> list[Genome]:
        """The population the strategy keeps now (stored with each steady-state generation)."""

    @abstractmethod
    def _ask(self, n: int) -> list[Genome]: ...

    @abstractmethod
    def tell(self, genomes: list[Genome], F: np.ndarray, G: np.ndarray) -> None: ...


StrategyFactory = Callable[[SearchSpace, int, int, int, int], Strategy]
STRATEGIES: Registry[StrategyFactory] = Registry("strategy")
