"""``mpi4py.futures.MPICommExecutor``: rank 0 drives, ranks 1..N-1 evaluate.

Every rank gets ``parallel.threads_per_rank`` torch threads (default: Slurm's
``--cpus-per-task``, else 1, so ranks share the node's cores instead of
oversubscribing) and, where CUDA devices exist, one GPU: the only visible one when
the launcher pinned it, else node-local rank modulo GPUs per node. Idle ranks poll
for messages with a sleep of up to ``parallel.poll_interval`` seconds between polls
(mpi4py's backoff), so waiting costs almost no CPU. Any exception that escapes on a
rank (other than an XnasError on the driver, which shuts the workers down in order)
aborts the whole job: nobody hangs waiting for a dead partner.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from xnas.config import ParallelConfig
from xnas.errors import ConfigError, XnasError
from xnas.parallel.base import EXECUTORS
from xnas.parallel.launch import world_size


class MPIExecutor:
    kind = "mpi"
    prefetch = 1  # one task waits in mpi4py's queue, sent the moment a worker is free

    def __init__(self, pool, workers: int) -> None:
        self._pool, self.workers = pool, workers

    def submit(self, fn: Callable, /, *args) -> Future:
        return self._pool.submit(fn, *args)


def launcher_threads() -> int:
    """Cores the launcher gave each rank (Slurm's --cpus-per-task), else 1."""
    value = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def node_local_rank(comm) -> int:
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_rank()
    finally:
        local.Free()


def pin_gpu(local_rank: int) -> int | None:
    """Select this rank's CUDA device; None where there is none."""
    import torch

    if not torch.cuda.is_available():
        return None
    count = torch.cuda.device_count()
    index = 0 if count == 1 else local_rank % count
    torch.cuda.set_device(index)
    return index


def _abort(comm, what: str) -> None:
    print(f"xnas: {what}; aborting all MPI ranks", file=sys.stderr)
    traceback.print_exc()
    sys.stderr.flush()
    comm.Abort(1)


@EXECUTORS.register("mpi")
@contextlib.contextmanager
def _mpi(cfg: ParallelConfig) -> Iterator[MPIExecutor | None]:
    import torch
    from mpi4py import MPI
    from mpi4py.futures import MPICommExecutor

    comm = MPI.COMM_WORLD
    if comm.Get_size() != world_size():
        raise ConfigError(
            f"the launcher started {world_size()} ranks but MPI sees {comm.Get_size()}: the "
            "mpiexec used does not belong to the MPI library mpi4py loaded (use the venv's "
            "mpiexec, or build mpi4py against your site MPI)"
        )
    torch.set_num_threads(cfg.threads_per_rank or launcher_threads())
    local = node_local_rank(comm)  # collective: every rank calls it here
    if comm.Get_rank() != 0:
        pin_gpu(local)
    try:
        with MPICommExecutor(comm, root=0, backoff=cfg.poll_interval) as pool:
            if pool is None:  # evaluator rank: it served tasks until the driver left the block
                yield None
                return
            try:
                yield MPIExecutor(pool, comm.Get_size() - 1)
            except XnasError:
                raise  # bad input or store: leaving the block releases the workers in order
    except XnasError:
        raise
    except BaseException:
        _abort(comm, f"uncaught error on rank {comm.Get_rank()}")
