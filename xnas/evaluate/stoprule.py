"""The multi-objective stop rule: stop training a candidate that cannot make the front.

After each epoch (from ``min_epochs`` on) the learning curve is extrapolated to the full
budget. The candidate's *optimistic* objective vector takes the upper band of the
predicted accuracy for ``error``, its measured static objectives (params, FLOPs,
latency, energy: known before training), and the best possible value for any other
objective that is only known after training (introspection, mcd), so such a search is
only pruned when error and the static objectives alone already lose. Training stops
when a member of the current front (the driver's snapshot when the task was sent)
dominates even that optimistic vector (pymoo's dominance relation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymoo.util.dominator import Dominator

from xnas.evaluate.curves import Prediction, extrapolate
from xnas.objectives import OBJECTIVES


@dataclass(frozen=True)
class StopRule:
    names: tuple[str, ...]  # objective order of the front vectors
    front: tuple[tuple[float, ...], ...]  # current front, minimisation form
    min_epochs: int = 3
    quantile: float = 0.95


def optimistic_vector(
    names: tuple[str, ...], static: dict[str, float], best_accuracy: float
) -> np.ndarray:
    """Minimisation-form vector: error from ``best_accuracy``, static values as measured,
    everything not known yet at its best possible value (-inf)."""
    out = np.full(len(names), -np.inf)
    for i, name in enumerate(names):
        if name == "error":
            out[i] = 1.0 - best_accuracy
        elif name in static:
            out[i] = static[name] if OBJECTIVES.get(name).sense == "min" else -static[name]
    return out


def dominated(vector: np.ndarray, front: tuple[tuple[float, ...], ...]) -> bool:
    """True when some front member dominates ``vector`` (all <=, one <)."""
    return any(Dominator.get_relation(np.asarray(p, float), vector) == 1 for p in front)


def check(
    rule: StopRule, curve: tuple[float, ...], target_epoch: int, static: dict[str, float]
) -> tuple[bool, Prediction | None]:
    """(stop?, prediction) after ``len(curve)`` epochs."""
    if len(curve) < rule.min_epochs or len(curve) >= target_epoch:
        return False, None
    prediction = extrapolate(curve, target_epoch, rule.quantile)
    if prediction is None or not rule.front:
        return False, prediction
    best = max(prediction.upper, max(curve))  # never more pessimistic than what was seen
    return dominated(optimistic_vector(rule.names, static, best), rule.front), prediction
