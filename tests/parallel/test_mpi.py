"""Real ``mpiexec`` jobs (the PyPI mpich wheel's launcher): placement, faults, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import LADDER, REPO
from tests.parallel.faults import SEARCH, first_keys
from xnas.config import load_config, to_dict
from xnas.store import RunStore

MPIEXEC = Path(sys.executable).parent / "mpiexec"
XNAS = [sys.executable, "-m", "xnas"]

pytestmark = [
    pytest.mark.mpi,
    pytest.mark.skipif(
        not MPIEXEC.exists(), reason="needs the mpich wheel's mpiexec in the venv (make test)"
    ),
]


def run(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """A command from the repository root with the tests' environment, output captured."""
    return subprocess.run(
        list(args), cwd=REPO, capture_output=True, text=True, timeout=timeout, env=_env(), **kwargs
    )


def mpiexec(n: int, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return run(str(MPIEXEC), "-n", str(n), *args, timeout=timeout, **kwargs)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env.pop("PMI_SIZE", None)
    return env


def rows(run_dir: Path) -> list[tuple[int, str, str, int]]:
    with RunStore.open(run_dir) as store:
        return [(g, r.key, r.status, r.rank) for g, _, r in store.results()]


def front(run_dir: Path) -> list[str]:
    from xnas.report.status import search_status

    return search_status(run_dir)["front"]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> str:
    """The fault module's search as a YAML file (what users pass to `xnas search`)."""
    path = tmp_path_factory.mktemp("config") / "search.yaml"
    path.write_text(yaml.safe_dump(to_dict(load_config(None, SEARCH))))
    return str(path)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory, config) -> Path:
    """The same search in one process with one torch thread, as every MPI rank has."""
    run_dir = tmp_path_factory.mktemp("serial") / "run"
    done = run(
        *XNAS, "search", config, "--set=parallel.threads_per_rank=1", "--run-dir", str(run_dir)
    )
    assert done.returncode == 0, done.stderr
    return run_dir


@pytest.mark.parametrize("ranks", [2, 3])
def test_mpi_search_records_every_evaluation_once_with_its_rank(
    ranks, tmp_path, config, serial_run
):
    run_dir = tmp_path / "run"
    done = mpiexec(ranks, *XNAS, "search", config, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("front (") == 1  # only the driver reports
    got = rows(run_dir)
    keys = [k for _, k, _, _ in got]
    assert len(keys) == len(set(keys)) == len(rows(serial_run))
    assert {r for *_, r in got} == set(range(1, ranks))  # evaluator ranks only, all of them
    assert all(status == "ok" for _, _, status, _ in got)
    # generational mode: the same genomes and front on any number of ranks
    assert sorted(keys) == sorted(k for _, k, _, _ in rows(serial_run))
    assert front(run_dir) == front(serial_run)


def test_rungs_spread_over_ranks_and_promote_as_in_one_process(tmp_path, config):
    """cost.fidelity under mpiexec: rung tasks run on both evaluator ranks, promotions
    are decided on whole rungs, so statuses, epochs and the front equal a serial run's."""
    fid = [
        "--set=cost.fidelity=true",
        "--set=cost.rungs=2",
        "--set=train.epochs=3",
        "--set=search.population=6",
    ]
    serial = tmp_path / "serial"
    done = run(
        *XNAS, "search", config, "--set=parallel.threads_per_rank=1", *fid, "--run-dir", str(serial)
    )
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "mpi"
    done = mpiexec(3, *XNAS, "search", config, *fid, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr

    def final(path):
        with RunStore.open(path) as store:
            results = {r.key: (r.status, r.epochs, r.curve) for _, _, r in store.results()}
            ranks = {r.rank for _, _, r in store.rungs()} | {
                r.rank for _, _, r in store.results() if r.status == "ok"
            }
        return results, ranks

    (mpi, ranks), (one, _) = final(run_dir), final(serial)
    assert mpi == one
    assert {s for s, _, _ in mpi.values()} == {"ok", "partial"}
    assert ranks == {1, 2}
    assert front(run_dir) == front(serial)


def test_raise_and_nan_are_stored_as_failed_and_the_search_completes(tmp_path):
    run_dir = tmp_path / "run"
    done = mpiexec(3, sys.executable, "-m", "tests.parallel.faults", str(run_dir), "ok")
    assert done.returncode == 0, done.stderr
    keys = first_keys(load_config(None, SEARCH))
    with RunStore.open(run_dir) as store:
        raised, nan = store.get(keys[0]), store.get(keys[1])
        assert store.count() == len({r.key for _, _, r in store.results()})
        assert store.last_generation().generation == 1  # both generations ran
    assert raised.status == "failed" and raised.rank in (1, 2)
    assert "RuntimeError: injected failure" in raised.error and "Traceback" in raised.error
    assert nan.status == "failed" and "non-finite" in nan.error


def test_a_hung_evaluation_times_out_and_the_search_completes(tmp_path):
    run_dir = tmp_path / "run"
    done = mpiexec(
        3,
        sys.executable,
        "-m",
        "tests.parallel.faults",
        str(run_dir),
        "hang",
        "parallel.task_timeout=4",
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    keys = first_keys(load_config(None, SEARCH))
    with RunStore.open(run_dir) as store:
        hung = store.get(keys[2])
        assert store.last_generation().generation == 1  # both generations ran
        others = [r for *_, r in store.results() if r.key not in keys[:3]]
    assert hung.status == "failed" and "timed out after 4 s" in hung.error
    assert hung.rank in (1, 2) and others and all(r.status == "ok" for r in others)
    # the rank that timed out went on evaluating
    assert hung.rank in {r.rank for r in others}


def test_a_genome_that_keeps_killing_its_worker_is_recorded_and_the_run_goes_on(tmp_path):
    """1st job: the genome kills its worker (job aborted). 2nd (resume): every genome that
    was running then is retried alone; the culprit kills its worker again. 3rd: it was
    present at two deaths, the second time alone: stored as 'worker died', run completes."""
    run_dir = tmp_path / "run"
    args = (sys.executable, "-m", "tests.parallel.faults", str(run_dir))
    first = mpiexec(3, *args, "die")
    assert first.returncode != 0
    second = mpiexec(3, *args, "resume-die")
    assert second.returncode != 0  # it kills its worker again, running alone this time
    keys = first_keys(load_config(None, SEARCH))
    with RunStore.open(run_dir) as store:
        assert store.meta("suspects").get(keys[2]) == 1  # the first death is on record
        assert keys[2] not in store
    third = mpiexec(3, *args, "resume-die")
    assert third.returncode == 0, third.stderr
    with RunStore.open(run_dir) as store:
        culprit = store.get(keys[2])
        assert store.last_generation().generation == 1  # the run completed
        assert store.meta("suspects") == {}
        others = [r for *_, r in store.results() if r.key not in keys[:3]]
    assert culprit.status == "failed" and culprit.error.startswith("worker died")
    assert others and all(r.status == "ok" for r in others)  # innocents were evaluated


def test_a_dying_worker_aborts_the_job_and_resume_completes_it(tmp_path, serial_run):
    run_dir = tmp_path / "run"
    done = mpiexec(3, sys.executable, "-m", "tests.parallel.faults", str(run_dir), "die")
    assert done.returncode != 0  # aborted (a hang would end in mpiexec's timeout instead)
    before = {k for _, k, _, _ in rows(run_dir)}
    dead = first_keys(load_config(None, SEARCH))[2]
    assert dead not in before
    resumed = subprocess.run(
        [*XNAS, "resume", str(run_dir)], cwd=REPO, capture_output=True, text=True, env=_env()
    )
    assert resumed.returncode == 0, resumed.stderr
    after = rows(run_dir)
    keys = {k for _, k, _, _ in after}
    assert before <= keys and len(keys) == len(after)  # nothing lost, nothing twice
    assert dead in keys
    with RunStore.open(run_dir) as store:
        assert store.last_generation().generation == 1


def test_an_uncaught_driver_error_aborts_every_rank(tmp_path):
    done = mpiexec(3, sys.executable, "-m", "tests.parallel.faults", str(tmp_path / "r"), "crash")
    assert done.returncode != 0
    assert "aborting all MPI ranks" in done.stderr and "a bug in the driver" in done.stderr
    assert len(rows(tmp_path / "r")) >= 4  # the first generation's results stay stored


def _count(run_dir: Path) -> int:
    db = run_dir / "xnas.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_kill_9_of_the_whole_job_then_resume_gives_the_uninterrupted_front(tmp_path, config):
    longer = ["--set=search.generations=4", "--set=data.train_size=400"]
    reference = tmp_path / "reference"
    done = mpiexec(2, *XNAS, "search", config, *longer, "--run-dir", str(reference))
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "run"
    job = subprocess.Popen(
        [str(MPIEXEC), "-n", "3", *XNAS, "search", config, *longer, "--run-dir", str(run_dir)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: mpiexec, proxies and ranks
    )
    deadline = time.monotonic() + 240
    while _count(run_dir) < 6 and time.monotonic() < deadline:  # inside generation 1
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(timeout=30)
    before = {k for _, k, _, _ in rows(run_dir)}
    assert 6 <= len(before) < len(rows(reference))
    resumed = mpiexec(2, *XNAS, "resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    after = rows(run_dir)
    assert before <= {k for _, k, _, _ in after}
    assert len(after) == len(rows(reference))  # nothing repeated, nothing missing
    assert front(run_dir) == front(reference)


def test_steady_state_on_two_evaluators_spends_the_budget_once_per_key(tmp_path, config):
    run_dir = tmp_path / "run"
    done = mpiexec(
        3, *XNAS, "search", config, "--set=search.mode=steady_state", "--run-dir", str(run_dir)
    )
    assert done.returncode == 0, done.stderr
    got = rows(run_dir)
    keys = [k for _, k, _, _ in got]
    assert len(keys) == len(set(keys)) == 8  # population 4 x 2 generations
    assert {r for *_, r in got} == {1, 2}
    with RunStore.open(run_dir) as store:
        assert store.last_generation().generation == 1


def test_run_sh_launches_on_the_given_ranks_and_a_second_call_resumes(tmp_path):
    run_dir = tmp_path / "run"
    small = [
        "--set=search.population=4",
        "--set=search.generations=1",
        "--set=data.train_size=96",
        "--set=data.val_size=48",
        "--set=train.epochs=1",
        "--set=objectives=[error, params]",
    ]
    script = str(REPO / "experiments" / "demo" / "run.sh")
    env = {**_env(), "PYTHON": sys.executable, "MPIEXEC": str(MPIEXEC)}
    first = subprocess.run(
        [script, "3", str(run_dir), *small], capture_output=True, text=True, env=env, timeout=300
    )
    assert first.returncode == 0, first.stderr
    assert f"-n 3 {sys.executable} -m xnas search" in first.stderr
    assert {r for *_, r in rows(run_dir)} == {1, 2}
    again = subprocess.run([script, "2", str(run_dir)], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    assert f"-m xnas resume {run_dir}" in again.stderr
    assert len(rows(run_dir)) == 4  # finished run: nothing re-evaluated


def test_inheritance_and_early_stopping_under_mpi(tmp_path, config):
    run_dir = tmp_path / "run"
    cost = [
        "--set=cost.inherit=true",
        "--set=cost.inherit_epochs=1",
        "--set=cost.extrapolate=true",
        "--set=cost.min_epochs=2",
        "--set=train.epochs=4",
        "--set=search.generations=3",
    ]
    done = mpiexec(3, *XNAS, "search", config, *cost, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    with RunStore.open(run_dir) as store:
        results = [(g, r) for g, _, r in store.results()]
    trained = [(g, r) for g, r in results if r.reused_from is None]  # a reuse trains nothing
    later = [r for g, r in trained if g > 0]
    assert {r.rank for _, r in results} == {1, 2}
    assert later and all(r.donor_key and r.inherited_fraction > 0 and r.epochs == 1 for r in later)
    gen0 = {r.key for g, r in trained if g == 0}
    assert all(r.donor_key in gen0 for g, r in trained if g == 1)  # only earlier generations
    first = [r for g, r in trained if g == 0]
    assert all(r.epochs < 4 or "first_prediction" in r.measurements["error"] for r in first)


def test_a_timeout_measures_the_evaluation_not_the_ranks_start_up(tmp_path):
    """MNIST takes ~2 s to load and the first optimizer step imports ~900 modules: on a
    fresh rank that is start-up, done before the timer (``TrainEvaluator.prepare``), so
    genomes that train in well under the timeout are never stored as timed out."""
    data = REPO.parent / "shared" / "data"
    if not (data / "MNIST" / "raw").is_dir():
        pytest.skip("needs ../shared/data/MNIST")
    run_dir = tmp_path / "run"
    sets = [
        *SEARCH,
        "search.generations=1",
        "data.name=mnist",
        f"data.root={data}",
        "data.train_size=100",
        "data.val_size=50",
        "parallel.task_timeout=2.5",
    ]
    (tmp_path / "c.yaml").write_text("{}\n")
    done = mpiexec(
        3,
        *XNAS,
        "search",
        str(tmp_path / "c.yaml"),
        "--run-dir",
        str(run_dir),
        *[a for s in sets for a in ("--set", s)],
    )
    assert done.returncode == 0, done.stderr
    assert [s for _, _, s, _ in rows(run_dir)] == ["ok"] * 4  # none timed out


def decisions(run_dir: Path):
    """What a run decided: per key its status, donor, epochs; rung rows; generations."""
    with RunStore.open(run_dir) as store:
        finals = {r.key: (g, r.status, r.donor_key, r.epochs) for g, _, r in store.results()}
        rungs = {(r.key, r.rung): (g, r.donor_key) for g, _, r in store.rungs()}
        gens = [(g.generation, g.population, g.counters) for g in store.generations()]
    return finals, rungs, gens


@pytest.mark.slow
def test_kill_9_of_the_driver_mid_ladder_then_resume_decides_as_uninterrupted(tmp_path):
    """Inheritance + rungs + kept weights on 2 evaluator ranks: rank 0 is SIGKILLed right
    after its k-th commit (mid rung, at a promotion, at a generation's end), the job is
    resumed, and every decision (donors, promotions, partials, counters) equals an
    uninterrupted run's, whatever order results arrived in."""
    full = tmp_path / "full"
    done = mpiexec(3, sys.executable, "-m", "tests.parallel.faults", str(full), "clean", *LADDER)
    assert done.returncode == 0, done.stderr
    expected = decisions(full)
    commits = len(expected[0])
    for k in sorted({5, commits // 2, commits - 4}):
        run_dir = tmp_path / f"cut{k}"
        killed = mpiexec(
            3,
            sys.executable,
            "-m",
            "tests.parallel.faults",
            str(run_dir),
            f"kill-after-{k}",
            *LADDER,
        )
        assert killed.returncode != 0  # the job died with its driver
        resumed = mpiexec(3, *XNAS, "resume", str(run_dir))
        assert resumed.returncode == 0, resumed.stderr
        assert decisions(run_dir) == expected, k


def test_screenings_run_on_the_evaluator_ranks_and_decide_as_in_one_process(tmp_path, config):
    """A proxy-assisted search (warm start + filtering) under mpiexec: the screenings are
    spread over the evaluator ranks, and the generations equal a one-process run's."""
    proxy = [
        "--set=search.proxy=naswot",
        "--set=search.proxy_warm_start=4",
        "--set=search.proxy_filter=3",
        "--set=measure.proxy_batch=16",
        "--set=parallel.threads_per_rank=1",
    ]

    def generations(run_dir):
        with RunStore.open(run_dir) as store:
            return [list(g.population) for g in store.generations()], store.screened()

    serial = tmp_path / "serial"
    done = run(*XNAS, "search", config, *proxy, "--run-dir", str(serial))
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "mpi"
    done = mpiexec(3, *XNAS, "search", config, *proxy, "--run-dir", str(run_dir))
    assert done.returncode == 0, done.stderr
    gens, screened = generations(run_dir)
    assert gens == generations(serial)[0]
    assert {r.rank for r in screened.values()} == {1, 2}
