"""The evaluator contract (``evaluate.base``): it accepts the config it serves, is
picklable (it travels to MPI ranks), orders any batch as a permutation, knows the static
objectives it claims exactly, and turns a task into a result with every objective, a
provenance for each, and a reuse that copies exactly the trained values."""

from __future__ import annotations

import pickle

import numpy as np

from xnas.config import Config
from xnas.evaluate import EVALUATORS
from xnas.objectives import OBJECTIVES, copied_on_reuse, to_minimization
from xnas.parallel import call_task
from xnas.results import PROVENANCES, EvalResult
from xnas.space import get_space
from xnas.summary import search_objectives


def check_evaluator(name: str, cfg: Config, samples: int = 3) -> list[EvalResult]:
    """Every check on ``samples`` random genomes of ``cfg``'s space; returns the results."""
    from xnas.driver import make_task

    evaluator = EVALUATORS.get(name).from_config(cfg)
    names = search_objectives(cfg)
    evaluator.check(cfg, names)
    assert pickle.loads(pickle.dumps(evaluator)) == evaluator, "not picklable as data"
    assert isinstance(evaluator.trains, bool)
    space = get_space(cfg.space)
    rng = np.random.default_rng(0)
    genomes = list({space.sample(rng): None for _ in range(samples)})
    ordered = evaluator.order(space, genomes)
    assert sorted(ordered) == sorted(genomes), "order() is not a permutation of its batch"
    oracle = evaluator.static(cfg, space, names)(genomes)
    assert oracle.shape == (len(genomes), len(names))
    results = []
    for genome, known in zip(genomes, oracle, strict=True):
        result = call_task(evaluator, make_task(cfg, space, genome))
        assert result.status in ("ok", "stopped"), result.error
        assert result.key == space.canonical(genome)
        task_objectives = [o.name for o in cfg.objectives]
        assert set(result.objectives) == set(task_objectives)
        for n in task_objectives:
            assert result.provenance(n) in PROVENANCES
        values = to_minimization(result.objectives, names)
        for j, n in enumerate(names):
            if OBJECTIVES.get(n).stage == "trained":
                assert np.isnan(known[j]), f"the oracle claims trained objective {n}"
            elif not np.isnan(known[j]):
                assert known[j] == values[j], f"static {n}: oracle {known[j]}, result {values[j]}"
        results.append(result)
    _check_reuse(evaluator, cfg, space, results[0])
    return results


def _check_reuse(evaluator, cfg: Config, space, source: EvalResult) -> None:
    from dataclasses import replace

    from xnas.driver import make_task

    other = next(g for g in _samples(space) if space.canonical(g) != source.key)
    task = replace(make_task(cfg, space, other), reuse=source, epochs=0, weights_to=None)
    reused = call_task(evaluator, task)
    assert reused.reused_from == source.key and reused.status == source.status
    copied = copied_on_reuse(list(reused.objectives))  # trained and per-class ones
    for n in reused.objectives:
        if n in copied:
            assert reused.objectives[n] == source.objectives[n], n
            assert reused.measurements[n]["reused_from"] == source.key


def _samples(space):
    rng = np.random.default_rng(1)
    while True:
        yield space.sample(rng)
