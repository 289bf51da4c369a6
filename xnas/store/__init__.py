"""The run directory: its SQLite store (schema versioned) and the one owner of every
other path in it (``RunDir``: weights, rung checkpoints, inflight markers, plots)."""

from xnas.store.rundir import DB_NAME, RunDir
from xnas.store.sqlite import SCHEMA_VERSION, GenerationState, RunStore

__all__ = ["DB_NAME", "SCHEMA_VERSION", "GenerationState", "RunDir", "RunStore"]
