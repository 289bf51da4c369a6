"""The run store: one SQLite file per run directory (WAL, schema version recorded).

Every evaluation is committed in its own transaction the moment it arrives, so a
killed run loses no finished evaluation; the state after each generation is a
row of plain JSON (no pickled live objects). Weight files live beside the
database under ``weights/``. Opening anything that is not an xnas store of a
known schema raises StoreError with one line saying what was found.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xnas.errors import StoreError
from xnas.evaluate.task import EvalResult

SCHEMA_VERSION = 1
DB_NAME = "xnas.sqlite"
APP_ID = "xnas-run-store"

_SCHEMA = """
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


@dataclass(frozen=True)
class GenerationState:
    generation: int
    population: tuple[str, ...]  # keys
    strategy_state: Any  # JSON-able
    rng_state: Any  # numpy bit-generator state (JSON-able dict)
    counters: dict[str, int]


def _result_from_json(text: str) -> EvalResult:
    data = json.loads(text)
    for name in ("genome", "curve", "train_loss"):
        data[name] = tuple(data[name])
    return EvalResult(**data)


_RAW_META = ("app", "schema_version", "created")  # plain strings; every other value is JSON


class RunStore:
    """Read and write one run directory's store; use ``create`` or ``open``."""

    def __init__(self, run_dir: Path, conn: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self.conn = conn

    # ----------------------------------------------------------------- opening
    @classmethod
    def create(
        cls, run_dir: str | Path, config: dict[str, Any], versions: dict[str, str]
    ) -> RunStore:
        run_dir = Path(run_dir)
        path = run_dir / DB_NAME
        if path.exists():
            raise StoreError(
                f"'{path}' already exists; expected a new run directory (or xnas resume)"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "weights").mkdir(exist_ok=True)
        conn = cls._connect(path)
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
        return cls(run_dir, conn)

    @classmethod
    def open(cls, run_dir: str | Path) -> RunStore:
        run_dir = Path(run_dir)
        path = run_dir / DB_NAME
        if not path.is_file():
            raise StoreError(
                f"no run store at '{path}'; expected a run directory made by xnas search"
            )
        try:
            conn = cls._connect(path)
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"'{path}' is not a readable xnas run store ({exc})") from None
        if meta.get("app") != APP_ID:
            raise StoreError(
                f"'{path}' is an SQLite file of another program; expected an xnas store"
            )
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StoreError(
                f"'{path}' has store schema {meta.get('schema_version')}; "
                f"this xnas reads schema {SCHEMA_VERSION}"
            )
        return cls(run_dir, conn)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30.0)  # each `with conn:` is one transaction
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- meta
    def meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise StoreError(f"run store in '{self.run_dir}' lacks meta key {key!r}")
        return row[0] if key in _RAW_META else json.loads(row[0])

    def set_meta_once(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless already set; return the stored value."""
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, json.dumps(value)))
        return json.loads(
            self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
        )

    @property
    def weights_dir(self) -> Path:
        return self.run_dir / "weights"

    # ----------------------------------------------------------------- evaluations
    def add_result(self, result: EvalResult, generation: int, violation: float = 0.0) -> None:
        """Commit one evaluation (its own transaction). A key is stored once, ever."""
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
                        json.dumps(asdict(result), default=str),
                    ),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"evaluation {result.key!r} is already stored") from None

    def get(self, key: str) -> EvalResult | None:
        row = self.conn.execute("SELECT result FROM evaluations WHERE key = ?", (key,)).fetchone()
        return _result_from_json(row[0]) if row else None

    def __contains__(self, key: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM evaluations WHERE key = ?", (key,)).fetchone()
            is not None
        )

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
