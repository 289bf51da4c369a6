"""``mpi4py.futures.MPICommExecutor``: rank 0 drives, ranks 1..N-1 evaluate.

Every rank gets ``parallel.threads_per_rank`` torch threads (default: Slurm's
``--cpus-per-task``, else 1, so ranks share the node's cores instead of
oversubscribing) and, where CUDA devices exist, one GPU (``nn.device.pin_gpu``, chosen by
node-local rank when the first network is built). Idle ranks poll for messages with a
sleep of up to ``parallel.poll_interval`` seconds between polls (mpi4py's backoff), so
waiting costs almost no CPU.

Any exception that escapes on a rank (other than an XnasError on the driver, which
shuts the workers down in order) is raised as ``RankFailed``: the program must then
abort the whole job (``RankFailed.abort``), or its partners wait forever. The library
never prints or exits; the CLI reports it and aborts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from xnas.config import ParallelConfig
from xnas.errors import ConfigError, XnasError
from xnas.parallel.launch import launcher_threads, set_local_rank, set_threads, world_size


class RankFailed(BaseException):
    """An uncaught error on MPI rank ``rank`` (``__cause__``): abort the job."""

    def __init__(self, rank: int) -> None:
        super().__init__(f"uncaught error on rank {rank}")
        self.rank = rank

    def abort(self, code: int = 1) -> None:
        """End every rank of the job (MPI_Abort): the partners of a dead rank would hang."""
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(code)


class MPIExecutor:
    kind = "mpi"
    prefetch = 1  # one task waits in mpi4py's queue, sent the moment a worker is free

    def __init__(self, pool, workers: int) -> None:
        self._pool, self.workers = pool, workers

    def submit(self, fn: Callable, /, *args) -> Future:
        return self._pool.submit(fn, *args)


def node_local_rank(comm) -> int:
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_rank()
    finally:
        local.Free()


def _mpi4py():
    """mpi4py, or one line saying how to install it (a serial install has none)."""
    try:
        from mpi4py import MPI
        from mpi4py.futures import MPICommExecutor
    except ImportError:
        raise ConfigError(
            f"this job runs on {world_size()} MPI ranks but mpi4py is not installed; "
            "expected pip install 'xnas[mpi]' (mpi4py and the mpich wheel's mpiexec)"
        ) from None
    return MPI, MPICommExecutor


@contextlib.contextmanager
def open_mpi(cfg: ParallelConfig) -> Iterator[MPIExecutor | None]:
    MPI, MPICommExecutor = _mpi4py()

    comm = MPI.COMM_WORLD
    if comm.Get_size() != world_size():
        raise ConfigError(
            f"the launcher started {world_size()} ranks but MPI sees {comm.Get_size()}: the "
            "mpiexec used does not belong to the MPI library mpi4py loaded (use the venv's "
            "mpiexec, or build mpi4py against your site MPI)"
        )
    set_threads(cfg.threads_per_rank or launcher_threads())
    set_local_rank(node_local_rank(comm))  # collective: every rank calls it here
    try:
        with MPICommExecutor(comm, root=0, backoff=cfg.poll_interval) as pool:
            if pool is None:  # evaluator rank: it served tasks until the driver left the block
                yield None
                return
            yield MPIExecutor(pool, comm.Get_size() - 1)
    except XnasError:
        raise  # bad input or store: leaving the block released the workers in order
    except BaseException as exc:
        raise RankFailed(comm.Get_rank()) from exc
