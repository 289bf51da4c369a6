"""``mpi4py.futures.MPICommExecutor``: rank 0 drives, ranks 1..N-1 evaluate.

With ``parallel.ranks_per_eval: k`` the evaluators form groups of k ranks
(``parallel.group``): the executor runs over the driver and each group's leader, so the
driver sees one worker per group, and followers train data-parallel with their leader.

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
from xnas.parallel.group import Group, follow, joined, layout
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
    group, serving = None, comm
    try:
        if cfg.ranks_per_eval > 1:  # collective too: every rank splits the world
            group, serving = _split(MPI, comm, cfg)
            if serving is None:  # a follower: trains with its leader until released
                from xnas.evaluate.ddp import follow_job

                follow(group, follow_job)
                yield None
                return
        with (
            _releasing(group),
            joined(group),
            MPICommExecutor(serving, root=0, backoff=cfg.poll_interval) as pool,
        ):
            if pool is None:  # evaluator: it served tasks until the driver left the block
                yield None
                return
            yield MPIExecutor(pool, serving.Get_size() - 1)
    except XnasError:
        raise  # bad input or store: leaving the block released the workers in order
    except BaseException as exc:
        raise RankFailed(comm.Get_rank()) from exc


def _split(MPI, comm, cfg: ParallelConfig) -> tuple[Group | None, object | None]:
    """(this rank's group, the communicator the executor serves: the driver and the group
    leaders; None on a follower)."""
    where = layout(comm.Get_rank(), comm.Get_size(), cfg.ranks_per_eval)
    color = MPI.UNDEFINED if where.group is None else where.group
    group_comm = comm.Split(color, comm.Get_rank())
    group = (
        None
        if where.group is None
        else Group(group_comm, cfg.poll_interval, cfg.task_timeout, cfg.ddp_batchnorm == "sync")
    )
    on_executor = where.group is None or where.leader
    serving = comm.Split(0 if on_executor else 1, comm.Get_rank())
    if not on_executor:
        serving.Free()
        return group, None
    return group, serving


@contextlib.contextmanager
def _releasing(group: Group | None) -> Iterator[None]:
    """A leader releases its followers however it leaves the executor (a raised error
    too: they would otherwise poll for a job forever and hang the job's end)."""
    try:
        yield
    finally:
        if group is not None:
            group.send(None)
