"""Learning-curve bands calibrated on recorded curves (pure: numpy only, no torch).

The stop rule needs an upper bound on the accuracy a half-trained network will reach.
Parametric curve families (Domhan et al., 2015) extrapolate poorly under the cosine
schedule the trainer uses (accuracy jumps as the learning rate decays), so the band is
empirical instead: on recorded learning curves, the share of the *remaining* error
that training closes after epoch k,

    z = (final - best_k) / (1 - best_k),       best_k = best accuracy in epochs 1..k,

is collected together with the progress r = k / T. For a new curve at progress r the
band is best_k + q(r) * (1 - best_k), with q(r) the split-conformal quantiles of z
among calibration points whose progress is within ``WINDOW`` of r. The upper quantile
is made non-increasing in r (later in training, less can still change), which only
widens the band. Coverage holds for curves exchangeable with the calibration set:
``benchmarks/bench_stoprule.py`` measures it on datasets held out of the calibration.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOW = 0.1  # calibration points with |r' - r| <= WINDOW inform the band at r
GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # r = 0.05 .. 0.95
DEFAULT_FILE = Path(__file__).with_name("stoprule_calibration.json")


@dataclass(frozen=True)
class Prediction:
    mean: float  # predicted accuracy at the full budget (the calibrated median)
    lower: float  # band edges at the requested two-sided coverage
    upper: float
    at_epoch: int  # how many epochs the prediction saw
    target_epoch: int
    method: str = "calibrated headroom quantiles"

    def as_dict(self) -> dict:
        return {
            "predicted_final_accuracy": self.mean,
            "band": [self.lower, self.upper],
            "at_epoch": self.at_epoch,
            "target_epoch": self.target_epoch,
            "prediction_method": self.method,
        }


def headroom_pairs(curve: Sequence[float], start: int = 1) -> list[tuple[float, float]]:
    """(r, z) for every epoch k in [start, T-1] of one complete curve."""
    T = len(curve)
    final = curve[-1]
    out = []
    for k in range(max(1, start), T):
        best = max(curve[:k])
        if best >= 1.0:
            continue  # nothing left to close
        out.append((k / T, (final - best) / (1.0 - best)))
    return out


def _conformal_quantile(values: np.ndarray, level: float) -> float:
    """Split-conformal quantile: the ceil((n+1) level)-th smallest value (clamped)."""
    n = len(values)
    rank = min(n, max(1, math.ceil((n + 1) * level)))
    return float(np.sort(values)[rank - 1])


@dataclass(frozen=True)
class HeadroomBand:
    """Calibration points (r, z) and the band they give at any progress and coverage."""

    r: tuple[float, ...]
    z: tuple[float, ...]
    source: str  # what the points were recorded on

    @classmethod
    def fit(cls, curves: Iterable[Sequence[float]], source: str) -> HeadroomBand:
        pairs = [p for c in curves for p in headroom_pairs(c)]
        if not pairs:
            raise ValueError("no calibration points: curves need at least two epochs")
        r, z = zip(*pairs, strict=True)
        return cls(tuple(r), tuple(z), source)

    @functools.cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.r), np.asarray(self.z)

    @functools.cached_property
    def _tables(self) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return {}

    def table(self, coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lower, median, upper) quantiles of z on ``GRID``; upper non-increasing in r.
        Computed once per coverage and kept with the band."""
        if coverage not in self._tables:
            self._tables[coverage] = self._table(coverage)
        return self._tables[coverage]

    def _table(self, coverage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r, z = self._arrays
        hi_level = (1 + coverage) / 2
        lower, median, upper = [], [], []
        for g in GRID:
            near = z[np.abs(r - g) <= WINDOW + 1e-12]
            if len(near) == 0:
                near = z  # no point this early or late: fall back to every point
            lower.append(-_conformal_quantile(-near, hi_level))  # lower tail, conservative
            median.append(float(np.median(near)))
            upper.append(_conformal_quantile(near, hi_level))
        upper_arr = np.maximum.accumulate(np.asarray(upper)[::-1])[::-1]
        return np.asarray(lower), np.asarray(median), upper_arr

    def predict(
        self, curve: Sequence[float], target_epoch: int, coverage: float = 0.95
    ) -> Prediction:
        """Band for the final accuracy of a curve seen for ``len(curve)`` epochs."""
        k = len(curve)
        best = float(max(curve))
        headroom = 1.0 - best
        lower, median, upper = self.table(coverage)
        r = min(max(k / target_epoch, GRID[0]), GRID[-1])

        def at(q: np.ndarray) -> float:
            return float(np.interp(r, GRID, q))

        def clip(v: float) -> float:
            return min(1.0, max(0.0, v))

        return Prediction(
            mean=clip(best + at(median) * headroom),
            lower=clip(best + at(lower) * headroom),
            upper=clip(best + max(0.0, at(upper)) * headroom),
            at_epoch=k,
            target_epoch=target_epoch,
            method=f"calibrated headroom quantiles ({self.source})",
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "window": WINDOW,
                "r": [round(v, 5) for v in self.r],
                "z": [round(v, 5) for v in self.z],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> HeadroomBand:
        raw = json.loads(text)
        if len(raw["r"]) != len(raw["z"]) or not raw["r"]:
            raise ValueError("calibration file: r and z must be non-empty and equally long")
        return cls(tuple(raw["r"]), tuple(raw["z"]), raw["source"])


@functools.cache
def default_band() -> HeadroomBand:
    """The band calibrated on ``tests/fixtures/learning_curves.json`` (shipped)."""
    return HeadroomBand.from_json(DEFAULT_FILE.read_text())
