"""Data-parallel training of one candidate by a rank group (``parallel.ranks_per_eval``).

Every rank of the group draws the same batch (one seeded generator, the same
augmentation) and trains its strided shard of it inside
``torch.nn.parallel.DistributedDataParallel`` (gloo on CPU, NCCL on CUDA). Three things
make k ranks with batch B/k train exactly what one process with batch B trains (the
second with ``parallel.ddp_batchnorm: sync``):

- the loss is each shard's *sum* over the whole batch's size (times k, since DDP averages
  gradients), so an uneven last batch weighs every sample as one process would;
- BatchNorm normalises with the statistics of the whole batch: the layers are switched to
  ``SyncedBatchNorm`` for the training (torch's ``SyncBatchNorm`` refuses CPU tensors),
  which sums per-channel moments across the group with an autograd-aware all-reduce
  (``parallel.ddp_batchnorm: sync``). Two small all-reduces per BatchNorm layer and step
  are latency-bound on CPU (gloo), so the default, ``local``, keeps each rank's own batch
  statistics as plain DDP does: faster, but then only the rest is one process's training;
- validation accuracy counts correct predictions per shard and sums them.

Early stopping is decided by the leader (its stop rule) and broadcast, so every rank ends
on the same epoch. The process group is created per training, through a ``TCPStore`` the
leader opens on a free port, and destroyed after it: a timed-out or failed training
leaves nothing behind for the next.
"""

from __future__ import annotations

import contextlib
import os
import socket
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_nn
from torch import nn

from xnas.config import DataConfig, SpaceConfig, TrainConfig
from xnas.parallel import group as groups


@dataclass(frozen=True)
class Shard:
    """This rank's part of a data-parallel training: rank ``rank`` of ``size``."""

    rank: int
    size: int
    device: torch.device = torch.device("cpu")  # where collectives' tensors live (NCCL: GPU)
    sync_bn: bool = False  # BatchNorm over the whole batch (parallel.ddp_batchnorm: sync)

    def take(self, t: torch.Tensor) -> torch.Tensor:
        """This rank's strided share of a batch."""
        return t[self.rank :: self.size]

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        dist.all_reduce(t)
        return t

    def agree(self, flag: bool) -> bool:
        """The leader's ``flag`` on every rank (an early stop)."""
        t = torch.tensor([int(flag)], device=self.device)
        dist.broadcast(t, 0)
        return bool(t.item())

    def share_buffers(self, model: nn.Module) -> None:
        """Rank 0's buffers on every rank (local BatchNorm's running moments differ by
        shard): validation and the leader's saved network see one set of statistics."""
        if not self.sync_bn:
            for b in model.buffers():
                dist.broadcast(b, 0)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        return nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            # buffers synced at construction; local BatchNorm's running moments are
            # broadcast from rank 0 before each validation (``share_buffers``)
            forward_sync_buffers=False,
            # the same parameters get gradients every step (a cell's dead branches never):
            # DDP learns which from the first and skips the per-step graph search
            static_graph=True,
        )


class SyncedBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the whole group's batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        c, dtype = x.shape[1], x.dtype
        x = x.float()  # moments in fp32: under AMP an fp16 sum (or count) overflows at 65504
        local = torch.cat(
            [x.sum((0, 2, 3)), (x * x).sum((0, 2, 3)), x.new_full((1,), x.numel() / c)]
        )
        with warnings.catch_warnings():  # its deprecation points to a non-autograd API
            warnings.simplefilter("ignore", FutureWarning)
            moments = dist_nn.all_reduce(local)  # gradients flow back to every rank's shard
        n = moments[-1]
        mean = moments[:c] / n
        var = (moments[c : 2 * c] / n - mean * mean).clamp_min(0)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                unbiased = var.detach() * n / (n - 1).clamp_min(1)
                self.running_var.mul_(1 - m).add_(unbiased, alpha=m)
        shape = (1, c, 1, 1)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(dtype)


@contextlib.contextmanager
def synced_batchnorm(model: nn.Module) -> Iterator[None]:
    """Every plain BatchNorm2d of ``model`` synchronised for the block, then restored (same
    parameters and buffers throughout: only the class changes)."""
    swapped = [m for m in model.modules() if type(m) is nn.BatchNorm2d]
    for m in swapped:
        m.__class__ = SyncedBatchNorm
    try:
        yield
    finally:
        for m in swapped:
            m.__class__ = nn.BatchNorm2d


@contextlib.contextmanager
def process_group(
    shard_rank: int,
    size: int,
    store: dist.TCPStore,
    device: torch.device,
    timeout: float,
    sync_bn: bool = False,
) -> Iterator[Shard]:
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(
        backend, store=store, rank=shard_rank, world_size=size, timeout=timedelta(seconds=timeout)
    )
    try:
        yield Shard(shard_rank, size, device, sync_bn)
    finally:
        dist.destroy_process_group()


def mpi_store(comm, timeout: float = 60.0) -> dist.TCPStore:
    """A ``TCPStore`` for every rank of ``comm`` (rank 0 serves it on a free port, which it
    broadcasts): for scripts that run one training on all ranks of an MPI job."""
    wait = timedelta(seconds=timeout)
    if comm.Get_rank() == 0:
        store = dist.TCPStore("0.0.0.0", 0, comm.Get_size(), True, wait, wait_for_workers=False)
        comm.bcast((leader_address(), store.port))
        return store
    host, port = comm.bcast(None)
    return dist.TCPStore(host, port, comm.Get_size(), False, wait)


@dataclass(frozen=True)
class TrainJob:
    """What a follower needs to train alongside its leader. The weights are not in it:
    DDP copies the leader's parameters and buffers to every rank when it wraps the model."""

    host: str
    port: int
    timeout: float
    genome: tuple[int, ...]
    space: SpaceConfig
    data: DataConfig
    train: TrainConfig
    seed: int
    kwargs: dict  # the rest of ``trainer.train``'s arguments (epochs, resume, ...)
    sync_bn: bool = False


def leader_address() -> str:
    """Where followers reach the leader's store: ``XNAS_DDP_ADDR`` if set (a cluster whose
    host names resolve to loopback addresses), else this host's name (loopback where the
    name does not resolve at all)."""
    name = os.environ.get("XNAS_DDP_ADDR") or socket.gethostname()
    try:
        socket.gethostbyname(name)
    except OSError:  # a host name nothing resolves (a bare container): one node, loopback
        return "127.0.0.1"
    return name


def cpu(obj):
    """``obj`` with every tensor moved to the CPU (a resume state crossing processes)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(cpu(v) for v in obj)
    return obj


def timeout_of(cfg_timeout: float | None) -> float:
    """How long a collective waits for a missing peer: the task timeout, else an hour."""
    return float(cfg_timeout or 3600.0)


def lead(model, bundle, genome, space, data, train_cfg, seed, device, timeout, **kwargs):
    """The leader's training: send the job, then train its shard; the outcome is the
    group's (every rank holds the same parameters and running statistics afterwards)."""
    from xnas.evaluate.trainer import train

    group = groups.current()
    assert group is not None and group.size > 1
    store = dist.TCPStore(
        "0.0.0.0",
        0,  # a free port, which the job tells the followers
        group.size,
        is_master=True,
        timeout=timedelta(seconds=timeout),
        wait_for_workers=False,
    )
    job_kwargs = {k: v for k, v in kwargs.items() if k not in ("after_epoch",)}
    job_kwargs["resume"] = cpu(job_kwargs.get("resume"))
    group.send(
        TrainJob(
            leader_address(),
            store.port,
            timeout,
            tuple(genome),
            space,
            data,
            train_cfg,
            seed,
            job_kwargs,
            group.sync_bn,
        )
    )
    with process_group(0, group.size, store, device, timeout, group.sync_bn) as shard:
        return train(
            model,
            bundle.train,
            bundle.val,
            train_cfg,
            seed=seed,
            device=device,
            shard=shard,
            augment=bundle.augment,
            **kwargs,
        )


def follow_job(job: TrainJob) -> None:
    """A follower's part of one training (``parallel.group.follow`` calls it)."""
    from xnas.data import cached_dataset
    from xnas.evaluate.trainer import train
    from xnas.nn.device import resolve_device
    from xnas.space import get_space

    group = groups.current()
    assert group is not None
    device = resolve_device(job.train.device)
    bundle = cached_dataset(job.data)
    model = get_space(job.space).build(job.genome, bundle.input_shape, bundle.num_classes)
    store = dist.TCPStore(
        job.host, job.port, group.size, is_master=False, timeout=timedelta(seconds=job.timeout)
    )
    rank = group.comm.Get_rank()
    with process_group(rank, group.size, store, device, job.timeout, job.sync_bn) as shard:
        train(
            model.to(device),
            bundle.train,
            bundle.val,
            job.train,
            seed=job.seed,
            device=device,
            shard=shard,
            augment=bundle.augment,
            **job.kwargs,
        )
