"""Executors with one interface: ``submit(fn, task) -> Future`` plus a worker count.

``open_executor(parallel_cfg)`` is entered on *every* process of the job: it yields
an executor on the driver and ``None`` on evaluator ranks (which serve tasks until
the driver leaves the block). ``serial`` evaluates in-process; ``mpi`` uses
``mpi4py.futures.MPICommExecutor`` (rank 0 drives, ranks 1..N-1 evaluate).
``worker.call_task`` wraps every evaluation: the one place a failure becomes a result.
"""

from xnas.parallel.base import EXECUTORS, Executor, open_executor
from xnas.parallel.launch import world_rank, world_size
from xnas.parallel.worker import as_failure, call_task, worker_died

__all__ = [
    "EXECUTORS",
    "Executor",
    "as_failure",
    "call_task",
    "open_executor",
    "world_rank",
    "worker_died",
    "world_size",
]
