"""Every path of a run directory, in one place.

```
RUN/
  xnas.sqlite (+ -wal, -shm)   the run store (store.sqlite)
  xnas.lock                     the writer lock (pid and host of the holder)
  weights/<hash>.pt             trained weights of a final result (donors, export)
  rungs/<hash>-r<k>.pt          multi-fidelity checkpoint of rung k, until the key is final
  inflight/<host>-<pid>         the key a worker is evaluating (worker-death tracking)
  pareto.png, tables.md         the Pareto plot and tables `make demo` writes
  plots/                        figures (xnas plot)
  optuna.sqlite3                the run mirrored for optuna-dashboard (xnas dashboard)
  export/<hash>.<fmt>           exported networks (xnas export --arch)
```

Keys hold characters like ``| ~ [ ]``, so files are named by a hash of the key. Stored
weight paths are relative to the run directory and only their file name is ever used,
so a copied or moved run reads its own files and never touches another run's.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "xnas.sqlite"
LOCK_NAME = "xnas.lock"
WEIGHTS, RUNGS, INFLIGHT, PLOTS, EXPORT = "weights", "rungs", "inflight", "plots", "export"


def file_stem(key: str) -> str:
    """The file-name stem of ``key`` (a hash: keys are not file names)."""
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def weights_name(key: str) -> str:
    """The file name of ``key``'s trained weights (in a run's ``weights/``, or the folder
    ``xnas evaluate --weights-dir`` names)."""
    return f"{file_stem(key)}.pt"


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is created or read by constructing one)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def weights(self) -> Path:
        return self.root / WEIGHTS

    @property
    def rungs(self) -> Path:
        return self.root / RUNGS

    @property
    def inflight(self) -> Path:
        return self.root / INFLIGHT

    @property
    def plots(self) -> Path:
        return self.root / PLOTS

    @property
    def pareto(self) -> Path:
        return self.root / "pareto.png"

    @property
    def optuna(self) -> Path:
        """The Optuna storage ``xnas dashboard`` mirrors the run into."""
        return self.root / "optuna.sqlite3"

    @property
    def tables(self) -> Path:
        """The Markdown tables ``make demo`` writes beside the run."""
        return self.root / "tables.md"

    def weights_file(self, key: str) -> Path:
        """Where the trained weights of ``key`` are saved."""
        return self.weights / weights_name(key)

    def stored_weights(self, stored_path: str | None) -> Path | None:
        """A result's stored weight path resolved inside *this* run directory (only the
        file name is used; older stores held absolute paths)."""
        return self.weights / Path(stored_path).name if stored_path else None

    @staticmethod
    def relative_weights(path: str) -> str:
        """The form a weight path is stored in: relative to the run directory."""
        return f"{WEIGHTS}/{Path(path).name}"

    def rung_file(self, key: str, rung: int) -> Path:
        """Rung ``rung``'s training checkpoint of ``key``, kept until ``key`` is final."""
        return self.rungs / f"{file_stem(key)}-r{rung}.pt"

    def rung_files(self, key: str) -> list[Path]:
        """Every rung checkpoint of ``key`` that exists."""
        return sorted(self.rungs.glob(f"{file_stem(key)}-r*.pt"))

    def export_file(self, key: str, suffix: str) -> Path:
        return self.root / EXPORT / f"{file_stem(key)}{suffix}"


def inflight_marker(folder: str | Path) -> Path:
    """This process's marker in an ``inflight`` folder: ``HOST-PID``."""
    return Path(folder) / f"{socket.gethostname()}-{os.getpid()}"
