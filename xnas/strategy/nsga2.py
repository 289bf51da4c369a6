"""pymoo algorithms behind the ask/tell contract (pymoo pinned in pyproject.toml).

``nsga2`` (the default), ``nsga3`` (Das-Dennis reference directions), ``spea2``
and ``smsemoa`` all run through pymoo's own ask/tell with integer-native
sampling, crossover and mutation supplied by the search space; pymoo's
duplicate elimination compares normalised genomes, so no two offspring share a key.
"""

from __future__ import annotations

import copy

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.evaluator import Evaluator
from pymoo.core.mutation import Mutation
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.problems.static import StaticProblem
from pymoo.termination.max_gen import MaximumGenerationTermination

from xnas.space import Genome, SearchSpace
from xnas.strategy.base import STRATEGIES, Strategy


class SpaceSampling(Sampling):
    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        return np.array([self.space.sample(random_state) for _ in range(n_samples)], dtype=int)


class SpaceCrossover(Crossover):
    def __init__(self, space: SearchSpace) -> None:
        super().__init__(n_parents=2, n_offsprings=2)
        self.space = space

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        out = np.empty_like(X)
        for k in range(X.shape[1]):
            a, b = self.space.crossover(tuple(X[0, k]), tuple(X[1, k]), random_state)
            out[0, k], out[1, k] = a, b
        return out


class SpaceMutation(Mutation):
    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        return np.array([self.space.mutate(tuple(x), random_state) for x in X], dtype=int)


def integer_problem(space: SearchSpace, n_obj: int, n_constr: int) -> Problem:
    """The search as pymoo sees it: the space's integer bounds, at least one constraint."""
    return Problem(
        n_var=space.n_var,
        n_obj=n_obj,
        n_ieq_constr=max(1, n_constr),
        xl=space.lower,
        xu=space.upper,
        vtype=int,
    )


def space_operators(space: SearchSpace) -> dict:
    return {
        "sampling": SpaceSampling(space),
        "crossover": SpaceCrossover(space),
        "mutation": SpaceMutation(space),
        "eliminate_duplicates": True,
    }


def make_algorithm(name: str, population: int, n_obj: int, operators: dict):
    if name == "nsga2":
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

        return NSGA2(pop_size=population, survival=RankAndCrowding(), **operators)
    if name == "nsga3":
        from pymoo.algorithms.moo.nsga3 import NSGA3
        from pymoo.util.ref_dirs import get_reference_directions

        partitions = max(1, {2: population - 1, 3: 6, 4: 4}.get(n_obj, 3))
        ref = get_reference_directions("das-dennis", n_obj, n_partitions=partitions)
        return NSGA3(ref_dirs=ref, pop_size=population, **operators)
    # pymoo's NSGA2, SPEA2 and SMS-EMOA take their survival as a default argument: one
    # object shared by every instance in the process, and SPEA2's keeps normalisation
    # state, so one run would change the next. Each algorithm gets its own.
    if name == "spea2":
        from pymoo.algorithms.moo.spea2 import SPEA2, SPEA2Survival

        return SPEA2(pop_size=population, survival=SPEA2Survival(normalize=True), **operators)
    if name == "smsemoa":
        from pymoo.algorithms.moo.sms import SMSEMOA, LeastHypervolumeContributionSurvival

        return SMSEMOA(
            pop_size=population, survival=LeastHypervolumeContributionSurvival(), **operators
        )
    raise ValueError(f"no pymoo algorithm {name!r}")


class PymooStrategy(Strategy):
    """A pymoo algorithm behind ask(n)/tell on a fixed-size problem.

    Asks of ``population`` told as one batch are exactly pymoo's own generation: the
    algorithm's initialization, then its mating on the survivors (``_infill``'s call), and
    ``Algorithm.tell`` merging and cutting back with the algorithm's survival. Any other
    batch size uses the same calls with another ``n``: in steady-state each arrival is
    merged and survived at once (SMS-EMOA is steady-state by design; NSGA-II, NSGA-III
    and SPEA2 run their survival one arrival at a time), and each free worker gets an
    offspring of the survivors as they are at that moment.
    """

    algorithm_name = "nsga2"

    def __init__(
        self, space, n_obj, n_constr, population, seed, *, problem=None, operators=None
    ) -> None:
        super().__init__(space, n_obj, n_constr, population, seed)
        self.problem = problem or integer_problem(space, n_obj, n_constr)
        ops = operators if operators is not None else space_operators(space)
        self.algorithm = make_algorithm(self.algorithm_name, population, n_obj, ops)
        self.algorithm.setup(
            self.problem, termination=MaximumGenerationTermination(10**9), seed=seed, verbose=False
        )
        self.rng = self.algorithm.random_state  # one generator for sampling, mating, survival

    def reseed(self, salt: int) -> None:
        super().reseed(salt)
        self.algorithm.random_state = self.rng

    def _ask(self, n: int) -> list[Genome]:
        alg = self.algorithm
        if self.initial() or not alg.is_initialized or len(alg.pop) < 2:
            off = alg.initialization.do(self.problem, n, algorithm=alg, random_state=self.rng)
        else:
            off = alg.mating.do(self.problem, alg.pop, n, algorithm=alg, random_state=self.rng)
            if len(off) == 0:  # duplicate elimination found nothing new: sample instead
                return self.samples(n)
        X = off.get("X")
        if self.space is None:
            return [tuple(x) for x in X]
        return [self.space.repair(x) for x in X]

    def tell(self, genomes, F, G) -> None:
        n_g = self.problem.n_ieq_constr
        G = np.asarray(G, dtype=float).reshape(len(genomes), -1)
        if G.shape[1] < n_g:  # an unconstrained search still gives pymoo its one column
            G = np.hstack([G, np.zeros((len(genomes), n_g - G.shape[1]))])
        pop = Population.new(X=np.array([list(g) for g in genomes]))
        Evaluator().eval(StaticProblem(self.problem, F=np.asarray(F, dtype=float), G=G), pop)
        self.algorithm.tell(infills=pop)

    def members(self) -> list[Genome]:
        """The current survivors."""
        pop = self.algorithm.pop
        return [] if pop is None else [tuple(x) for x in pop.get("X").tolist()]


for _name in ("nsga2", "nsga3", "spea2", "smsemoa"):
    STRATEGIES.register(_name)(
        type(f"{_name.upper()}Strategy", (PymooStrategy,), {"algorithm_name": _name})
    )


def widened(problem: Problem) -> Problem:
    """The problem with each integer owning a unit interval: bounds moved out by just under
    0.5, as pymoo 0.4's ``apply_float_operation`` did for XNAS, so rounding the float
    operators' output gives every integer, the end values included, the same share."""
    out = copy.copy(problem)
    out.xl = np.asarray(problem.xl, dtype=float) - (0.5 - 1e-9)
    out.xu = np.asarray(problem.xu, dtype=float) + (0.5 - 1e-9)
    return out


class IntegerSBX(SBX):
    """SBX on the widened float interval, rounded (XNAS's ``int_sbx`` under pymoo 0.4)."""

    def _do(self, problem, X, *args, **kwargs):
        Q = super()._do(widened(problem), X.astype(float), *args, **kwargs)
        return np.round(Q).astype(int)


class IntegerPM(PM):
    """Polynomial mutation on the widened float interval, rounded (XNAS's ``int_pm``)."""

    def _do(self, problem, X, *args, **kwargs):
        return np.round(super()._do(widened(problem), X.astype(float), *args, **kwargs)).astype(int)


def xnas_operators(space: SearchSpace) -> dict:
    """XNAS's NSGA-II operators (LLNL/XNAS ``nas_deephyper/nsga_ii.py``, pymoo 0.4.2.2):
    integer random sampling; SBX with probability 0.9 per mating, eta 3, per-variable
    probability 0.5; integer polynomial mutation with eta 3 applied to every offspring
    with per-variable probability 1/n_var; duplicates eliminated."""
    return {
        "sampling": IntegerRandomSampling(),
        "crossover": IntegerSBX(prob=0.9, eta=3.0, prob_var=0.5),
        "mutation": IntegerPM(prob=1.0, eta=3.0, prob_var=1.0 / space.n_var),
        "eliminate_duplicates": True,
    }


@STRATEGIES.register("nsga2-sbx")
class NSGA2SBXStrategy(PymooStrategy):
    """NSGA-II with XNAS's integer SBX/PM settings (``xnas_operators``) instead of the
    space's own unit operators."""

    algorithm_name = "nsga2"

    def __init__(self, space, n_obj, n_constr, population, seed) -> None:
        super().__init__(space, n_obj, n_constr, population, seed, operators=xnas_operators(space))
