"""Shared fixtures and helpers: a tiny real search config (``cfg``), the stored rows of a
run, an evaluator wrapper that counts, fails or 'kills'; the real offline data in
../shared/data and a private cache dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# One torch/OpenMP thread per test process (and its subprocesses): on a 2-core machine two
# spinning OpenMP pools slow the suite by an order of magnitude when anything else runs.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]

# a small real search: NB201 at C=4 on 120 `lines` images, one epoch per genome
BASE = [
    "search.population=4",
    "search.generations=3",
    "search.seed=0",
    "space.name=nb201",
    "space.channels=4",
    "space.layers=1",
    "data.name=lines",
    "data.train_size=120",
    "data.val_size=60",
    "train.epochs=1",
    "objectives=[error, params]",
]


# a small search with every cost saver that decides something on the way: rungs with
# promotions, inheritance from donors, weight pruning (the kill matrices run it)
LADDER = [
    "search.population=6",
    "search.generations=3",
    "train.epochs=2",
    "cost.fidelity=true",
    "cost.eta=2",
    "cost.rungs=2",
    "cost.inherit=true",
    "cost.inherit_epochs=2",
    "cost.keep_weights=2",
]


def cfg(*extra: str):
    """``BASE`` with ``extra`` overrides, as a Config."""
    from xnas.config import load_config

    return load_config(None, [*BASE, *extra])


def stored(run_dir) -> list[tuple[int, str, str]]:
    """(generation, key, status) of every stored result, in stored order."""
    from xnas.store import RunStore

    with RunStore.open(run_dir) as store:
        return [(g, r.key, r.status) for g, _, r in store.results()]


def rows(run_dir) -> list:
    """(generation, violation, result) of every stored result, in stored order."""
    from xnas.store import RunStore

    with RunStore.open(run_dir) as store:
        return list(store.results())


class Counting:
    """Wraps the real evaluate; optionally fails one task or stops the run (a 'kill')."""

    def __init__(self, fail_index=None, kill_after=None):
        self.calls, self.fail_index, self.kill_after = [], fail_index, kill_after

    def __call__(self, task):
        from xnas.evaluate import evaluate

        if self.kill_after is not None and len(self.calls) == self.kill_after:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(task.key)
        if len(self.calls) - 1 == self.fail_index:
            raise RuntimeError(f"injected-failure for {task.key}")
        return evaluate(task)


def xnas_cli(*args: str, cwd: str | Path = "") -> subprocess.CompletedProcess:
    """The real ``python -m xnas`` in a fresh process (from any working directory)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "xnas", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


SHARED_DATA = Path(os.environ.get("XNAS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests run with one torch thread; a test that changes it gets it restored."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


_STEPS = [0]  # optimizer steps taken in this process (test setup included)
_STEPS_BEFORE = pytest.StashKey[int]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Count optimizer steps, so a test that trains unmarked is caught (below)."""
    import torch

    real = torch.optim.SGD.step

    def counted(self, *args, **kwargs):
        _STEPS[0] += 1
        return real(self, *args, **kwargs)

    torch.optim.SGD.step = counted


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    item.stash[_STEPS_BEFORE] = _STEPS[0]  # before module fixtures that train, too
    yield


@pytest.fixture(autouse=True)
def _training_is_marked_slow(request):
    """A test that trains (an optimizer step in this process, its fixtures' included) must
    be marked ``slow``, so that ``-m "not slow and not mpi"`` stays a quick loop. Tests
    that train in a subprocess (the CLI) are marked by hand."""
    yield
    steps = _STEPS[0] - request.node.stash.get(_STEPS_BEFORE, _STEPS[0])
    if steps and request.node.get_closest_marker("slow") is None:
        pytest.fail(
            f"{request.node.nodeid} trains ({steps} optimizer steps): mark it @pytest.mark.slow",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tarball extraction goes to a per-session folder, never the user's ~/.cache."""
    os.environ["XNAS_CACHE"] = str(tmp_path_factory.mktemp("xnas-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(
            f"real offline data not found at {SHARED_DATA} (outside users: set XNAS_SHARED_DATA "
            "to a folder holding MNIST/raw/ and cifar10-jpg.tar.gz)"
        )
    return SHARED_DATA
