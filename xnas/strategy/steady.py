"""Steady-state NSGA-II: survival on arrival instead of a barrier per generation.

Each finished evaluation is merged into the population at once and pymoo's
rank-and-crowding survival cuts it back to ``population``; each free worker gets an
offspring bred from the population as it is at that moment (binary tournament on
rank and crowding, the space's crossover and mutation). The first ``population``
genomes handed out are random samples. Which population an offspring is bred from
depends on the order evaluations finish, so on more than one evaluator rank a run
is not bit-for-bit reproducible; generational mode is.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from pymoo.algorithms.moo.nsga2 import binary_tournament
from pymoo.core.evaluator import Evaluator
from pymoo.core.population import Population
from pymoo.operators.selection.tournament import TournamentSelection
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
from pymoo.problems.static import StaticProblem

from xnas.space import Genome, SearchSpace
from xnas.strategy.nsga2 import integer_problem


class SteadyStateNSGA2:
    def __init__(
        self, space: SearchSpace, n_obj: int, n_constr: int, population: int, seed: int
    ) -> None:
        self.space, self.population, self.seed = space, population, seed
        self.problem = integer_problem(space, n_obj, n_constr)
        self.rng = np.random.default_rng(seed)
        self.pop = Population.empty()
        self.handed_out = 0
        self.lineage: dict[Genome, Genome] = {}  # child -> first parent
        self._survival = RankAndCrowding()
        self._selection = TournamentSelection(func_comp=binary_tournament)

    def next_genome(self) -> Genome:
        """A random sample for the first ``population`` genomes, then an offspring."""
        self.handed_out += 1
        if self.handed_out <= self.population or len(self.pop) < 2:
            return self.space.sample(self.rng)
        algorithm = SimpleNamespace(
            tournament_type="comp_by_dom_and_crowding", random_state=self.rng
        )
        ((a, b),) = self._selection.do(
            self.problem,
            self.pop,
            1,
            n_parents=2,
            to_pop=False,
            algorithm=algorithm,
            random_state=self.rng,
        )
        x = self.pop.get("X")
        child, _ = self.space.crossover(tuple(x[a]), tuple(x[b]), self.rng)
        child = self.space.repair(self.space.mutate(child, self.rng))
        self.lineage[child] = tuple(int(v) for v in x[a])
        return child

    def arrive(self, genome: Genome, f: np.ndarray, g: np.ndarray) -> None:
        """Merge one evaluated genome into the population (NSGA-II survival)."""
        g = np.asarray(g, dtype=float).reshape(1, -1)
        if g.shape[1] < self.problem.n_ieq_constr:
            g = np.hstack([g, np.zeros((1, self.problem.n_ieq_constr - g.shape[1]))])
        new = Population.new(X=np.array([genome], dtype=int))
        f = np.asarray(f, dtype=float).reshape(1, -1)
        Evaluator().eval(StaticProblem(self.problem, F=f, G=g), new)
        merged = Population.merge(self.pop, new)
        self.pop = self._survive(merged, min(len(merged), self.population))

    def _survive(self, merged: Population, n: int) -> Population:
        return self._survival.do(self.problem, merged, n_survive=n, random_state=self.rng)

    def reseed(self, done: int) -> None:
        """After replaying ``done`` stored arrivals on resume: a fresh, deterministic stream."""
        self.handed_out = done
        self.rng = np.random.default_rng([self.seed, done])

    def members(self) -> list[Genome]:
        return [tuple(int(v) for v in x) for x in self.pop.get("X")]


class SteadyStatePymoo(SteadyStateNSGA2):
    """Steady-state for any pymoo algorithm registered here (nsga3, spea2, smsemoa, ...):
    the algorithm's own survival on every arrival and its own mating (selection, the
    space's crossover and mutation, duplicate elimination) for each free worker.
    SMS-EMOA is a steady-state algorithm by design; NSGA-III and SPEA2 run their survival
    one arrival at a time. (``nsga2`` keeps ``SteadyStateNSGA2`` so that stored
    steady-state runs replay exactly.)"""

    def __init__(
        self,
        space: SearchSpace,
        n_obj: int,
        n_constr: int,
        population: int,
        seed: int,
        algorithm_name: str,
    ) -> None:
        from pymoo.termination.max_gen import MaximumGenerationTermination

        from xnas.strategy.nsga2 import make_algorithm, space_operators

        super().__init__(space, n_obj, n_constr, population, seed)
        self.algorithm = make_algorithm(algorithm_name, population, n_obj, space_operators(space))
        self.algorithm.setup(
            self.problem, termination=MaximumGenerationTermination(10**9), seed=seed
        )
        self.algorithm.random_state = self.rng  # one generator for breeding and survival

    def reseed(self, done: int) -> None:
        super().reseed(done)
        self.algorithm.random_state = self.rng

    def next_genome(self) -> Genome:
        self.handed_out += 1
        if self.handed_out <= self.population or len(self.pop) < 2:
            return self.space.sample(self.rng)
        self.algorithm.pop = self.pop
        off = self.algorithm.mating.do(
            self.problem, self.pop, 1, algorithm=self.algorithm, random_state=self.rng
        )
        if len(off) == 0:  # duplicate elimination found nothing new: sample instead
            return self.space.sample(self.rng)
        return self.space.repair(tuple(int(v) for v in off.get("X")[0]))

    def _survive(self, merged: Population, n: int) -> Population:
        return self.algorithm.survival.do(
            self.problem, merged, n_survive=n, algorithm=self.algorithm, random_state=self.rng
        )


def steady_state(
    name: str, space: SearchSpace, n_obj: int, n_constr: int, population: int, seed: int
) -> SteadyStateNSGA2:
    """The steady-state form of strategy ``name`` (see ``STEADY_STATE``)."""
    if name == "nsga2":
        return SteadyStateNSGA2(space, n_obj, n_constr, population, seed)
    return SteadyStatePymoo(space, n_obj, n_constr, population, seed, name)


STEADY_STATE = ("nsga2", "nsga3", "spea2", "smsemoa")
