"""The evaluator contract and its registry (a lazy string map: an evaluator's module,
and torch with it, is imported only when a run uses it).

An evaluator turns an ``EvalTask`` into an ``EvalResult`` on a worker. It only computes
or raises: ``parallel.worker.call_task`` is the one place where an exception becomes a
stored failure. Besides ``__call__`` it answers, on the driver:

- ``check(cfg, names)``: refuse, before anything is stored, a config it cannot serve
  (a device that does not exist, a dataset that does not load, a table without a column);
- ``static(cfg, space, names)``: the objectives a genome has without evaluation, exactly
  (for strategies that model the rest, ``surrogate-nsga2``);
- ``order(space, genomes)``: the dispatch order on many workers (longest first);
- ``trains``: whether it has epochs (inheritance, the stop rule and rungs need them).

Register a new one with ``EVALUATORS.register(name)`` (a class with ``from_config``)
or ``EVALUATORS.register_lazy(name, "module:Class")``; ``xnas.testing.evaluator`` tests it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from xnas.registry import Registry

if TYPE_CHECKING:
    from xnas.config import Config
    from xnas.results import EvalResult, EvalTask
    from xnas.space import Genome, SearchSpace

StaticOracle = Callable[[list["Genome"]], np.ndarray]


class Evaluator(Protocol):
    name: str
    trains: bool

    def check(self, cfg: Config, names: list[str]) -> None: ...

    def __call__(self, task: EvalTask) -> EvalResult: ...

    def static(self, cfg: Config, space: SearchSpace, names: list[str]) -> StaticOracle: ...

    def order(self, space: SearchSpace, genomes: list[Genome]) -> list[Genome]: ...


EVALUATORS: Registry = Registry("evaluator")
EVALUATORS.register_lazy("train", "xnas.evaluate.train:TrainEvaluator")
EVALUATORS.register_lazy("tabular", "xnas.evaluate.tabular:TabularEvaluator")


def evaluator_for(cfg: Config) -> Evaluator:
    """The evaluator ``cfg.evaluator.name`` names, configured (RegistryError if unknown)."""
    return EVALUATORS.get(cfg.evaluator.name).from_config(cfg)


def static_oracle(
    names: list[str], static: list[str], value: Callable[[Genome, str], float]
) -> StaticOracle:
    """``oracle(genomes)`` -> (n, len(names)) minimisation-form values of the ``static``
    objectives (``value(genome, name)``, cached per genome), NaN for the others."""
    from xnas.objectives import to_minimization

    cache: dict[Genome, dict[str, float]] = {}

    def oracle(genomes: list[Genome]) -> np.ndarray:
        out = np.full((len(genomes), len(names)), np.nan)
        for i, genome in enumerate(genomes):
            if genome not in cache:
                cache[genome] = {n: value(genome, n) for n in static}
            raw = cache[genome]
            if raw:
                row = to_minimization(raw, list(raw))
                for n, v in zip(raw, row, strict=True):
                    out[i, names.index(n)] = v
        return out

    return oracle
