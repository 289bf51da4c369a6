"""The run store: one SQLite file per run directory (WAL, schema version recorded).

Every evaluation is committed in its own transaction the moment it arrives, so a
killed run loses no finished evaluation; the state after each generation is a
row of plain JSON (no pickled live objects). The run directory's other paths
(weights, rung checkpoints, inflight markers) belong to ``store.rundir.RunDir``.
Opening anything that is not an xnas store of a known schema raises StoreError with
one line saying what was found.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from xnas.errors import StoreError
from xnas.results import EvalResult
from xnas.store.rundir import DB_NAME, RunDir

SCHEMA_VERSION = 1
APP_ID = "xnas-run-store"

# multi-fidelity rung results below a candidate's final one (added within schema 1: a
# writer creates it in older stores, readers treat its absence as no rungs)
_RUNGS = """
CREATE TABLE IF NOT EXISTS rungs (
    key TEXT NOT NULL,
    rung INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    violation REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (key, rung)
);
"""

_SCHEMA = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE evaluations (
    key TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL,
    violation REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX evaluations_generation ON evaluations (generation);
CREATE TABLE generations (
    generation INTEGER PRIMARY KEY,
    population TEXT NOT NULL,
    strategy_state TEXT NOT NULL,
    rng_state TEXT NOT NULL,
    counters TEXT NOT NULL,
    created REAL NOT NULL
);
"""
    + _RUNGS
)


@dataclass(frozen=True)
class GenerationState:
    generation: int
    population: tuple[str, ...]  # keys
    strategy_state: Any  # JSON-able: how the strategy is restored (driver.resume)
    rng_state: Any  # always None since resume replays from the seed (column kept: schema 1)
    counters: dict[str, int]


def _result_from_json(text: str) -> EvalResult:
    try:
        data = json.loads(text)
        for name in ("genome", "curve", "train_loss"):
            data[name] = tuple(data[name])
        return EvalResult(**data)
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            f"a stored evaluation is corrupt ({type(exc).__name__}: {str(exc)[:80]}); "
            "expected the JSON of an evaluation result"
        ) from None


_RESULT_FIELDS = tuple(f.name for f in fields(EvalResult))


def result_json(result: EvalResult) -> str:
    """A result as plain JSON (non-finite floats as null)."""
    data = {name: getattr(result, name) for name in _RESULT_FIELDS}
    try:
        return json.dumps(data, default=str, allow_nan=False)
    except ValueError:  # a NaN or inf somewhere: null it (rare, so walked only then)
        return json.dumps(_json_safe(data), default=str, allow_nan=False)


def _json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become null (bare NaN is not JSON: json_extract fails)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class _Lock:
    """One writer per run directory: an exclusive ``flock`` on ``xnas.lock`` naming its
    holder (pid, host). The kernel drops it when the holder dies, so a crash leaves no
    stale lock. (flock over NFS depends on the mount; a cluster's scratch usually has it.)"""

    def __init__(self, run_dir: Path) -> None:
        import fcntl

        path = RunDir(run_dir).lock
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"cannot write in run directory '{run_dir}' ({exc.strerror}); expected a "
                "writable directory to search or resume (status, table, plot read anywhere)"
            ) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise StoreError(
                f"run directory '{run_dir}' is in use by another xnas process ({holder}); "
                "expected one search or resume at a time (status, table, plot, export still work)"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()} on host {socket.gethostname()}".encode(), 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)


_RAW_META = ("app", "schema_version", "created")  # plain strings; every other value is JSON


class RunStore:
    """Read and write one run directory's store; use ``create`` or ``open``."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection, lock: _Lock | None = None) -> None:
        self.run_dir = run_dir
        self.dir = RunDir(run_dir)  # every other path of the run directory
        self.conn = conn
        self._lock = lock

    # ----------------------------------------------------------------- opening
    @classmethod
    def create(
        cls, run_dir: str | Path, config: dict[str, Any], versions: dict[str, str]
    ) -> RunStore:
        run_dir = Path(run_dir)
        path = run_dir / DB_NAME
        if run_dir.exists() and not run_dir.is_dir():
            raise StoreError(f"run directory '{run_dir}' is a file; expected a directory")
        if path.exists():
            raise StoreError(
                f"'{path}' already exists; expected a new run directory (or xnas resume)"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = _Lock(run_dir)
        try:
            return cls(run_dir, cls._create_db(path, config, versions), lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _create_db(
        cls, path: Path, config: dict[str, Any], versions: dict[str, str]
    ) -> sqlite3.Connection:
        """Schema and meta are written to a temporary file renamed into place, so a kill
        during creation leaves no half-made store that neither search nor resume takes."""
        RunDir(path.parent).weights.mkdir(exist_ok=True)
        tmp = path.with_name(DB_NAME + ".creating")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        with conn:
            conn.executescript(_SCHEMA)
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("app", APP_ID),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created", str(time.time())),
                    ("config", json.dumps(config, sort_keys=True)),
                    ("versions", json.dumps(versions, sort_keys=True)),
                ],
            )
        conn.close()
        os.replace(tmp, path)
        return cls._connect(path)

    @classmethod
    def open(cls, run_dir: str | Path, *, write: bool = False) -> RunStore:
        """Open a run directory's store: read-only by default (``mode=ro``: the file is
        never modified, so a reader can inspect a run in progress or on read-only media);
        ``write=True`` takes the run's writer lock first."""
        run_dir = Path(run_dir)
        path = run_dir / DB_NAME
        if not path.is_file():
            raise StoreError(
                f"no run store at '{path}'; expected a run directory made by xnas search"
            )
        lock = _Lock(run_dir) if write else None
        try:
            conn = cls._connect(path) if write else cls._connect_read_only(path)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            if lock:
                lock.release()
            raise StoreError(f"'{path}' is not a readable xnas run store ({exc})") from None
        problem = None
        if meta.get("app") != APP_ID:
            problem = f"'{path}' is an SQLite file of another program; expected an xnas store"
        elif meta.get("schema_version") != str(SCHEMA_VERSION):
            problem = (
                f"'{path}' has store schema {meta.get('schema_version')}; "
                f"this xnas reads schema {SCHEMA_VERSION}"
            )
        if problem:
            conn.close()
            if lock:
                lock.release()
            raise StoreError(problem)
        if write:
            with conn:
                conn.executescript(_RUNGS)
        return cls(run_dir, conn, lock)

    @staticmethod
    def _connect_read_only(path: Path) -> sqlite3.Connection:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30.0)  # each `with conn:` is one transaction
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- meta
    def meta(self, key: str, default: Any = StoreError) -> Any:
        """A meta value; a missing key raises StoreError unless ``default`` is given."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            if default is not StoreError:
                return default
            raise StoreError(f"run store in '{self.run_dir}' lacks meta key {key!r}")
        if key in _RAW_META:
            return row[0]
        try:
            return json.loads(row[0])
        except ValueError:
            raise StoreError(
                f"run store in '{self.run_dir}': meta {key!r} is corrupt; expected JSON"
            ) from None

    def set_meta(self, key: str, value: Any) -> None:
        """Store (or replace) a JSON meta value."""
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def set_meta_once(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless already set; return the stored value."""
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return json.loads(
            self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
        )

    def weights_file(self, result: EvalResult) -> Path | None:
        """The result's weight file inside *this* run directory, or None
        (``RunDir.stored_weights``)."""
        return self.dir.stored_weights(result.weights_path)

    # ----------------------------------------------------------------- evaluations
    def add_result(self, result: EvalResult, generation: int, violation: float = 0.0) -> EvalResult:
        """Commit one evaluation (its own transaction). A key is stored once, ever.
        The weight path is stored relative to the run directory."""
        if result.weights_path:
            result = replace(result, weights_path=RunDir.relative_weights(result.weights_path))
        try:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO evaluations VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        result.key,
                        generation,
                        result.status,
                        float(violation),
                        time.time(),
                        result_json(result),
                    ),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"evaluation {result.key!r} is already stored") from None
        return result  # as stored (weight path relative to the run directory)

    def get(self, key: str) -> EvalResult | None:
        row = self.conn.execute("SELECT result FROM evaluations WHERE key = ?", (key,)).fetchone()
        return _result_from_json(row[0]) if row else None

    def __contains__(self, key: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM evaluations WHERE key = ?", (key,)).fetchone()
            is not None
        )

    def keys_of_generation(self, generation: int) -> set[str]:
        """Keys stored in ``generation`` (indexed: cheap at any run size)."""
        rows = self.conn.execute("SELECT key FROM evaluations WHERE generation = ?", (generation,))
        return {key for (key,) in rows}

    def results(self) -> Iterator[tuple[int, float, EvalResult]]:
        """(generation, violation, result) in the order they were committed."""
        for gen, violation, text in self.conn.execute(
            "SELECT generation, violation, result FROM evaluations ORDER BY rowid"
        ):
            yield gen, violation, _result_from_json(text)

    def count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
        return self.conn.execute(
            "SELECT COUNT(*) FROM evaluations WHERE status = ?", (status,)
        ).fetchone()[0]

    # ----------------------------------------------------------------- rungs
    def add_rung(self, result: EvalResult, generation: int, violation: float = 0.0) -> None:
        """Commit a multi-fidelity rung result (``result.rung``) that is not its
        candidate's final one; the final one goes to ``add_result``."""
        assert result.rung is not None
        try:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO rungs VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        result.key,
                        result.rung,
                        generation,
                        float(violation),
                        time.time(),
                        result_json(result),
                    ),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"rung {result.rung} of {result.key!r} is already stored") from None

    def rungs(self) -> Iterator[tuple[int, float, EvalResult]]:
        """(generation, violation, result) of every stored rung result, in commit order."""
        if not self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rungs'"
        ).fetchone():
            return
        for gen, violation, text in self.conn.execute(
            "SELECT generation, violation, result FROM rungs ORDER BY rowid"
        ):
            yield gen, violation, _result_from_json(text)

    # ----------------------------------------------------------------- generations
    def commit_generation(self, state: GenerationState) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO generations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    state.generation,
                    json.dumps(list(state.population)),
                    json.dumps(state.strategy_state),
                    json.dumps(state.rng_state),
                    json.dumps(state.counters),
                    time.time(),
                ),
            )

    def generations(self) -> list[GenerationState]:
        """Every committed generation, in order."""
        rows = self.conn.execute(
            "SELECT generation, population, strategy_state, rng_state, counters "
            "FROM generations ORDER BY generation"
        ).fetchall()
        return [
            GenerationState(g, tuple(json.loads(p)), json.loads(s), json.loads(r), json.loads(c))
            for g, p, s, r, c in rows
        ]

    def last_generation(self) -> GenerationState | None:
        row = self.conn.execute(
            "SELECT generation, population, strategy_state, rng_state, counters "
            "FROM generations ORDER BY generation DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        gen, pop, strat, rng, counters = row
        return GenerationState(
            gen, tuple(json.loads(pop)), json.loads(strat), json.loads(rng), json.loads(counters)
        )
