"""Bad input, every kind the issues found: one line naming what is wrong and what was
expected, exit code 2, no run directory created, and stores already there untouched."""

from __future__ import annotations

import hashlib

import pytest
import torch

from tests.conftest import REPO, cfg
from xnas.cli import main
from xnas.driver import run_search

DEMO = str(REPO / "experiments" / "demo" / "config.yaml")

SEARCH_OVERRIDES = [
    ("search.population=0", "search.population"),
    ("search.population=-3", "search.population"),
    ("search.seed=-1", "search.seed"),
    ("search.generations=0", "search.generations"),
    ("search.max_evaluations=-5", "search.max_evaluations"),
    ("train.epochs=-1", "train.epochs"),
    ("data.train_size=0", "data.train_size"),
    ("train.batch_size=0", "train.batch_size"),
    ("train.lr=-0.1", "train.lr"),
    ("data.val_fraction=1.0", "data.val_fraction"),
    ("space.channels=0", "space.channels"),
    ("objectives=[error, error]", "listed twice"),
    ("objectives=[error, {name: latency, constraint: '<= 1.2.3'}]", "1.2.3"),
    ("objectives=[error, introspection]", None),  # needs cost.extrapolate below
    ("train.device=cuda", "CUDA"),
    ("train.device=gpu0", "train.device"),
]


def digest(path) -> str:
    return hashlib.sha256((path / "xnas.sqlite").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    run = tmp_path_factory.mktemp("existing") / "run"
    run_search(cfg("search.generations=1"), run)
    return run, digest(run)


def one_line_exit_2(capsys, argv) -> str:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xnas: error: "), err
    return err[0]


@pytest.mark.slow
@pytest.mark.parametrize(("override", "named"), SEARCH_OVERRIDES)
def test_bad_search_config(override, named, tmp_path, capsys, existing):
    if override == "train.device=cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    extra = ["--set", "cost.extrapolate=true"] if named is None else []
    run_dir = tmp_path / "new"
    line = one_line_exit_2(
        capsys, ["search", DEMO, "--run-dir", str(run_dir), "--set", override, *extra]
    )
    assert (named or "cost.extrapolate") in line
    assert not run_dir.exists()
    assert digest(existing[0]) == existing[1]


@pytest.mark.slow
def test_search_into_an_existing_store_or_a_file(tmp_path, capsys, existing):
    run, before = existing
    assert "already exists" in one_line_exit_2(capsys, ["search", DEMO, "--run-dir", str(run)])
    f = tmp_path / "file"
    f.write_text("x")
    assert "is a file" in one_line_exit_2(capsys, ["search", DEMO, "--run-dir", str(f)])
    assert digest(run) == before and f.read_text() == "x"


def test_bad_config_files(tmp_path, capsys):
    assert "is a directory" in one_line_exit_2(capsys, ["search", str(tmp_path)])
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "search: {population: 4}\n"
    )
    assert "expands to more than" in one_line_exit_2(capsys, ["search", str(bomb)])
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("search: {strategy: caf\xe9}\n".encode("latin-1"))
    assert "not UTF-8" in one_line_exit_2(capsys, ["search", str(latin)])


def test_a_non_utf8_table(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_bytes("arch,error\n|caf\xe9~0|,0.1\n".encode("latin-1"))
    line = one_line_exit_2(
        capsys,
        [
            "search",
            DEMO,
            "--run-dir",
            str(tmp_path / "new"),
            "--set",
            "evaluator.name=tabular",
            "--set",
            f"evaluator.table={table}",
            "--set",
            "objectives=[error]",
        ],
    )
    assert "not UTF-8" in line and not (tmp_path / "new").exists()


def test_missing_data_roots(tmp_path, capsys):
    root = ["--set", "data.name=mnist", "--set", "data.root=/nonexistent"]
    assert "/nonexistent" in one_line_exit_2(
        capsys, ["search", DEMO, "--run-dir", str(tmp_path / "new"), *root]
    )
    assert not (tmp_path / "new").exists()
    assert "/nonexistent" in one_line_exit_2(capsys, ["evaluate", "--arch", "nb201-resnet", *root])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--classes", "-3"], "--classes"),
        (["--classes", "0"], "--classes"),
        (["--png", "x.txt"], ".png"),
    ],
)
def test_bad_arch_arguments(args, named, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert named in one_line_exit_2(capsys, ["arch", "nb201-resnet", *args])
    assert list(tmp_path.iterdir()) == []  # no drawing written


def test_arch_png_into_a_directory_and_unknown_names(capsys, tmp_path):
    assert "is a directory" in one_line_exit_2(
        capsys, ["arch", "nb201-resnet", "--png", str(tmp_path)]
    )
    line = one_line_exit_2(capsys, ["arch", "nb201-resnte"])
    assert "unknown reference 'nb201-resnte'" in line and "nb201-resnet" in line


@pytest.mark.slow
def test_outputs_into_missing_folders(existing, capsys, tmp_path):
    run, before = existing
    missing = str(tmp_path / "no" / "such" / "t.md")
    assert "does not exist" in one_line_exit_2(capsys, ["table", str(run), "-o", missing])
    assert "does not exist" in one_line_exit_2(capsys, ["export", str(run), "-o", missing])
    assert digest(run) == before


@pytest.mark.slow
def test_damaged_stores_are_one_line(tmp_path, capsys):
    import shutil
    import sqlite3

    run = tmp_path / "run"
    run_search(cfg("search.generations=1"), run)
    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    conn = sqlite3.connect(broken / "xnas.sqlite")  # a result that is not JSON any more
    conn.execute("UPDATE evaluations SET result = '{\"key\": ' WHERE rowid = 1")
    conn.commit()
    conn.close()
    assert "corrupt" in one_line_exit_2(capsys, ["status", str(broken)])
    pages = tmp_path / "pages"
    shutil.copytree(run, pages)
    db = pages / "xnas.sqlite"
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the header page
    db.write_bytes(bytes(data))
    for wal in pages.glob("xnas.sqlite-*"):
        wal.unlink()
    line = one_line_exit_2(capsys, ["status", str(pages)])
    assert "damaged" in line or "not a readable" in line
    zero = tmp_path / "zero"
    zero.mkdir()
    (zero / "xnas.sqlite").write_bytes(b"")
    one_line_exit_2(capsys, ["status", str(zero)])
    assert (zero / "xnas.sqlite").read_bytes() == b""  # a reader never rewrites a file
