"""SQLite run store (schema versioned) and the weight files beside it."""

from xnas.store.sqlite import DB_NAME, SCHEMA_VERSION, GenerationState, RunStore

__all__ = ["DB_NAME", "SCHEMA_VERSION", "GenerationState", "RunStore"]
