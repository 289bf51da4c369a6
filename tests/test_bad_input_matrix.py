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


# ---------------------------------------------------------------- the probe's cases, fixed
MEASURE_AND_PARALLEL = [
    ("parallel.task_timeout=.inf", "parallel.task_timeout"),
    ("parallel.task_timeout=1e12", "parallel.task_timeout"),
    ("parallel.task_timeout=0", "parallel.task_timeout"),
    ("parallel.poll_interval=5", "parallel.poll_interval"),
    ("measure.latency_repeats=0", "measure.latency_repeats"),
    ("measure.latency_impls=[bogus]", "unknown implementation 'bogus'"),
    ("measure.latency_impls=[]", "measure.latency_impls"),
    ("measure.latency_batch=0", "measure.latency_batch"),
    ("measure.latency_warmup=-1", "measure.latency_warmup"),
    ("measure.energy_repeats=0", "measure.energy_repeats"),
    ("measure.introspection_samples=0", "measure.introspection_samples"),
    ("measure.introspection_batch=0", "measure.introspection_batch"),
    ("measure.mcd_samples=0", "measure.mcd_samples"),
    ("measure.mcd_steps=0", "measure.mcd_steps"),
    ("measure.mcd_top_fraction=0", "measure.mcd_top_fraction"),
    ("search.max_wall_time=.inf", "search.max_wall_time"),
    ("data.val_size=10000000", "GiB"),  # generated data larger than this machine's memory
]


@pytest.mark.parametrize(("override", "named"), MEASURE_AND_PARALLEL)
def test_every_measure_and_parallel_field_is_checked_when_read(override, named, tmp_path, capsys):
    run_dir = tmp_path / "new"
    line = one_line_exit_2(capsys, ["search", DEMO, "--run-dir", str(run_dir), "--set", override])
    assert named in line and not run_dir.exists()


def test_a_huge_config_file_is_refused_by_its_size_before_parsing(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2_000_000 + "\nsearch: {population: 4}\n")
    line = one_line_exit_2(capsys, ["search", str(big), "--run-dir", str(tmp_path / "r")])
    assert "bytes" in line and not (tmp_path / "r").exists()


def test_run_directory_names_the_system_cannot_hold(tmp_path, capsys):
    long_name = tmp_path / ("n" * 300)
    assert "folder name" in one_line_exit_2(capsys, ["search", DEMO, "--run-dir", str(long_name)])
    deep = tmp_path.joinpath(*(["d" * 200] * 25))  # over PATH_MAX in total
    assert "path has" in one_line_exit_2(capsys, ["search", DEMO, "--run-dir", str(deep)])
    assert list(tmp_path.iterdir()) == []  # no folders left behind


def test_an_unreadable_image_in_an_imagefolder_is_named(tmp_path, capsys):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(9):
            Image.new("RGB", (8, 8), (20 * i, 0, 0)).save(tmp_path / "data" / label / f"{i}.png")
    (tmp_path / "data" / "b" / "9.png").write_text("junk")
    sets = ["--set", "data.name=imagefolder", "--set", f"data.root={tmp_path / 'data'}"]
    sets += ["--set", "data.val_fraction=0.5"]
    line = one_line_exit_2(capsys, ["data", *sets])
    assert "9.png" in line and "not a readable image" in line
    sizes = ["--set", "data.train_size=6", "--set", "data.val_size=6"]
    line = one_line_exit_2(
        capsys, ["search", DEMO, "--run-dir", str(tmp_path / "r"), *sets, *sizes]
    )
    assert "9.png" in line and not (tmp_path / "r").exists()


def _damage(run, tmp_path, name: str, sql: str):
    import shutil
    import sqlite3

    copy = tmp_path / name
    shutil.copytree(run, copy)
    with sqlite3.connect(copy / "xnas.sqlite") as conn:
        conn.execute(sql)
    return copy


DAMAGE = [
    (
        "objective",
        "UPDATE evaluations SET result = json_set(result, '$.objectives.error', 'abc') "
        "WHERE rowid = 1",
        "objective 'error' is 'abc'",
    ),
    ("state", "UPDATE generations SET strategy_state = 'garbage'", "is corrupt"),
    ("counters", "UPDATE generations SET counters = '{bad'", "is corrupt"),
    ("population", "UPDATE generations SET population = '[1, 2]'", "population"),
    ("reference", "UPDATE meta SET value = '\"garbage\"' WHERE key = 'hv_reference'", "corrupt"),
    ("reference-length", "UPDATE meta SET value = '[1.0]' WHERE key = 'hv_reference'", "1 values"),
    ("versions", "UPDATE meta SET value = '[1]' WHERE key = 'versions'", "'versions' is corrupt"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "sql", "says"), DAMAGE)
def test_store_damage_outside_the_result_json_is_one_line_everywhere(
    name, sql, says, existing, tmp_path, capsys
):
    run, before = existing
    broken = _damage(run, tmp_path, name, sql)
    for argv in (
        ["status", str(broken)],
        ["table", str(broken)],
        ["export", str(broken)],
        ["resume", str(broken)],
    ):
        assert says in one_line_exit_2(capsys, argv), argv
    assert digest(run) == before


@pytest.mark.slow
def test_results_tables_check_gives_bad_input_its_own_exit_code(existing, tmp_path):
    import shutil
    import subprocess
    import sys

    run, _ = existing
    results = tmp_path / "results"
    broken = _damage(run, tmp_path, "x", DAMAGE[0][1])
    shutil.copytree(broken, results / "xnas-lines" / "so-seed0")
    shutil.copytree(run, results / "xnas-lines" / "mo-seed0")
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "analysis" / "results_tables.py"),
            "--results",
            str(results),
            "--check",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr  # 1 means "the tables differ"
    assert done.stderr.count("\n") == 1 and "objective 'error' is 'abc'" in done.stderr


@pytest.mark.slow
def test_export_refuses_what_it_cannot_write_right(existing, tmp_path, capsys):
    import shutil

    run, before = existing
    onnx = str(tmp_path / "x.onnx")
    assert "--arch" in one_line_exit_2(capsys, ["export", str(run), "--format", "onnx", "-o", onnx])
    assert ".csv" in one_line_exit_2(capsys, ["export", str(run), "-o", onnx])
    from xnas.report import open_run

    view = open_run(run)
    key = view.front_keys[0]
    assert ".pt2" in one_line_exit_2(capsys, ["export", str(run), "--arch", key, "-o", onnx])
    assert not (tmp_path / "x.onnx").exists()
    # a corrupt weights file (a copy of the run, its file overwritten)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    weights = copy / view.get(key).weights_path
    weights.write_bytes(b"not a state dict")
    line = one_line_exit_2(capsys, ["export", str(copy), "--arch", key])
    assert "cannot be loaded" in line
    assert digest(run) == before


@pytest.mark.slow
def test_a_reused_key_exports_its_class_representatives_weights(tmp_path, capsys):
    from xnas.report import open_run

    run = tmp_path / "r"
    run_search(cfg("search.generations=3", "search.population=8"), run)
    view = open_run(run)
    reused = next((r for r in view.results if r.reused_from is not None), None)
    if reused is None:
        pytest.skip("no reuse in this run (the seed gave none)")
    assert main(["export", str(run), "--arch", reused.key]) == 0
    out = capsys.readouterr().out
    assert f"weights      of {reused.reused_from}" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "sql", "says"),
    [
        ("suspects", "INSERT OR REPLACE INTO meta VALUES ('suspects', '[1, 2]')", "suspects"),
        ("energy", "INSERT OR REPLACE INTO meta VALUES ('energy_source', '42')", "energy_source"),
    ],
)
def test_damaged_resume_state_is_one_line(name, sql, says, existing, tmp_path, capsys):
    run, before = existing
    broken = _damage(run, tmp_path, name, sql)
    assert says in one_line_exit_2(capsys, ["resume", str(broken)])
    assert digest(run) == before


@pytest.mark.slow
def test_foreign_things_in_the_inflight_folder_are_ignored(existing, tmp_path, capsys):
    import shutil

    run, _ = existing
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "inflight" / "a-folder").mkdir(parents=True)
    (copy / "inflight" / "host-1").write_bytes(b"\xff\xfe\x00 not a key")
    assert main(["resume", str(copy)]) == 0
    assert (copy / "inflight" / "a-folder").is_dir()  # not ours: left alone
