"""A run directory is self-contained and guarded: weights are found relative to it, a copy
touches nothing of the original, readers never write, and one writer at a time."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from tests.conftest import REPO, cfg
from tests.conftest import xnas_cli as xnas
from xnas.driver import run_search
from xnas.errors import StoreError
from xnas.store import RunStore

INHERIT = ["cost.inherit=true", "cost.inherit_epochs=1", "cost.keep_weights=2"]


def digest(path) -> dict[str, str]:
    """Every file under ``path`` with the hash of its bytes."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_a_copied_run_resumed_elsewhere_touches_nothing_of_the_original(tmp_path):
    run = tmp_path / "run"
    run_search(cfg(*INHERIT, "search.generations=2"), run)
    # extend the budget in the stored config so that resume has work to do
    import sqlite3

    conn = sqlite3.connect(run / "xnas.sqlite")
    conn.execute(
        "UPDATE meta SET value = json_set(value, '$.search.generations', 4) WHERE key='config'"
    )
    conn.commit()
    conn.close()
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    before = digest(run)
    out = xnas("resume", str(copy), cwd="/")
    assert out.returncode == 0, out.stderr
    assert digest(run) == before  # not one byte of the original changed
    with RunStore.open(copy) as store:
        copied = [r for *_, r in store.results()]
        later = [r for g, _, r in store.results() if g >= 2]
    trained = [r for r in later if r.reused_from is None]  # a reuse trains nothing
    assert trained and all(r.donor_key for r in trained)  # inheritance found the weights
    in_place = xnas("resume", str(run))
    assert in_place.returncode == 0, in_place.stderr
    with RunStore.open(run) as store:
        resumed = [r for *_, r in store.results()]
    assert [(r.key, r.objectives) for r in resumed] == [(r.key, r.objectives) for r in copied]


@pytest.mark.slow
def test_a_stored_path_outside_the_run_is_never_deleted(tmp_path):
    victim = tmp_path / "precious.pt"
    victim.write_bytes(b"not yours")
    run = tmp_path / "run"
    run_search(cfg(*INHERIT, "search.generations=1"), run)
    import sqlite3

    conn = sqlite3.connect(run / "xnas.sqlite")  # a hostile store points at another file
    conn.execute(
        "UPDATE evaluations SET result = json_set(result, '$.weights_path', ?)", (str(victim),)
    )
    conn.commit()
    conn.close()
    conn = sqlite3.connect(run / "xnas.sqlite")
    conn.execute(
        "UPDATE meta SET value = json_set(value, '$.search.generations', 3) WHERE key='config'"
    )
    conn.commit()
    conn.close()
    run_search(None, run, resume=True)
    assert victim.read_bytes() == b"not yours"


@pytest.mark.slow
def test_status_leaves_the_store_byte_identical(tmp_path):
    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    before = (run / "xnas.sqlite").read_bytes()
    for cmd in (["status", str(run)], ["table", str(run)], ["export", str(run), "-o", "-"]):
        out = xnas(*cmd)
        assert out.returncode == 0, out.stderr
    assert (run / "xnas.sqlite").read_bytes() == before


@pytest.mark.slow
def test_same_seed_same_hypervolume_through_the_cli_and_the_api(tmp_path):
    c = [
        "--set",
        "search.population=4",
        "--set",
        "search.generations=2",
        "--set",
        "data.train_size=120",
        "--set",
        "data.val_size=60",
        "--set",
        "space.channels=4",
        "--set",
        "train.epochs=1",
        "--set",
        "objectives=[error, params]",
    ]
    out = xnas("search", "experiments/demo/config.yaml", "--run-dir", str(tmp_path / "cli"), *c)
    assert out.returncode == 0, out.stderr
    from xnas.config import load_config

    api = load_config(REPO / "experiments/demo/config.yaml", [s for s in c if s != "--set"])
    run_search(api, tmp_path / "api")  # no callback
    refs, hvs = [], []
    for name in ("cli", "api"):
        with RunStore.open(tmp_path / name) as store:
            refs.append(store.meta("hv_reference"))
        hvs.append(xnas("status", str(tmp_path / name)).stdout.split("hypervolume")[1].split()[0])
    assert refs[0] == refs[1] and hvs[0] == hvs[1]


@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    with RunStore.open(run, write=True):  # this process holds the run, as a search would
        out = xnas("resume", str(run))
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0] and "in use" in lines[0]
        status = xnas("status", str(run))  # readers still work during a run
        assert status.returncode == 0, status.stderr
    with pytest.raises(StoreError, match="in use"), RunStore.open(run, write=True):
        RunStore.open(run, write=True)


def test_a_file_as_run_dir_and_a_killed_creation_are_handled(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        RunStore.create(f, {}, {})
    run = tmp_path / "run"
    run.mkdir()
    (run / "xnas.sqlite.creating").write_bytes(b"half")  # a kill during creation
    RunStore.create(run, {}, {}).close()  # a new search takes the directory
    with RunStore.open(run) as store:
        assert store.count() == 0


@pytest.mark.slow
def test_status_reads_a_run_without_importing_torch(tmp_path):
    """Layering: ``xnas status`` needs the store, the config and the objective
    declarations, never the evaluation stack (it starts in a fraction of a second)."""
    import subprocess
    import sys

    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    code = (
        "import sys; from xnas.cli import main; rc = main(['status', sys.argv[1]]); "
        "print('LOADED', sorted(m for m in ('torch', 'captum', 'scipy') if m in sys.modules), rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(run)], capture_output=True, text=True, check=True
    ).stdout
    assert "front" in out and out.strip().splitlines()[-1] == "LOADED [] 0"
