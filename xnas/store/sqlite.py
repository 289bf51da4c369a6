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

from xnas.errors import DiskFullError, StoreError
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

# failed results taken back on purpose (``xnas resume --retry-failed``): the original row,
# kept, and the generation from which its key's new result counts (added within schema 1,
# created by the first retry: readers treat its absence as none retired)
_RETIRED = """
CREATE TABLE IF NOT EXISTS retired (
    key TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    violation REAL NOT NULL DEFAULT 0,
    retired_at INTEGER NOT NULL,
    created REAL NOT NULL,
    result TEXT NOT NULL
);
"""

# a proxy-assisted search's screenings: the static values of genomes that were scored
# but not (yet) trained, by key (added within schema 1, created by the first screening:
# readers treat its absence as none)
_SCREENED = """
CREATE TABLE IF NOT EXISTS screened (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    result TEXT NOT NULL
);
"""

# the final networks retrained on train + validation and scored on the held-out test split
# (``xnas retrain``), by key and repeat (added within schema 1, created by the first
# retraining: readers treat its absence as none)
_FINAL = """
CREATE TABLE IF NOT EXISTS final (
    key TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    created REAL NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (key, repeat)
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


STATUSES = ("ok", "stopped", "failed", "rejected", "partial")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _result_from_json(text: str, statuses: tuple[str, ...] = STATUSES) -> EvalResult:
    """A stored result, checked field by field: damage is one line naming what is wrong,
    never a traceback further down in a report."""
    try:
        data = json.loads(text)
        for name in ("genome", "curve", "train_loss"):
            data[name] = tuple(data[name])
        result = EvalResult(**data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StoreError(
            f"a stored evaluation is corrupt ({type(exc).__name__}: {str(exc)[:80]}); "
            "expected the JSON of an evaluation result"
        ) from None
    problem = None
    if not isinstance(result.key, str) or result.status not in statuses:
        problem = f"status {result.status!r}; expected one of {', '.join(statuses)}"
    elif not all(isinstance(v, int) and not isinstance(v, bool) for v in result.genome):
        problem = f"genome {list(result.genome)[:8]!r}; expected integers"
    elif not isinstance(result.objectives, dict) or not isinstance(result.measurements, dict):
        problem = "objectives or measurements are not mappings"
    else:
        bad = {
            k: v
            for k, v in result.objectives.items()
            if not (_number(v) or (v is None and not result.has_values))
        }
        if bad:
            name, value = next(iter(bad.items()))
            problem = f"objective {name!r} is {value!r}; expected a number"
        elif not all(_number(v) for v in (*result.curve, *result.train_loss)):
            problem = "its learning curve holds a value that is not a number"
    if problem:
        raise StoreError(
            f"the stored evaluation of {str(result.key)[:80]} is corrupt: {problem} "
            "(the run store was edited or damaged)"
        )
    return result


def _generation_from_row(row) -> GenerationState:
    """A stored generation row, checked: one line naming what is damaged."""
    gen, pop, strat, rng, counters = row
    what = f"generation {gen}"
    try:
        population = json.loads(pop)
        state, rng_state, counts = json.loads(strat), json.loads(rng), json.loads(counters)
    except (ValueError, TypeError):
        raise StoreError(
            f"the run store's {what} is corrupt (a column is not JSON); expected the "
            "population, strategy state and counters xnas wrote"
        ) from None
    if not isinstance(gen, int) or not (
        isinstance(population, list) and all(isinstance(k, str) for k in population)
    ):
        raise StoreError(f"the run store's {what} is corrupt: its population is not a list of keys")
    if not isinstance(state, dict):
        raise StoreError(f"the run store's {what} is corrupt: its strategy state is not a mapping")
    if not (isinstance(counts, dict) and all(_number(v) for v in counts.values())):
        raise StoreError(f"the run store's {what} is corrupt: its counters are not numbers")
    return GenerationState(gen, tuple(population), state, rng_state, counts)


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


def check_path_length(path: Path) -> None:
    """A path the system cannot hold is one line before anything is made (not a traceback,
    and no half-made folders left behind)."""
    absolute = path.absolute()
    name_max = _pathconf("PC_NAME_MAX", 255)
    long = next((part for part in absolute.parts if len(part.encode()) > name_max), None)
    if long is not None:
        raise StoreError(
            f"run directory name '{long[:40]}...' has {len(long.encode())} bytes; expected "
            f"at most {name_max} per folder name on this system"
        )
    path_max = _pathconf("PC_PATH_MAX", 4096)
    if len(str(absolute).encode()) >= path_max:
        raise StoreError(
            f"run directory path has {len(str(absolute).encode())} bytes; expected fewer than "
            f"{path_max} on this system"
        )


def _pathconf(name: str, default: int) -> int:
    try:
        return os.pathconf("/", name)
    except (OSError, ValueError, AttributeError):
        return default


def make_dirs(run_dir: Path) -> list[Path]:
    """``mkdir -p run_dir``; returns the folders it made (deepest last), for clean-up."""
    missing = [d for d in [run_dir, *run_dir.parents] if not d.exists()][::-1]
    try:
        for d in missing:
            d.mkdir()
    except OSError as exc:
        remove_dirs(missing)
        raise StoreError(
            f"cannot create run directory '{run_dir}' ({exc.strerror}); expected a writable "
            "location"
        ) from None
    return missing


def remove_dirs(made: list[Path]) -> None:
    """Remove folders ``make_dirs`` made, if they are still empty (deepest first)."""
    for d in reversed(made):
        with contextlib.suppress(OSError):
            d.rmdir()


class _Lock:
    """One writer per run directory: an exclusive ``flock`` on ``xnas.lock`` naming its
    holder (pid, host). The kernel drops it when the holder dies, so a crash leaves no
    stale lock; a clean release removes the file, so a finished run leaves nothing behind.
    (flock over NFS depends on the mount; a cluster's scratch usually has it.)"""

    def __init__(self, run_dir: Path) -> None:
        import fcntl

        self.path = path = RunDir(run_dir).lock
        while True:
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
                    "expected one search or resume at a time (status, table, plot, export "
                    "still work)"
                ) from None
            # the holder before us may have removed the file after we opened it: then our
            # lock is on a file nobody else will open; lock the one at the path instead
            try:
                same = os.fstat(self.fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(self.fd)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()} on host {socket.gethostname()}".encode(), 0)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # still locked: nobody else can hold the file now
        os.close(self.fd)


def writer(run_dir: Path) -> str | None:
    """Who holds a run's writer lock (``pid N on host H``), or None: a search or resume is
    running on it. A read-only probe (a shared lock tried and released at once)."""
    import fcntl

    try:
        fd = os.open(RunDir(run_dir).lock, os.O_RDONLY)
    except OSError:
        return None  # no lock file: nobody writes
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


_RAW_META = ("app", "schema_version", "created")  # plain strings; every other value is JSON
# the shape of every meta value xnas writes (None is "not set" for those that may be)
_META_CHECKS: dict[str, tuple[Any, str]] = {
    "config": (lambda v: isinstance(v, dict), "a mapping (the run's config)"),
    "versions": (
        lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
        "a mapping of package names to versions",
    ),
    "hv_reference": (
        lambda v: isinstance(v, list) and all(_number(x) and math.isfinite(x) for x in v),
        "a list of finite numbers",
    ),
    "latency_quiet": (
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(x, dict) and _number(x.get("value")) for x in v.values())
        ),
        "a mapping of keys to re-measured latencies",
    ),
    "hv_ideal": (
        lambda v: isinstance(v, list) and all(_number(x) and math.isfinite(x) for x in v),
        "a list of finite numbers",
    ),
    "suspects": (
        lambda v: isinstance(v, dict) and all(_number(x) for x in v.values()),
        "a mapping of keys to death counts",
    ),
    "energy_source": (lambda v: v in ("nvml", "rapl", "model"), "nvml, rapl or model"),
    "stopped_by": (lambda v: isinstance(v, str), "a reason (text)"),
}


class RunStore:
    """Read and write one run directory's store; use ``create`` or ``open``."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection, lock: _Lock | None = None) -> None:
        self.run_dir = run_dir
        self.dir = RunDir(run_dir)  # every other path of the run directory
        self.conn = conn
        self._lock = lock
        self._made: list[Path] | None = None  # folders ``create`` made (None: opened)

    # ----------------------------------------------------------------- opening
    @classmethod
    def create(
        cls, run_dir: str | Path, config: dict[str, Any], versions: dict[str, str]
    ) -> RunStore:
        run_dir = Path(run_dir)
        path = RunDir(run_dir).db
        check_path_length(path)
        if run_dir.exists() and not run_dir.is_dir():
            raise StoreError(f"run directory '{run_dir}' is a file; expected a directory")
        if path.exists():
            raise StoreError(
                f"'{path}' already exists; expected a new run directory (or xnas resume)"
            )
        made = make_dirs(run_dir)
        try:
            lock = _Lock(run_dir)
        except BaseException:
            remove_dirs(made)
            raise
        try:
            store = cls(run_dir, cls._create_db(path, config, versions), lock)
            store._made = made
            return store
        except sqlite3.OperationalError as exc:
            lock.release()
            if "full" in str(exc):
                raise DiskFullError(f"disk full while creating '{path}' ({exc})") from None
            raise
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
        path = RunDir(run_dir).db
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
        """``mode=ro`` while a writer may be at work (a run in progress, or a crash's WAL
        still to replay); a quiet, cleanly closed store is opened ``immutable``: SQLite
        then creates no ``-wal``/``-shm`` beside it, so reading a finished run leaves
        nothing behind, and works on read-only media, where those files cannot be made."""
        uri = f"{path.resolve().as_uri()}?mode=ro"
        wal = path.with_name(path.name + "-wal")
        shm = path.with_name(path.name + "-shm")
        quiet = not (wal.exists() and wal.stat().st_size > 0) and writer(path.parent) is None
        if (quiet and not shm.exists()) or (
            not shm.exists() and not os.access(path.parent, os.W_OK)
        ):
            uri += "&immutable=1"
        return sqlite3.connect(uri, uri=True, timeout=30.0)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30.0)  # each `with conn:` is one transaction
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a full disk is said as such (the store stays intact:
        SQLite rolls the transaction back), never as a damaged store."""
        try:
            with self.conn:
                yield self.conn
        except sqlite3.OperationalError as exc:
            if "full" in str(exc).lower():
                raise DiskFullError(f"disk full while writing '{self.dir.db}' ({exc})") from None
            raise

    def close(self) -> None:
        """Close the connection and release the writer lock (idempotent)."""
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def discard(self) -> bool:
        """Remove a store this process created that holds nothing yet (no evaluation, no
        generation): a search refused by bad input found after creation leaves no
        directory behind, so running it again is not told the directory exists. True if
        removed; a store opened (not created) or holding anything is never touched."""
        empty = self._made is not None and not self.count() and self.last_generation() is None
        self.close()
        if not empty:
            return False
        d = self.dir
        for path in (
            d.db,
            d.db.with_name(d.db.name + "-wal"),
            d.db.with_name(d.db.name + "-shm"),
            d.lock,
        ):
            path.unlink(missing_ok=True)
        for marker in d.inflight.glob("*") if d.inflight.is_dir() else []:
            if marker.is_file() and marker.stat().st_size == 0:  # an idle worker's marker
                marker.unlink()
        for folder in (d.weights, d.inflight, d.rungs):
            with contextlib.suppress(OSError):
                folder.rmdir()
        remove_dirs(self._made)
        return True

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
            value = json.loads(row[0])
        except ValueError:
            raise StoreError(
                f"run store in '{self.run_dir}': meta {key!r} is corrupt; expected JSON"
            ) from None
        check = _META_CHECKS.get(key)
        if check is not None and value is not None and not check[0](value):
            raise StoreError(
                f"run store in '{self.run_dir}': meta {key!r} is corrupt ({str(value)[:40]!r}); "
                f"expected {check[1]}"
            )
        return value

    def set_meta(self, key: str, value: Any) -> None:
        """Store (or replace) a JSON meta value."""
        with self._transaction():
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def set_meta_once(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless already set; return the stored value."""
        with self._transaction():
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
            with self._transaction():
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

    def last_activity(self) -> float | None:
        """When the latest result (final or rung) was stored (seconds since the epoch)."""
        times = [self.conn.execute("SELECT MAX(created) FROM evaluations").fetchone()[0]]
        if self._has_table("rungs"):
            times.append(self.conn.execute("SELECT MAX(created) FROM rungs").fetchone()[0])
        times = [t for t in times if t is not None]
        return max(times) if times else None

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
            with self._transaction():
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

    # ----------------------------------------------------------------- screenings
    def add_screened(self, results: list[EvalResult]) -> None:
        """Commit screenings (status ``screened``, or ``failed``) in one transaction."""
        with self._transaction() as conn:
            conn.execute(_SCREENED)
            conn.executemany(
                "INSERT OR REPLACE INTO screened VALUES (?, ?, ?)",
                [(r.key, time.time(), result_json(r)) for r in results],
            )

    def screened(self) -> dict[str, EvalResult]:
        """Every stored screening by key."""
        if not self._has_table("screened"):
            return {}
        return {
            key: _result_from_json(text, ("screened", "failed"))
            for key, text in self.conn.execute("SELECT key, result FROM screened ORDER BY rowid")
        }

    # ----------------------------------------------------------------- final networks
    def add_final(self, result: EvalResult, repeat: int, replace: bool = False) -> None:
        """Commit one retraining on the final split (``xnas.retrain``); stored once, or
        ``replace`` a failed one by a new attempt."""
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self._transaction() as conn:
                conn.execute(_FINAL)
                conn.execute(
                    f"{verb} INTO final VALUES (?, ?, ?, ?)",
                    (result.key, repeat, time.time(), result_json(result)),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"repeat {repeat} of {result.key!r} is already stored") from None

    def finals(self) -> dict[tuple[str, int], EvalResult]:
        """Every stored retraining by (key, repeat), in commit order."""
        if not self._has_table("final"):
            return {}
        return {
            (key, repeat): _result_from_json(text)
            for key, repeat, text in self.conn.execute(
                "SELECT key, repeat, result FROM final ORDER BY rowid"
            )
        }

    # ----------------------------------------------------------------- retries
    def retire(self, keys: list[str], at_generation: int) -> None:
        """Move the stored results of ``keys`` (failed ones, to be evaluated again) into
        the ``retired`` table, in one transaction: nothing is deleted, and a replay of the
        generations before ``at_generation`` still tells the strategy what it was told."""
        with self._transaction() as conn:
            conn.execute(_RETIRED)
            for key in keys:
                conn.execute(
                    "INSERT OR REPLACE INTO retired SELECT key, generation, violation, ?, "
                    "?, result FROM evaluations WHERE key = ?",
                    (at_generation, time.time(), key),
                )
                conn.execute("DELETE FROM evaluations WHERE key = ?", (key,))

    def retired(self) -> Iterator[tuple[int, float, int, EvalResult]]:
        """(generation, violation, retired_at, result) of every retired result."""
        if not self._has_table("retired"):
            return
        for gen, violation, at, text in self.conn.execute(
            "SELECT generation, violation, retired_at, result FROM retired ORDER BY rowid"
        ):
            yield gen, violation, at, _result_from_json(text)

    def _has_table(self, name: str) -> bool:
        return bool(
            self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        )

    def rungs(self) -> Iterator[tuple[int, float, EvalResult]]:
        """(generation, violation, result) of every stored rung result, in commit order."""
        if not self._has_table("rungs"):
            return
        for gen, violation, text in self.conn.execute(
            "SELECT generation, violation, result FROM rungs ORDER BY rowid"
        ):
            yield gen, violation, _result_from_json(text)

    # ----------------------------------------------------------------- generations
    def commit_generation(self, state: GenerationState) -> None:
        with self._transaction():
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
        return [_generation_from_row(row) for row in rows]

    def last_generation(self) -> GenerationState | None:
        row = self.conn.execute(
            "SELECT generation, population, strategy_state, rng_state, counters "
            "FROM generations ORDER BY generation DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _generation_from_row(row)
