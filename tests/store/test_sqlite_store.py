"""The run store: real SQLite, one transaction per result, clear errors on bad files."""

from __future__ import annotations

import json
import sqlite3

import pytest

from xnas.errors import StoreError
from xnas.evaluate import EvalResult
from xnas.store import DB_NAME, GenerationState, RunStore


def result(key: str, status: str = "ok") -> EvalResult:
    return EvalResult(
        key=key,
        genome=(1, 2, 3),
        status=status,
        objectives={"error": 0.25, "latency": 1.5} if status == "ok" else {},
        measurements={"latency": {"device": "cpu", "repeats": 30}},
        curve=(0.5, 0.75),
        train_loss=(1.0, 0.5),
        epochs=2,
        timings={"train": 1.0},
        error=None if status == "ok" else "Boom\ntrace",
        rank=1,
        host="h",
        device="cpu",
    )


def test_results_round_trip_and_survive_reopening(tmp_path):
    with RunStore.create(tmp_path / "run", {"search": {"seed": 3}}, {"torch": "x"}) as store:
        store.add_result(result("a"), generation=0)
        store.add_result(result("b", "failed"), generation=0, violation=1.0)
        # committed at once: a second, independent connection already sees both rows
        other = sqlite3.connect(tmp_path / "run" / DB_NAME)
        assert other.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0] == 2
        other.close()
    with RunStore.open(tmp_path / "run", write=True) as store:
        assert store.get("a") == result("a") and "b" in store and "c" not in store
        assert [(g, v, r.key) for g, v, r in store.results()] == [(0, 0.0, "a"), (0, 1.0, "b")]
        assert store.count() == 2 and store.count("failed") == 1
        assert store.meta("config") == {"search": {"seed": 3}}
        assert store.dir.weights.is_dir()
        with pytest.raises(ValueError, match="already stored"):
            store.add_result(result("a"), generation=1)


def test_generation_state_is_plain_json(tmp_path):
    from xnas.driver.resume import restore_state

    with RunStore.create(tmp_path, {}, {}) as store:
        assert store.last_generation() is None
        for gen in (0, 1):
            state = restore_state("nsga2", "generational", 7)
            store.commit_generation(GenerationState(gen, ("a", "b"), state, None, {"n": gen}))
        last = store.last_generation()
        rows = store.conn.execute("SELECT strategy_state, rng_state FROM generations").fetchall()
    assert last.generation == 1 and last.population == ("a", "b")
    assert last.strategy_state == {
        "strategy": "nsga2",
        "mode": "generational",
        "seed": 7,
        "restore": "replay",
    }
    assert last.rng_state is None and rows[0] == (json.dumps(last.strategy_state), "null")


def test_foreign_corrupted_and_missing_stores_are_one_line_errors(tmp_path):
    with pytest.raises(StoreError, match="no run store"):
        RunStore.open(tmp_path / "nothing")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable xnas run store"):
        RunStore.open(tmp_path / "garbage")
    (tmp_path / "foreign").mkdir()
    conn = sqlite3.connect(tmp_path / "foreign" / DB_NAME)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('app', 'something-else')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another program"):
        RunStore.open(tmp_path / "foreign")
    RunStore.create(tmp_path / "run", {}, {}).close()
    with pytest.raises(StoreError, match="already exists"):
        RunStore.create(tmp_path / "run", {}, {})


def test_the_store_imports_without_the_evaluation_stack():
    """Layering: reading a run needs neither torch nor pymoo nor scipy."""
    import subprocess
    import sys

    code = (
        "import sys, xnas.store, xnas.results; "
        "print(sorted(m for m in ('torch', 'pymoo', 'scipy', 'captum') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
