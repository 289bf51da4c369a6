"""The driver loop: ask -> canonical keys -> reuse stored results -> evaluate the rest ->
commit each result -> tell -> commit the generation.

Failed evaluations are infeasible (constraint column 0 = 1) with placeholder
objective values, never dropped. User budgets (``latency <= 5``) are further
constraint columns. Resuming replays the stored history through the strategy's
ask/tell (deterministic given the seed), evaluates nothing already stored, and
continues with the first generation that was not committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xnas.config import Config, build, to_dict
from xnas.errors import ConfigError
from xnas.evaluate import EvalResult, EvalTask, evaluate, make_task
from xnas.objectives import OBJECTIVES, to_minimization
from xnas.space import get_space
from xnas.store import GenerationState, RunStore
from xnas.strategy import STRATEGIES

FAILED_F = 1e12  # objective placeholder for failed evaluations (they are infeasible anyway)
_CONSTRAINT = re.compile(r"^\s*(<=|>=)\s*(-?[0-9.eE+-]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    objective: str
    op: str
    bound: float

    def g(self, value: float) -> float:
        """pymoo's convention: <= 0 is satisfied."""
        return value - self.bound if self.op == "<=" else self.bound - value


@dataclass(frozen=True)
class GenerationSummary:
    generation: int
    evaluated: int
    reused: int
    failed: int
    front_size: int
    hypervolume: float


# Reference-point coordinates (minimisation form) for objectives with natural bounds;
# the others get 1.1 x the worst feasible value when first needed, fixed for the run.
NATURAL_REFERENCE = {"error": 1.0, "introspection": 0.0, "mcd": 0.0}


def front_summary(
    store: RunStore, names: list[str], constraints: list[Constraint]
) -> tuple[list[str], float]:
    """(front keys, hypervolume) from one read of the store.

    The reference point uses natural bounds where they exist, else 1.1 x the worst
    feasible value seen when it is first needed; it is then fixed in the store's meta.
    """
    from pymoo.indicators.hv import HV
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    rows = [r for _, v, r in store.results() if r.status != "failed" and v == 0]
    F = objective_rows(rows, names, constraints)[0] if rows else np.ones((0, len(names)))
    worst = F.max(axis=0) if rows else np.ones(len(names))
    ref = [
        NATURAL_REFERENCE.get(n, 1.1 * abs(w) + 1e-12) for n, w in zip(names, worst, strict=True)
    ]
    ref = np.array(store.set_meta_once("hv_reference", ref))
    if not rows:
        return [], 0.0
    idx = NonDominatedSorting().do(F, only_non_dominated_front=True)
    order = sorted(idx, key=lambda i: rows[i].key)
    return [rows[i].key for i in order], float(HV(ref_point=ref)(F[order]))


def constraints_of(cfg: Config) -> list[Constraint]:
    out = []
    for i, obj in enumerate(cfg.objectives):
        OBJECTIVES.get(obj.name)
        if obj.constraint is None:
            continue
        m = _CONSTRAINT.match(obj.constraint)
        if not m:
            raise ConfigError(
                f"objectives.{i}.constraint {obj.constraint!r}: expected '<= NUMBER' or '>= NUMBER'"
            )
        out.append(Constraint(obj.name, m.group(1), float(m.group(2))))
    return out


def objective_rows(results: list[EvalResult], names: list[str], constraints: list[Constraint]):
    """(F, G) in pymoo form for ``results`` (failed -> placeholder F, G[:, 0] = 1)."""
    F = np.full((len(results), len(names)), FAILED_F)
    G = np.zeros((len(results), 1 + len(constraints)))
    for i, r in enumerate(results):
        if r.status == "failed":
            G[i, :] = 1.0
            continue
        F[i] = to_minimization(r.objectives, names)
        for j, c in enumerate(constraints):
            G[i, 1 + j] = c.g(r.objectives[c.objective])
    return F, G


def violation(G_row: np.ndarray) -> float:
    return float(np.clip(G_row, 0, None).sum())


def run_search(
    cfg: Config,
    run_dir: str | Path,
    *,
    resume: bool = False,
    evaluate_fn: Callable[[EvalTask], EvalResult] = evaluate,
    on_generation: Callable[[GenerationSummary], None] | None = None,
) -> list[str]:
    """Run (or resume) a generational search; returns the final front's keys."""
    if resume:
        with RunStore.open(run_dir) as probe:
            cfg = build(Config, probe.meta("config"))
    # validate everything before a new store is created: bad input leaves nothing behind
    space = get_space(cfg.space)
    names = [o.name for o in cfg.objectives]
    constraints = constraints_of(cfg)
    strategy = STRATEGIES.get(cfg.search.strategy)(
        space, len(names), 1 + len(constraints), cfg.search.population, cfg.search.seed
    )
    store = (
        RunStore.open(run_dir) if resume else RunStore.create(run_dir, to_dict(cfg), _versions())
    )
    try:
        last = store.last_generation()
        committed = -1 if last is None else last.generation
        limit = cfg.search.max_evaluations
        for gen in range(cfg.search.generations):
            if limit is not None and gen > committed and store.count() >= limit:
                break  # budget spent: stop at a generation boundary (the state stays resumable)
            genomes = strategy.ask()
            keys = [space.canonical(g) for g in genomes]
            evaluated = failed = 0
            seen: set[str] = set()
            for genome, key in zip(genomes, keys, strict=True):
                if key in seen or key in store:
                    seen.add(key)
                    continue
                seen.add(key)
                result = evaluate_fn(
                    make_task(cfg, space, genome, weights_dir=str(store.weights_dir))
                )
                _, G = objective_rows([result], names, constraints)
                store.add_result(result, gen, violation(G[0]))
                evaluated += 1
                failed += result.status == "failed"
            results = [store.get(k) for k in keys]
            F, G = objective_rows(results, names, constraints)
            strategy.tell(genomes, F, G)
            if gen > committed:
                store.commit_generation(
                    GenerationState(
                        gen,
                        tuple(keys),
                        {"strategy": cfg.search.strategy, "replay": True},
                        {"seed": cfg.search.seed},
                        {"evaluated": evaluated, "failed": failed},
                    )
                )
                if on_generation is not None:
                    front, hv = front_summary(store, names, constraints)
                    on_generation(
                        GenerationSummary(
                            gen, evaluated, len(keys) - evaluated, failed, len(front), hv
                        )
                    )
        return front_summary(store, names, constraints)[0]
    finally:
        store.close()


def search_status(run_dir: str | Path) -> dict:
    """Progress, failures, front and hypervolume of a run directory (read-only)."""
    with RunStore.open(run_dir) as store:
        cfg = build(Config, store.meta("config"))
        names = [o.name for o in cfg.objectives]
        constraints = constraints_of(cfg)
        last = store.last_generation()
        front, hv = front_summary(store, names, constraints)
        return {
            "generations_done": 0 if last is None else last.generation + 1,
            "generations": cfg.search.generations,
            "evaluations": store.count(),
            "failed": store.count("failed"),
            "objectives": names,
            "front": front,
            "hypervolume": hv,
        }


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in ("xnas", "torch", "torchvision", "pymoo", "deap", "captum", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
