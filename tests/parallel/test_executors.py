"""Backend choice from the launcher's environment, and the wrapper around every evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import cfg
from xnas.config import ParallelConfig
from xnas.driver import make_task
from xnas.errors import ConfigError
from xnas.evaluate import EvalResult
from xnas.parallel import call_task, launch, open_executor, world_rank, world_size
from xnas.parallel.base import resolve_backend
from xnas.space import get_space


@pytest.fixture
def task():
    c = cfg()
    space = get_space(c.space)
    return make_task(c, space, space.sample(np.random.default_rng(0)))


def _ok(task, **objectives) -> EvalResult:
    return EvalResult(task.key, task.genome, "ok", objectives, {})


@pytest.mark.parametrize(
    ("env", "backend", "expected"),
    [
        ({}, "auto", "serial"),
        ({"PMI_SIZE": "3", "PMI_RANK": "2"}, "auto", "mpi"),
        ({"OMPI_COMM_WORLD_SIZE": "2"}, "auto", "mpi"),
        ({"PMI_SIZE": "1"}, "auto", "serial"),
        ({"SLURM_NTASKS": "8", "SLURM_PROCID": "3"}, "auto", "serial"),  # sbatch, no srun step
    ],
)
def test_backend_follows_the_launcher(monkeypatch, env, backend, expected):
    for var in (*launch.SIZE_VARS, *launch.RANK_VARS):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert resolve_backend(ParallelConfig(backend=backend)) == expected
    assert world_rank() == int(env.get("PMI_RANK", 0))
    assert world_size() == int(env.get("PMI_SIZE", env.get("OMPI_COMM_WORLD_SIZE", 1)))


def test_a_serial_backend_inside_an_mpi_job_is_refused(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    with pytest.raises(ConfigError, match="job has 4 MPI ranks"):
        resolve_backend(ParallelConfig(backend="serial"))


def test_serial_executor_runs_the_task_and_stamps_it(task):
    with open_executor(ParallelConfig(backend="serial")) as executor:
        assert executor.workers == 1
        result = executor.submit(call_task, lambda t: _ok(t, error=0.5), task).result()
    assert result.status == "ok" and result.objectives == {"error": 0.5}
    assert result.rank == 0 and result.host
    assert result.timings["finished_at"] >= result.timings["started_at"] > 1.6e9


def _raises(task):
    raise ValueError("bad genome on purpose")


def test_an_exception_becomes_a_failed_result_with_its_traceback(task):
    result = call_task(_raises, task)
    assert result.status == "failed" and result.key == task.key
    assert result.error.startswith("ValueError: bad genome on purpose")
    assert "Traceback" in result.error and "_raises" in result.error


def test_keyboard_interrupt_is_not_swallowed(task):
    def interrupted(t):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call_task(interrupted, task)
