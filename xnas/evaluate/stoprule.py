"""The multi-objective stop rule: stop training a candidate that cannot make the front.

After each epoch from ``min_epochs`` on, the final accuracy is bounded by a band
calibrated on recorded learning curves (``calibration.HeadroomBand``). The candidate's
*optimistic* vector takes the band's upper edge for ``error`` (never below the best
accuracy seen) and its measured static objectives (params, FLOPs, latency, energy).
Training stops when a member of the current front (the driver's snapshot when the task
was sent) dominates even that vector (pymoo's dominance relation), after the accuracy
is raised by half a binomial standard error of the validation estimate. A curve still near
chance accuracy (less than half-way from chance to 1), or whose last epoch still closed
more than 30% of its remaining error, is never stopped: it has not yet said where it ends.

Objectives known only after training (introspection, mcd) have no bound that could
ever be dominated, so a search that optimises one of them refuses ``extrapolate``
when the config is read (``driver.checks.check_cost``) instead of running a rule that never fires.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymoo.util.dominator import Dominator

from xnas.evaluate.calibration import HeadroomBand, Prediction, default_band
from xnas.objectives.base import OBJECTIVES
from xnas.results import StopRule

# Guards and margins, chosen on benchmarks/bench_stoprule.py (leave one dataset out) as the
# most conservative setting that kept false stops at zero there; see the README.
# no stop while the best accuracy is below chance + this share of the way to 1
CHANCE_MARGIN = 0.5
# no stop while the last epoch still closed more than this share of the remaining error:
# a curve rising that fast has not yet said where it ends
RISING = 0.3
# the optimistic accuracy is raised by this many binomial standard errors of the
# validation estimate: networks closer than the measurement noise are not told apart
NOISE_SE = 0.5


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


def near_chance(curve: tuple[float, ...], chance: float) -> bool:
    return max(curve) < chance + CHANCE_MARGIN * (1.0 - chance)


def still_rising(curve: tuple[float, ...]) -> bool:
    """The last epoch raised the best accuracy by more than ``RISING`` of the headroom."""
    if len(curve) < 2:
        return True
    before, now = max(curve[:-1]), max(curve)
    return before < 1.0 and (now - before) / (1.0 - before) > RISING


def check(
    rule: StopRule,
    curve: tuple[float, ...],
    target_epoch: int,
    static: dict[str, float],
    chance: float = 0.0,
    band: HeadroomBand | None = None,
    val_samples: int | None = None,
    prior: Sequence[float] = (),
) -> tuple[bool, Prediction | None]:
    """(stop?, prediction) after ``len(curve)`` epochs of a ``target_epoch`` budget.

    ``chance``: accuracy of guessing (1 / classes); ``val_samples``: size of the
    validation set the curve was measured on (its sampling noise widens the bound).
    ``prior``: an inheriting child's donor curve. The child's curve is read as its
    continuation: the band sees ``prior + curve`` at epoch ``len(prior) + len(curve)`` of
    ``len(prior) + target_epoch``, so ``min_epochs`` counts the donor's epochs and a child
    can be stopped after its first epoch. Safe by construction: the band starts from the
    best accuracy of donor *and* child, so the optimistic bound is never below the donor's
    best; the near-chance guard reads the child's own curve, the rising guard both.
    """
    full = (*prior, *curve)
    if len(full) < rule.min_epochs or len(curve) >= target_epoch:
        return False, None
    prediction = (band or default_band()).predict(full, len(prior) + target_epoch, rule.quantile)
    if not rule.front or near_chance(curve, chance) or still_rising(full):
        return False, prediction
    best = max(prediction.upper, max(curve))  # never more pessimistic than what was seen
    if val_samples:
        best = min(1.0, best + NOISE_SE * math.sqrt(best * (1.0 - best) / val_samples))
    return dominated(optimistic_vector(rule.names, static, best), rule.front), prediction
