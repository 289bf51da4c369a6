"""The executor interface and the ``open_executor`` entry every process goes through.

Executors are a lazy registry (``EXECUTORS``): ``mpi`` names ``xnas.parallel.mpi``,
imported (with mpi4py, which initialises MPI) only when a job runs on several ranks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Protocol

from xnas.config import ParallelConfig
from xnas.errors import ConfigError
from xnas.parallel.launch import set_threads, world_size
from xnas.registry import Registry


class Executor(Protocol):
    """Runs ``fn(*args)`` somewhere and hands back a ``concurrent.futures.Future``."""

    workers: int  # evaluations that can run at the same time
    prefetch: int  # tasks worth queueing beyond that (hides the dispatch round trip)
    kind: str

    def submit(self, fn: Callable, /, *args) -> Future: ...


ExecutorFactory = Callable[[ParallelConfig], contextlib.AbstractContextManager]
EXECUTORS: Registry[ExecutorFactory] = Registry("parallel backend")
EXECUTORS.register_lazy("mpi", "xnas.parallel.mpi:open_mpi")


class SerialExecutor:
    """Evaluates in the calling process; ``submit`` returns an already finished future."""

    workers, prefetch = 1, 0
    kind = "serial"

    def submit(self, fn: Callable, /, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # the driver stores it like a remote failure
            future.set_exception(exc)
        return future


@EXECUTORS.register("serial")
@contextlib.contextmanager
def _serial(cfg: ParallelConfig) -> Iterator[SerialExecutor]:
    if cfg.threads_per_rank is not None:
        set_threads(cfg.threads_per_rank)
    yield SerialExecutor()


def resolve_backend(cfg: ParallelConfig) -> str:
    size = world_size()
    backend = cfg.backend
    if backend == "auto":
        backend = "mpi" if size > 1 else "serial"
    if backend == "mpi" and size < 2:
        raise ConfigError(
            "parallel.backend is 'mpi' but this process is not part of an MPI job with at least "
            "2 ranks: launch it with `mpiexec -n N` (N >= 2) or set parallel.backend=serial"
        )
    if backend != "mpi" and size > 1:
        raise ConfigError(
            f"parallel.backend is {backend!r} but the job has {size} MPI ranks: "
            "use parallel.backend=auto or mpi, or launch one process"
        )
    if cfg.ranks_per_eval > 1:
        if backend != "mpi":
            raise ConfigError(
                f"parallel.ranks_per_eval is {cfg.ranks_per_eval} but the job runs in one "
                f"process: launch it with `mpiexec -n {1 + cfg.ranks_per_eval}` (the driver "
                "plus whole groups) or set parallel.ranks_per_eval=1"
            )
        from xnas.parallel.group import layout

        layout(0, size, cfg.ranks_per_eval)  # whole groups, or one line saying so
    return backend


def open_executor(cfg: ParallelConfig) -> contextlib.AbstractContextManager:
    """Entered by every process of the job: the executor on the driver, None elsewhere."""
    return EXECUTORS.get(resolve_backend(cfg))(cfg)
