"""The search-space contract shared by every space (docs/architecture.md, "Genome").

A genome is a tuple of ints within ``[lower, upper]`` (inclusive, per position).
``normalize`` maps a genome to the representative of its equivalence class;
``canonical`` turns that into the string key used everywhere; ``parse`` reads a
key (or a plain list of ints) back. Variation operators work on *units* (one
gene for NB201, an (op, input) pair for micro) so children stay meaningful.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from xnas.config import SpaceConfig
from xnas.errors import GenomeError
from xnas.registry import Registry

if TYPE_CHECKING:  # torch is imported only where a network is built (``build``)
    from torch import nn

Genome = tuple[int, ...]
SPACES: Registry[type[SearchSpace]] = Registry("search space")

_INT_LIST = re.compile(r"^\s*[\[(]?\s*-?\d+(\s*[, ]\s*-?\d+)*\s*[\])]?\s*$")


class SearchSpace(ABC):
    name: str = ""
    unit: int = 1  # genes that travel together in crossover and count once in distance
    # genes within which ``normalize`` may reorder units (micro: the two pairs of a block)
    reorder_span: int = 1

    def __init__(self, cfg: SpaceConfig | None = None) -> None:
        self.cfg = cfg or SpaceConfig(name=self.name)

    # ----------------------------------------------------------------- bounds
    @property
    @abstractmethod
    def lower(self) -> np.ndarray: ...

    @property
    @abstractmethod
    def upper(self) -> np.ndarray: ...

    @property
    def n_var(self) -> int:
        return len(self.lower)

    @property
    def size(self) -> int:
        """Number of distinct genome vectors (before merging equivalent ones)."""
        return math.prod(int(u - lo + 1) for lo, u in zip(self.lower, self.upper, strict=True))

    def describe_position(self, i: int) -> str:
        return f"position {i}"

    # ----------------------------------------------------------------- validity
    def check(self, x: Any) -> Genome:
        """``x`` as a genome, or a GenomeError naming the first bad position and its range."""
        values = list(x)
        if len(values) != self.n_var:
            raise GenomeError(f"{self.name} genome has {len(values)} values; expected {self.n_var}")
        for i, (v, lo, hi) in enumerate(zip(values, self.lower, self.upper, strict=True)):
            if isinstance(v, bool) or int(v) != v or not lo <= v <= hi:
                raise GenomeError(
                    f"{self.describe_position(i)}: value {v!r} out of range; "
                    f"expected an integer in {int(lo)}..{int(hi)}"
                )
        return tuple(int(v) for v in values)

    def repair(self, x: Any) -> Genome:
        """Any real vector of the right length -> the nearest valid genome (then normalised)."""
        arr = np.rint(np.asarray(x, dtype=float).reshape(-1))
        if arr.size != self.n_var:
            raise GenomeError(f"{self.name} genome has {arr.size} values; expected {self.n_var}")
        arr = np.where(np.isfinite(arr), arr, self.lower)
        return self.normalize(tuple(int(v) for v in np.clip(arr, self.lower, self.upper)))

    def normalize(self, x: Genome) -> Genome:
        """The representative of ``x``'s equivalence class (identity by default)."""
        return tuple(x)

    # ----------------------------------------------------------------- keys
    def canonical(self, x: Any) -> str:
        return self.key(self.normalize(self.check(x)))

    def parse(self, text: str) -> Genome:
        """A canonical key or a list of ints -> the normalised genome (GenomeError if bad)."""
        if _INT_LIST.match(text):
            return self.normalize(self.check(int(t) for t in re.findall(r"-?\d+", text)))
        return self.normalize(self.check(self.parse_key(text.strip())))

    def equivalence(self, x: Genome) -> str:
        """A key of the *function* ``x`` computes: genomes that share it compute the same
        network function (the driver evaluates one per class and records the others as
        reuses of it). Distinct from ``canonical``, which joins published tables. By default
        the canonical key: only what ``normalize`` merges."""
        return self.canonical(x)

    @abstractmethod
    def key(self, x: Genome) -> str: ...

    @abstractmethod
    def parse_key(self, text: str) -> Genome: ...

    @abstractmethod
    def decode(self, x: Genome) -> Any: ...

    @abstractmethod
    def build(
        self, x: Genome, input_shape: tuple[int, int, int], num_classes: int
    ) -> nn.Module: ...

    # ----------------------------------------------------------------- variation
    def sample(self, rng: np.random.Generator) -> Genome:
        return self.normalize(
            tuple(
                int(rng.integers(lo, hi + 1)) for lo, hi in zip(self.lower, self.upper, strict=True)
            )
        )

    def mutate(self, x: Genome, rng: np.random.Generator, prob: float | None = None) -> Genome:
        """Resample each gene with probability ``prob`` (default 1/n) to a different value;
        at least one gene always changes, so a mutant is never its parent."""
        p = 1.0 / self.n_var if prob is None else prob
        out = list(x)
        mutable = [i for i in range(self.n_var) if self.upper[i] > self.lower[i]]
        chosen = [i for i in mutable if rng.random() < p] or [int(rng.choice(mutable))]
        for i in chosen:
            choices = [v for v in range(int(self.lower[i]), int(self.upper[i]) + 1) if v != out[i]]
            out[i] = int(rng.choice(choices))
        return self.normalize(tuple(out))

    def crossover(self, a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
        """Uniform crossover over units: each unit is swapped with probability 1/2."""
        c1, c2 = list(a), list(b)
        for start in range(0, self.n_var, self.unit):
            if rng.random() < 0.5:
                s = slice(start, start + self.unit)
                c1[s], c2[s] = c2[s], c1[s]
        return self.normalize(tuple(c1)), self.normalize(tuple(c2))

    def distance(self, a: Genome, b: Genome) -> int:
        """Number of units that differ between the normalised genomes (0 iff same key)."""
        na, nb = self.normalize(tuple(a)), self.normalize(tuple(b))
        return sum(
            na[i : i + self.unit] != nb[i : i + self.unit] for i in range(0, self.n_var, self.unit)
        )

    # ----------------------------------------------------------------- learning
    def op_groups(self) -> list[np.ndarray]:
        """Groups of positions that each hold an op from one op list (one group per cell):
        their per-op counts are predictor features. None by default."""
        return []

    def features(self, genomes) -> np.ndarray:
        """Numeric features a predictor learns from: a one-hot of every gene, then for
        each op group how many of its positions hold each op (how many convolutions a
        cell has says much about its error, and a one-hot alone must learn that sum)."""
        X = np.asarray(genomes, dtype=int).reshape(-1, self.n_var) - self.lower
        width = self.upper - self.lower + 1
        onehot = np.zeros((len(X), int(width.sum())))
        offsets = np.concatenate([[0], np.cumsum(width)[:-1]])
        rows = np.repeat(np.arange(len(X)), X.shape[1])
        onehot[rows, (X + offsets).reshape(-1)] = 1.0
        counts = [
            np.stack([(X[:, g] == v).sum(axis=1) for v in range(int(width[g].max()))], axis=1)
            for g in self.op_groups()
        ]
        return np.hstack([onehot, *counts]).astype(float)


def get_space(cfg: SpaceConfig) -> SearchSpace:
    return SPACES.get(cfg.name)(cfg)
