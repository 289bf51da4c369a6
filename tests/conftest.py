"""Shared fixtures: the real offline data in ../shared/data and a private cache dir."""

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
