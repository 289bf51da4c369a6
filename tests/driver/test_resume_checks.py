"""Resume verifies instead of trusting: a replay that asks for other genomes than the
stored generations, or other library versions, is refused with one line."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import cfg
from tests.conftest import xnas_cli as xnas
from xnas.driver import run_search
from xnas.store import RunStore


def extend(run, generations: int) -> None:
    conn = sqlite3.connect(run / "xnas.sqlite")
    conn.execute(
        "UPDATE meta SET value = json_set(value, '$.search.generations', ?) WHERE key='config'",
        (generations,),
    )
    conn.commit()
    conn.close()


@pytest.mark.slow
def test_a_tampered_generation_is_refused_on_resume(tmp_path):
    run = tmp_path / "run"
    run_search(cfg("search.generations=2"), run)
    extend(run, 3)
    conn = sqlite3.connect(run / "xnas.sqlite")
    (pop,) = conn.execute("SELECT population FROM generations WHERE generation = 1").fetchone()
    keys = json.loads(pop)
    keys[1] = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"  # someone edited it
    conn.execute("UPDATE generations SET population = ? WHERE generation = 1", (json.dumps(keys),))
    conn.commit()
    conn.close()
    before = (run / "xnas.sqlite").read_bytes()
    out = xnas("resume", str(run))
    assert out.returncode == 2
    (line,) = out.stderr.strip().splitlines()
    assert "generation 1" in line and "position 1" in line
    with RunStore.open(run) as store:
        assert store.last_generation().generation == 1  # nothing new was committed
    assert (run / "xnas.sqlite").read_bytes() == before


@pytest.mark.slow
def test_other_library_versions_are_refused_unless_allowed(tmp_path):
    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    extend(run, 2)
    conn = sqlite3.connect(run / "xnas.sqlite")
    conn.execute(
        "UPDATE meta SET value = json_set(value, '$.pymoo', '0.4.2.2') WHERE key='versions'"
    )
    conn.commit()
    conn.close()
    out = xnas("resume", str(run))
    assert out.returncode == 2 and "pymoo 0.4.2.2" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    ok = xnas("resume", str(run), "--allow-version-change")
    assert ok.returncode == 0, ok.stderr
    with RunStore.open(run) as store:
        assert store.last_generation().generation == 1
