"""Learning-curve extrapolation recovers each family's final value from its first third."""

from __future__ import annotations

import numpy as np
import pytest

from xnas.evaluate.curves import FAMILIES, extrapolate

# one increasing accuracy curve per family, rising from ~0.2-0.6 to ~0.86-0.90 at epoch 30
TRUTH = {
    "pow3": (0.9, 0.6, 0.8),
    "pow4": (0.92, 0.8, 0.6, 0.9),
    "log_power": (0.9, 0.5, -1.5),
    "exp4": (0.88, 0.6, 0.2, 0.7),
    "ilog2": (0.95, 0.25),
    "janoschek": (0.9, 0.2, 0.3, 0.9),
    "mmf": (0.9, 0.1, 0.4, 1.2),
    "weibull": (0.9, 0.2, 0.2, 1.0),
}
TOLERANCE = 0.025  # absolute accuracy at epoch 30, from epochs 1-10


def test_every_family_has_a_synthetic_curve():
    assert sorted(TRUTH) == sorted(f.name for f in FAMILIES) and len(FAMILIES) == 8


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_final_value_is_recovered_from_the_first_third(family):
    x = np.arange(1, 31, dtype=float)
    y = family.f(x, *TRUTH[family.name])
    prediction = extrapolate(y[:10], 30, quantile=0.95)
    assert abs(prediction.mean - y[-1]) < TOLERANCE
    assert prediction.lower <= y[-1] <= prediction.upper
    assert prediction.at_epoch == 10 and prediction.target_epoch == 30


def test_noisy_curves_keep_the_truth_inside_a_wider_band():
    rng = np.random.default_rng(0)
    x = np.arange(1, 31, dtype=float)
    y = FAMILIES[0].f(x, *TRUTH["pow3"])
    clean = extrapolate(y[:10], 30)
    noisy = extrapolate(y[:10] + rng.normal(0, 0.01, 10), 30)
    assert noisy.upper - noisy.lower > clean.upper - clean.lower
    assert noisy.lower <= y[-1] <= noisy.upper


def test_too_short_a_curve_uses_only_the_families_it_determines():
    prediction = extrapolate([0.3, 0.5, 0.6], 20)
    assert prediction is not None
    assert set(prediction.families) <= {"pow3", "log_power", "ilog2"}
    assert extrapolate([0.5], 20) is None
