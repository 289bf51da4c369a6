"""Weight inheritance, the driver's side: which stored network a new genome inherits
from. Pure numpy (the tensors are copied on the worker, ``evaluate.inherit``).

The nearest donor is the one at the smallest unit-wise distance (``SearchSpace.distance``,
vectorised), ties to the lower error, then the key, so the choice is deterministic.
"""

from __future__ import annotations

import numpy as np

from xnas.results import EvalResult
from xnas.space import Genome, SearchSpace


def nearest_index(
    space: SearchSpace,
    genome: Genome,
    normalized: np.ndarray,
    errors: np.ndarray,
    keys: list[str],
    key_rank: np.ndarray | None = None,
) -> int:
    """Row of the nearest candidate among pre-normalised genomes ``normalized``;
    ``key_rank`` (the rank of each key in sorted order) may be given precomputed."""
    g = np.asarray(space.normalize(tuple(genome)))
    units = space.n_var // space.unit
    differ = (normalized != g).reshape(len(normalized), units, space.unit).any(axis=2)
    distance = differ.sum(axis=1)
    if key_rank is None:
        key_rank = np.argsort(np.argsort(np.array(keys, dtype=object)))
    return int(np.lexsort((key_rank, errors, distance))[0])


def nearest_donor(
    space: SearchSpace, genome: Genome, candidates: list[tuple[str, Genome, float]]
) -> str | None:
    """Key of the closest of ``candidates`` (key, genome, error) to ``genome``."""
    if not candidates:
        return None
    keys = [c[0] for c in candidates]
    normalized = np.array([space.normalize(tuple(c[1])) for c in candidates])
    i = nearest_index(space, genome, normalized, np.array([c[2] for c in candidates]), keys)
    return keys[i]


class DonorPool:
    """Results whose weight file exists; the arrays the nearest-donor search needs are
    rebuilt only when the pool changes (once a generation), not for every task.

    Which files are kept (``recent``) depends on the committed results only, never on the
    order they arrived in: an uninterrupted MPI run and a killed-and-resumed one prune,
    and so choose donors, alike."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.results: dict[str, EvalResult] = {}
        self.normalized: dict[str, Genome] = {}
        self.weighted: list[tuple[int, str]] = []  # (generation, key) of every weight file
        self._arrays: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, result: EvalResult, exists: bool, generation: int = 0) -> None:
        self.weighted.append((generation, result.key))
        if exists:
            self.results[result.key] = result
            self.normalized[result.key] = self.space.normalize(result.genome)
            self._arrays = None

    def get(self, key: str) -> EvalResult | None:
        return self.results.get(key)

    def nearest(self, genome: Genome) -> EvalResult | None:
        if not self.results:
            return None
        if self._arrays is None:
            keys = list(self.results)
            self._arrays = (
                keys,
                np.array([self.normalized[k] for k in keys]),
                np.array([self.results[k].objectives.get("error", 1.0) for k in keys]),
                np.argsort(np.argsort(np.array(keys, dtype=object))),
            )
        keys, normalized, errors, rank = self._arrays
        return self.results[keys[nearest_index(self.space, genome, normalized, errors, keys, rank)]]

    def recent(self, n: int) -> set[str]:
        """The ``n`` most recent weight files: latest generation first, by key within one."""
        return {key for _, key in sorted(self.weighted)[-n:]} if n > 0 else set()

    def prune(self, keep: set[str]) -> list[EvalResult]:
        """Drop every donor not in ``keep``; returns the dropped results."""
        dropped = [self.results.pop(k) for k in [k for k in self.results if k not in keep]]
        for result in dropped:
            del self.normalized[result.key]
        if dropped:
            self._arrays = None
        return dropped
