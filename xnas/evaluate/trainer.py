"""Training one network: the XNAS recipe (SGD + Nesterov, warm-up then cosine).

Batches are cut straight from the in-memory tensors of an ArrayDataset (no
per-sample Python, no worker processes, so nothing forks inside an MPI rank) and
augmented on the batch. Seeded through one torch.Generator; autocast and
gradient checkpointing only on CUDA, where they pay off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from xnas.config import TrainConfig
from xnas.data import ArrayDataset, BatchAugment

if TYPE_CHECKING:
    from xnas.evaluate.ddp import Shard


class Diverged(RuntimeError):
    """Training produced a non-finite loss; the evaluation is recorded as failed."""


@dataclass(frozen=True)
class TrainOutcome:
    curve: tuple[float, ...]  # validation accuracy after every epoch
    train_loss: tuple[float, ...]  # mean training loss of every epoch
    images_per_s: float
    stopped_early: bool = False
    best_epoch: int = 0  # 1-based epoch of the best validation accuracy
    restored_best: bool = False  # the model holds the best epoch's weights, not the last
    # with keep_state: everything ``train(resume=...)`` needs to continue this training
    # exactly where it ended (last weights, optimizer, schedule step, batch RNG, curve)
    state: dict | None = None
    bestof: dict | None = None  # train.bestof: each layer's implementation and its gain


def iterate_batches(
    data: ArrayDataset,
    batch_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(data)
    order = torch.randperm(n, generator=generator) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            x, y = data.x[start : start + batch_size], data.y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            x, y = data.x[idx], data.y[idx]
        if device is not None and device.type != "cpu":
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        yield x, y


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear from ~0 to 1 over warm-up, then cosine to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


@torch.no_grad()
def accuracy(
    model: nn.Module,
    data: ArrayDataset,
    device: torch.device,
    batch: int = 512,
    shard: Shard | None = None,
) -> float:
    """Validation accuracy (with ``shard``: each rank scores its share, counts summed)."""
    was = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    for x, y in iterate_batches(data, batch, shuffle=False, device=device):
        if shard is not None:
            x, y = shard.take(x), shard.take(y)
        correct += (model(x).argmax(dim=1) == y).sum()
    if shard is not None:
        shard.sum(correct)
    model.train(was)
    return int(correct) / max(1, len(data))


def train(
    model: nn.Module,
    train_data: ArrayDataset,
    val_data: ArrayDataset,
    cfg: TrainConfig,
    *,
    epochs: int,
    seed: int,
    device: torch.device,
    augment: BatchAugment | None = None,
    after_epoch: Callable[[int, tuple[float, ...]], bool] | None = None,
    keep_best: bool = False,
    schedule_epochs: int | None = None,
    resume: dict | None = None,
    keep_state: bool = False,
    shard: Shard | None = None,
) -> TrainOutcome:
    """Train ``model`` in place up to epoch ``epochs``; ``after_epoch(epoch, curve)``
    returning True stops early.

    ``keep_best`` restores the weights of the epoch with the best validation accuracy at
    the end (Keras' ModelCheckpoint(save_best_only) as XNAS used for ``val_acc__max``).
    ``schedule_epochs`` (default ``epochs``) is the length the LR schedule spans: a rung of
    multi-fidelity training stops part-way through the full budget's schedule.
    ``resume`` (an earlier outcome's ``state``, the model already holding its weights)
    continues that training, so rung after rung equals one uninterrupted training.
    ``shard``: this rank's part of a data-parallel training (``evaluate.ddp``); every rank
    of the group calls ``train`` with the same arguments and ends with the same weights.
    """
    with contextlib.ExitStack() as stack:
        tuner = None
        if cfg.bestof:  # per-layer implementations, tuned in the first steps
            from xnas.nn import bestof

            tuner = stack.enter_context(bestof.tuned(model))
        if shard is not None and shard.sync_bn:
            from xnas.evaluate.ddp import synced_batchnorm

            stack.enter_context(synced_batchnorm(model))
        outcome = _train(
            model,
            train_data,
            val_data,
            cfg,
            epochs,
            seed,
            device,
            augment,
            after_epoch,
            keep_best,
            schedule_epochs,
            resume,
            keep_state,
            shard,
        )
    return outcome if tuner is None else dataclasses.replace(outcome, bestof=tuner.report())


def _train(
    model,
    train_data,
    val_data,
    cfg,
    epochs,
    seed,
    device,
    augment,
    after_epoch,
    keep_best,
    schedule_epochs,
    resume,
    keep_state,
    shard,
) -> TrainOutcome:
    """``train``'s loop (a shard's model is wrapped in DDP for the forward passes)."""
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    net = model if shard is None else shard.wrap(model, device)
    opt = torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov and cfg.momentum > 0,
        weight_decay=cfg.weight_decay,
    )
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    span = schedule_epochs or epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, warmup_cosine(span * steps_per_epoch, cfg.warmup_epochs * steps_per_epoch)
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    # a shard's loss: its samples' sum over the whole batch's size, times the group size
    # (DDP averages the gradients), so every sample weighs as in one process
    sum_loss = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing, reduction="sum")
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    if hasattr(model, "grad_checkpoint"):
        model.grad_checkpoint = cfg.grad_checkpoint and device.type == "cuda"
    curve: list[float] = []
    losses: list[float] = []
    seen, elapsed = 0, 0.0
    best_state: dict[str, torch.Tensor] | None = None
    if resume is not None:
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        generator.set_state(resume["generator"])
        curve, losses = list(resume["curve"]), list(resume["losses"])
        best_state = resume["best"]

    def finish(stopped: bool) -> TrainOutcome:
        best_epoch = max(range(len(curve)), key=curve.__getitem__) + 1 if curve else 0
        state = None
        if keep_state:
            state = {
                "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "generator": generator.get_state(),
                "curve": list(curve),
                "losses": list(losses),
                "best": best_state,
            }
        restored = keep_best and best_state is not None and best_epoch != len(curve)
        if restored:
            model.load_state_dict(best_state)
        return TrainOutcome(
            tuple(curve),
            tuple(losses),
            seen / max(elapsed, 1e-9),
            stopped,
            best_epoch,
            restored,
            state,
        )

    for epoch in range(len(curve), epochs):
        start = time.perf_counter()
        total, count = torch.zeros((), device=device), 0
        for x, y in iterate_batches(
            train_data, cfg.batch_size, shuffle=True, generator=generator, device=device
        ):
            if augment is not None:
                x = augment(x, generator)
            n = len(y)
            if shard is not None:
                x, y = shard.take(x), shard.take(y)
            with torch.autocast(device.type, enabled=use_amp):
                if shard is None:
                    loss = loss_fn(net(x), y)
                else:
                    loss = sum_loss(net(x), y) * (shard.size / n)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            if shard is None:
                total += loss.detach() * len(y)
            else:
                total += loss.detach() * (n / shard.size)
            count += len(y)
        if shard is not None:
            total = shard.sum(total.detach().clone())
            count = int(shard.sum(torch.tensor(count, device=device)))
        mean_loss = float(total) / max(1, count)
        if not math.isfinite(mean_loss):
            raise Diverged(f"training loss became {mean_loss} in epoch {epoch + 1}")
        seen += count
        elapsed += time.perf_counter() - start
        losses.append(mean_loss)
        if shard is not None:
            shard.share_buffers(model)
        curve.append(accuracy(model, val_data, device, shard=shard))
        if keep_best and curve[-1] > max(curve[:-1], default=-1.0):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        stop = (
            after_epoch is not None and epoch + 1 < epochs and after_epoch(epoch + 1, tuple(curve))
        )
        if shard is not None and epoch + 1 < epochs:
            stop = shard.agree(stop)  # the leader's stop rule decides for the group
        if stop:
            return finish(True)
    return finish(False)
