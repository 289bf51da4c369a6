"""Reading results: objectives in minimisation form, constraints, feasibility, the front
and its hypervolume. Light on purpose (no torch): the driver (``xnas.driver``) and the
reports (``xnas.report``, which ``xnas status`` uses and must start at once) share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xnas.config import Config, parse_constraint
from xnas.errors import ConfigError
from xnas.objectives import OBJECTIVES, to_minimization
from xnas.results import EvalResult
from xnas.store import RunStore

FAILED_F = 1e12  # objective placeholder for failed evaluations (they are infeasible anyway)


@dataclass(frozen=True)
class Constraint:
    objective: str
    op: str
    bound: float

    def g(self, value: float) -> float:
        """pymoo's convention: <= 0 is satisfied."""
        return value - self.bound if self.op == "<=" else self.bound - value


def front_summary(
    store: RunStore, names: list[str], constraints: list[Constraint]
) -> tuple[list[str], float]:
    """(front keys, hypervolume) from one read of the store; never writes.

    The hypervolume uses the run's reference point (``hv_reference`` in the store's meta,
    fixed by the driver: ``RunState.fix_reference``); before the driver has fixed it, a
    provisional one from the results so far.
    """
    keys, hv, _ = front_of(store.results(), names, constraints, store.meta("hv_reference", None))
    return keys, hv


def front_of(rows, names: list[str], constraints: list[Constraint], stored_ref):
    """(sorted front keys, hypervolume, reference) of store rows ``(generation, violation,
    result)``; the reference is the stored one, else a provisional one from these rows."""
    from pymoo.indicators.hv import HV

    check_reference(stored_ref, names)
    ok, F, idx = feasible_front(rows, names, constraints)
    if not ok:
        return [], 0.0, stored_ref
    ref = stored_ref if stored_ref is not None else reference_point(names, F)
    order = sorted(idx, key=lambda i: ok[i].key)
    return [ok[i].key for i in order], float(HV(ref_point=np.array(ref))(F[order])), ref


def ideal_point(names: list[str], F: np.ndarray) -> list[float]:
    """The normalised hypervolume's other corner: each objective's natural best where it
    has one (``Objective.ideal``: error 0, costs 0, introspection -2), else the best
    (minimisation form) among ``F`` (the first feasible generation, fixed with the
    reference)."""
    best = F.min(axis=0)
    return [
        OBJECTIVES.get(n).ideal if OBJECTIVES.get(n).ideal is not None else float(b)
        for n, b in zip(names, best, strict=True)
    ]


def normalized_hypervolume(F: np.ndarray, reference, ideal) -> float:
    """The hypervolume of ``F`` (minimisation form) in the box from ``ideal`` to
    ``reference``, as a share of the box: in [0, 1], comparable between runs that share
    the box. Points beyond the ideal are clipped to it."""
    from pymoo.indicators.hv import HV

    ref, lo = np.asarray(reference, dtype=float), np.asarray(ideal, dtype=float)
    if len(F) == 0 or np.any(ref <= lo):
        return 0.0
    P = np.maximum(np.asarray(F, dtype=float), lo)
    return float(HV(ref_point=ref)(P)) / float(np.prod(ref - lo))


def check_reference(ref, names) -> None:
    """A stored reference point has one value per searched objective (else: damaged)."""
    if ref is not None and len(ref) != len(names):
        from xnas.errors import StoreError

        raise StoreError(
            f"the run's hypervolume reference has {len(ref)} values for {len(names)} "
            "objectives; expected one per searched objective (the store was edited)"
        )


def reference_point(names: list[str], F: np.ndarray) -> list[float]:
    """Natural bounds where they exist, else 1.1 x the worst feasible value (minimisation
    form) among ``F``."""
    worst = F.max(axis=0)
    bounds = [OBJECTIVES.get(n).reference for n in names]
    return [
        b if b is not None else 1.1 * abs(w) + 1e-12 for b, w in zip(bounds, worst, strict=True)
    ]


def full_budget(result: EvalResult) -> bool:
    """Measured at the full budget: trained to the end or stopped by the stop rule (whose
    stored error is its extrapolated bound). A ``partial`` result (halted at a lower rung)
    has values of that rung only: it is never compared with full-budget values, so it is
    kept out of fronts, hypervolumes and what strategies are told."""
    return result.status in ("ok", "stopped")


def feasible_front(rows, names: list[str], constraints: list[Constraint]):
    """(feasible full-budget results, their minimisation-form rows F, indices of the
    non-dominated ones) from store rows ``(generation, violation, result)``."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    ok = [r for _, v, r in rows if full_budget(r) and v == 0]
    if not ok:
        return ok, np.ones((0, len(names))), []
    F = objective_rows(ok, names, constraints)[0]
    return ok, F, list(NonDominatedSorting().do(F, only_non_dominated_front=True))


def search_objectives(cfg: Config) -> list[str]:
    """The objectives the search optimises (``optimize: false`` ones are only recorded)."""
    names = [o.name for o in cfg.objectives if o.optimize]
    if not names:
        raise ConfigError("objectives: every objective has optimize: false; expected at least one")
    return names


def constraints_of(cfg: Config) -> list[Constraint]:
    out = []
    for i, obj in enumerate(cfg.objectives):
        OBJECTIVES.get(obj.name)
        if obj.constraint is None:
            continue
        op, bound = parse_constraint(obj.constraint, f"objectives.{i}")
        out.append(Constraint(obj.name, op, bound))
    return out


def objective_rows(results: list[EvalResult], names: list[str], constraints: list[Constraint]):
    """(F, G) in pymoo form for ``results`` (failed -> placeholder F, G[:, 0] = 1;
    rejected before training -> placeholder F, G from the budgets its static values break)."""
    F = np.full((len(results), len(names)), FAILED_F)
    G = np.zeros((len(results), 1 + len(constraints)))
    for i, r in enumerate(results):
        if r.status == "failed":
            G[i, :] = 1.0
            continue
        if r.status == "rejected":
            for j, c in enumerate(constraints):
                if c.objective in r.objectives:
                    G[i, 1 + j] = c.g(r.objectives[c.objective])
            continue
        F[i] = to_minimization(r.objectives, names)
        for j, c in enumerate(constraints):
            G[i, 1 + j] = c.g(r.objectives[c.objective])
    return F, G


def violation(G_row: np.ndarray) -> float:
    return float(np.clip(G_row, 0, None).sum())
