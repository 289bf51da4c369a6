"""The learning-curve band: conformal quantiles, checked against known distributions and
against the recorded curves it ships with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from xnas.evaluate.calibration import DEFAULT_FILE, GRID, HeadroomBand, headroom_pairs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "learning_curves.json"


def test_headroom_pairs_by_hand():
    # after epoch 1 (best 0.5) the curve closed (0.8 - 0.5) / 0.5 = 0.6 of its headroom;
    # after epoch 2 (best 0.6): 0.2 / 0.4 = 0.5; after epoch 3 (best 0.7): 0.1 / 0.3
    pairs = headroom_pairs([0.5, 0.6, 0.7, 0.8])
    assert [r for r, _ in pairs] == [0.25, 0.5, 0.75]
    assert [z for _, z in pairs] == pytest.approx([0.6, 0.5, 1 / 3])


def test_quantiles_match_a_known_distribution():
    """z drawn from Beta(2, 5) whatever the progress: the band's upper quantile at each
    progress must be the Beta's 97.5% point (scipy's ppf as the oracle)."""
    rng = np.random.default_rng(0)
    r = rng.uniform(0.02, 0.98, 40_000)
    z = rng.beta(2, 5, 40_000)
    band = HeadroomBand(tuple(r), tuple(z), "synthetic")
    lower, median, upper = band.table(0.95)
    assert upper == pytest.approx(stats.beta.ppf(0.975, 2, 5), abs=0.02)
    assert lower == pytest.approx(stats.beta.ppf(0.025, 2, 5), abs=0.02)
    assert median == pytest.approx(stats.beta.median(2, 5), abs=0.02)
    # fresh draws fall inside the band at the nominal rate
    fresh = rng.beta(2, 5, 20_000)
    inside = np.mean((fresh >= lower[5]) & (fresh <= upper[5]))
    assert inside == pytest.approx(0.95, abs=0.01)


def test_upper_edge_never_grows_with_progress():
    rng = np.random.default_rng(1)
    r = rng.uniform(0, 1, 5_000)
    z = rng.uniform(0, 1, 5_000) * (r > 0.6)  # late points close more than early ones
    _, _, upper = HeadroomBand(tuple(r), tuple(z), "synthetic").table(0.9)
    assert np.all(np.diff(upper) <= 1e-12)
    assert len(upper) == len(GRID)


def test_prediction_brackets_what_was_seen():
    band = HeadroomBand.fit([[0.2, 0.5, 0.7, 0.8, 0.85, 0.9]] * 3, "tiny")
    p = band.predict([0.2, 0.5, 0.6], 6)
    assert p.lower <= p.mean <= p.upper <= 1.0 and p.upper >= 0.6
    assert p.at_epoch == 3 and p.target_epoch == 6


def test_shipped_calibration_is_the_fit_of_the_recorded_curves():
    """``benchmarks/bench_stoprule.py --write-calibration`` made it from the fixture."""
    curves = json.loads(FIXTURE.read_text())["curves"]
    shipped = HeadroomBand.from_json(DEFAULT_FILE.read_text())
    refit = HeadroomBand.fit([c["curve"] for c in curves], shipped.source)
    assert json.loads(refit.to_json()) == json.loads(DEFAULT_FILE.read_text())


def test_a_corrupt_calibration_is_refused():
    with pytest.raises(ValueError, match="equally long"):
        HeadroomBand.from_json(json.dumps({"source": "x", "r": [0.1], "z": []}))
