"""The non-dominated archive of a run, kept incrementally (pure: numpy only).

The driver adds every feasible result once, in stored order; the archive keeps the
non-dominated set (duplicates of a front vector stay, as in non-dominated sorting) and the
elementwise worst feasible vector (for the hypervolume reference point). Each addition
costs O(front size), so the driver's bookkeeping stays flat as a run grows to tens of
thousands of results instead of re-reading and re-sorting the whole store.
"""

from __future__ import annotations

import numpy as np


class Archive:
    """Feasible minimisation-form vectors seen so far: their front and worst values."""

    def __init__(self, n_obj: int) -> None:
        self.n_obj = n_obj
        self.keys: list[str] = []
        self.F = np.empty((0, n_obj))
        self.worst: np.ndarray | None = None
        self.count = 0  # feasible vectors added
        self._vectors: tuple[tuple[float, ...], ...] | None = None  # vectors()' cache

    def add(self, key: str, f) -> bool:
        """Add one feasible vector; True when it joins the front."""
        f = np.asarray(f, dtype=float).reshape(self.n_obj)
        self.count += 1
        self._vectors = None
        self.worst = f.copy() if self.worst is None else np.maximum(self.worst, f)
        if len(self.F):
            dominated_by_member = ((f >= self.F).all(axis=1) & (f > self.F).any(axis=1)).any()
            if dominated_by_member:
                return False
            keep = ~((f <= self.F).all(axis=1) & (f < self.F).any(axis=1))
            if not keep.all():
                self.F = self.F[keep]
                self.keys = [k for k, kept in zip(self.keys, keep, strict=True) if kept]
        self.F = np.vstack([self.F, f])
        self.keys.append(key)
        return True

    def front(self) -> tuple[list[str], np.ndarray]:
        """Front keys (sorted) and their vectors in that order."""
        order = sorted(range(len(self.keys)), key=self.keys.__getitem__)
        return [self.keys[i] for i in order], self.F[order]

    def vectors(self) -> tuple[tuple[float, ...], ...]:
        """The front as plain tuples (what a stop rule carries), made once per change."""
        if self._vectors is None:
            self._vectors = tuple(tuple(float(v) for v in row) for row in self.F)
        return self._vectors
