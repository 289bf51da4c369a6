"""Rank groups for ``parallel.ranks_per_eval: k``: one candidate trained data-parallel by k
ranks. Torch-free (the training itself is ``evaluate.ddp``).

The world is rank 0 (the driver) plus groups of k consecutive ranks. A group's first rank,
its *leader*, is the driver's worker: it receives tasks, evaluates them as any evaluator
does, and reports the result. Its *followers* only ever train: when the leader reaches
training it sends them a job (what to build, the data config, where to meet), every rank
of the group trains a shard of each batch, and the followers go back to waiting. Static
objectives, latency (measured once, by the leader), introspection and saving run on the
leader alone. Followers wait with a polling sleep (``parallel.poll_interval``), not in a
blocking MPI call that would spin a core while the leader measures latency.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from xnas.errors import ConfigError


@dataclass(frozen=True)
class Layout:
    """Where a world rank sits: its group (None on the driver) and rank in the group."""

    group: int | None
    rank: int  # rank within the group (0: the leader)
    size: int  # ranks per group

    @property
    def leader(self) -> bool:
        return self.group is not None and self.rank == 0


def layout(world_rank: int, world_size: int, k: int) -> Layout:
    """The group of ``world_rank`` when ranks 1..world_size-1 form groups of ``k``."""
    if k < 1 or (world_size - 1) % k or world_size < 1 + k:
        raise ConfigError(
            f"parallel.ranks_per_eval: {k} ranks per evaluation need 1 + a multiple of {k} "
            f"MPI ranks (the driver plus whole groups); the job has {world_size}"
        )
    if world_rank == 0:
        return Layout(None, 0, k)
    return Layout((world_rank - 1) // k, (world_rank - 1) % k, k)


@dataclass
class Group:
    """This evaluator's group: its communicator (rank 0 is the leader) and size."""

    comm: Any  # an mpi4py intracommunicator over the group's ranks
    poll: float  # seconds between polls of a waiting follower
    timeout: float | None = None  # parallel.task_timeout: how long a collective may wait
    sync_bn: bool = False  # parallel.ddp_batchnorm == "sync"

    @property
    def size(self) -> int:
        return self.comm.Get_size()

    def send(self, job: Any) -> None:
        """Leader: hand ``job`` to every follower (None ends their loop)."""
        for r in range(1, self.size):
            self.comm.send(job, dest=r, tag=7)

    def receive(self) -> Any:
        """Follower: the leader's next job, waiting with a polling sleep (probe, then a
        receive sized by the message: a job with a rung's resume state is megabytes)."""
        delay = 1e-4
        while not self.comm.iprobe(source=0, tag=7):
            time.sleep(delay)
            delay = min(2 * delay, self.poll or 1e-4)
        return self.comm.recv(source=0, tag=7)


_current: Group | None = None


def current() -> Group | None:
    """The group this process leads or follows (None: one rank per evaluation)."""
    return _current


@contextlib.contextmanager
def joined(group: Group | None) -> Iterator[None]:
    global _current
    previous, _current = _current, group
    try:
        yield
    finally:
        _current = previous


def follow(group: Group, run: Callable[[Any], None]) -> None:
    """A follower's life: run every job the leader sends until it sends None. A job that
    fails here (the leader timed out, a peer vanished) is dropped with one line on stderr:
    the leader reports the evaluation, and the follower waits for the next."""
    with joined(group):
        while (job := group.receive()) is not None:
            try:
                run(job)
            except Exception as exc:  # the leader stores the evaluation; say why here
                rank = group.comm.Get_rank()
                print(
                    f"xnas: follower {rank} of its group dropped a training: "
                    f"{type(exc).__name__}: {str(exc)[:300]}",
                    file=sys.stderr,
                    flush=True,
                )
