"""The held-out test split and ``xnas retrain``: the search never sees the test samples,
the final split trains on exactly the search's train + validation samples, and a run's
front retrained on it is stored beside (never over) the search's results."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from tests.conftest import cfg, stored, xnas_cli
from xnas.config import DataConfig
from xnas.data import load_dataset
from xnas.errors import ConfigError, DataError


def _rows(x) -> list[bytes]:
    return [row.numpy().tobytes() for row in x]


def test_test_fraction_holds_out_samples_the_search_never_sees():
    search = load_dataset(DataConfig(name="digits", test_fraction=0.2, normalize=False))
    final = load_dataset(
        DataConfig(name="digits", test_fraction=0.2, normalize=False, split="final")
    )
    train, val, test = _rows(search.train.x), _rows(search.val.x), _rows(final.val.x)
    assert not set(test) & (set(train) | set(val))  # disjoint from everything searched
    assert len(set(test)) == len(test) == round(0.2 * 1797)
    # the final training set is the search's train + validation, sample for sample
    assert sorted(_rows(final.train.x)) == sorted(train + val)
    assert (final.scored, search.scored) == ("test", "validation")
    # every class is held out in proportion (stratified)
    counts = np.bincount(final.val.y.numpy(), minlength=10)
    assert counts.min() >= 0.2 * 170


def test_lines_test_stream_leaves_the_search_data_unchanged():
    from xnas.config import LinesOptions
    from xnas.data.synthetic import generate_lines

    cfg_ = DataConfig(name="lines", train_size=100, val_size=50, normalize=False)
    search = load_dataset(cfg_)
    # the search's images are what the two-stream generator drew before the test stream
    streams = np.random.SeedSequence(0).spawn(2)
    tx, _ = generate_lines(100, LinesOptions(), np.random.default_rng(streams[0]))
    assert np.array_equal(search.train.x.numpy(), tx)
    final = load_dataset(DataConfig(**{**cfg_.__dict__, "split": "final", "test_size": 40}))
    assert _rows(final.train.x) == _rows(search.train.x) + _rows(search.val.x)
    assert len(final.val) == 40
    assert not set(_rows(final.val.x)) & set(_rows(final.train.x))


def test_a_final_split_without_held_out_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="has no test split; expected data.test_fraction"):
        load_dataset(DataConfig(name="digits", split="final"))
    with pytest.raises(DataError, match="lines generates a fresh test set"):
        load_dataset(DataConfig(name="lines", test_fraction=0.2))
    rng = np.random.default_rng(0)
    path = tmp_path / "t.npz"
    np.savez(
        path,
        x_train=rng.random((40, 1, 8, 8), dtype=np.float32),
        y_train=np.arange(40) % 2,
        x_test=rng.random((10, 1, 8, 8), dtype=np.float32),
        y_test=np.arange(10) % 2,
    )
    with pytest.raises(DataError, match="has its own test split"):
        load_dataset(DataConfig(name="tensors", root=str(path), test_fraction=0.2))
    with pytest.raises(DataError, match="validated on the test split"):
        load_dataset(DataConfig(name="tensors", root=str(path), val_source="test", split="final"))
    with pytest.raises(ConfigError, match="data.test_fraction"):
        DataConfig(name="digits", test_fraction=1.0)


def test_the_final_config_keeps_the_searched_split_and_never_picks_an_epoch_on_test():
    from xnas.retrain import final_config

    run = cfg("data.name=digits", "data.test_fraction=0.2", "train.checkpoint=best")
    final = final_config(run, ["data.test_size=50", "data.split=search"])
    assert (final.data.split, final.data.test_size) == ("final", 50)
    assert final.train.checkpoint == "last"  # "best" would choose an epoch on test
    for bad in ("data.test_fraction=0.3", "data.seed=1", "data.val_size=20", "data.name=lines"):
        with pytest.raises(ConfigError, match="only data.test_size"):
            final_config(run, [bad])


def test_a_search_never_selects_on_the_test_split():
    from xnas.driver.checks import check_config

    with pytest.raises(ConfigError, match="for `xnas retrain` only"):
        check_config(cfg("data.split=final"))


def _final_rows(run_dir) -> list[tuple]:
    with sqlite3.connect(run_dir / "xnas.sqlite") as con:
        return con.execute("SELECT key, repeat, created FROM final ORDER BY rowid").fetchall()


@pytest.mark.slow
def test_retrain_scores_the_front_on_the_test_split_and_resumes(tmp_path):
    from xnas.driver import run_search
    from xnas.report import open_run
    from xnas.space import get_space
    from xnas.store import RunStore

    run = tmp_path / "run"
    run_search(cfg("objectives=[error, introspection]", "search.generations=1"), run)
    before = stored(run)
    out = xnas_cli("retrain", str(run), "--set", "data.test_size=80")
    assert out.returncode == 0, out.stderr
    view = open_run(run)
    space = get_space(view.cfg.space)
    with RunStore.open(run) as store:
        finals = store.finals()
    # one training per functional class of the front, each scored on the 80 test images
    classes = {space.equivalence(r.genome) for r in view.front}
    assert len(finals) == len(classes) >= 1
    assert {space.equivalence(view.get(k).genome) for k, _ in finals} == classes
    for result in finals.values():
        assert result.status == "ok"
        how = result.measurements["error"]
        assert (how["method"], how["samples"]) == ("test", 80)
        assert "final split" in how["dataset"]
        # whole samples of the 80
        assert abs(result.objectives["error"] * 80 - round(result.objectives["error"] * 80)) < 1e-6
    assert stored(run) == before  # the search's results are untouched
    rows = _final_rows(run)
    again = xnas_cli("retrain", str(run), "--set", "data.test_size=80")
    assert again.returncode == 0, again.stderr
    assert _final_rows(run) == rows  # nothing trained twice
    assert len(again.stdout.strip().splitlines()) == 1 + len(view.front)


@pytest.mark.slow
def test_retrain_of_a_run_without_a_test_split_exits_2_and_stores_nothing(tmp_path):
    from xnas.driver import run_search

    run = tmp_path / "digits"
    run_search(
        cfg("data.name=digits", "data.train_size=100", "data.val_size=50", "search.generations=1"),
        run,
    )
    image = (run / "xnas.sqlite").read_bytes()
    out = xnas_cli("retrain", str(run))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "data.test_fraction" in lines[0], out.stderr
    assert (run / "xnas.sqlite").read_bytes() == image
    bad = xnas_cli("retrain", str(run), "--arch", "nonsense")
    assert bad.returncode == 2 and "nonsense" in bad.stderr
    # a test split drawn after the search would be searched samples: refused
    late = xnas_cli("retrain", str(run), "--set", "data.test_fraction=0.2")
    assert late.returncode == 2 and "only data.test_size" in late.stderr
    assert (run / "xnas.sqlite").read_bytes() == image
