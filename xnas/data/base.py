"""What every dataset returns, and the split/subset/normalise steps they share.

A dataset source only says how to read its labels and how to fetch pixels for a
set of indices; ``assemble`` then holds out a test split where the dataset has none
(``data.test_fraction``) and validation, draws class-balanced seeded subsets, fetches just
those samples and normalises them. Under ``data.split: final`` the training and validation
samples the search used become one training set and the test split is scored instead, so
a final front is retrained and reported on data that selected nothing. Data are kept
in memory as float tensors: NAS on small subsets is the target, and batches cut
from a tensor are far faster than per-sample Python loading.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from xnas.config import DataConfig
from xnas.data.augment import BatchAugment
from xnas.errors import DataError
from xnas.registry import Registry

DATASETS: Registry[Callable[[DataConfig], DataBundle]] = Registry("dataset")


class ArrayDataset(Dataset):
    """Images ``x`` (N, C, H, W float32) and labels ``y`` (N,) int64, all in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"bad shapes x={tuple(x.shape)} y={tuple(y.shape)}")
        self.x = x.contiguous()
        self.y = y.long().contiguous()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[index], self.y[index]


@dataclass(frozen=True)
class DataBundle:
    """Train/val data plus what a network builder and a report need to know."""

    name: str
    description: str  # shown in reports, e.g. "CIFAR-10 (JPEG re-encoded, lossy)"
    train: ArrayDataset
    val: ArrayDataset
    num_classes: int
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: BatchAugment | None  # applied to training batches only
    scored: str = "validation"  # what ``val`` holds: "validation", or "test" (split: final)


@dataclass(frozen=True)
class Split:
    """Labels of one split and a function that fetches pixels (float in [0, 1])."""

    labels: np.ndarray
    fetch: Callable[[np.ndarray], torch.Tensor]


def fits_in_memory(nbytes: int, what: str, share: float = 0.5) -> None:
    """Refuse (one line) to generate or hold data that would need more than ``share`` of
    this machine's physical memory: a typo'd size must not end in the OOM killer."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf here: cannot tell, allow
        return
    if nbytes > share * total:
        raise DataError(
            f"{what} would need about {nbytes / 2**30:.1f} GiB, more than {share:.0%} of this "
            f"machine's {total / 2**30:.1f} GiB of memory; expected smaller sizes"
        )


def balanced_subset(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` samples, as class-balanced as the data allow, in shuffled order."""
    if n > len(labels):
        raise DataError(f"subset of {n} samples requested but the split has only {len(labels)}")
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    taken: list[int] = []
    depth = 0
    while len(taken) < n:
        for pool in pools:
            if depth < len(pool) and len(taken) < n:
                taken.append(int(pool[depth]))
        depth += 1
    return rng.permutation(np.asarray(taken, dtype=np.int64))


def stratified_holdout(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, holdout) with ``fraction`` of every class held out."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"data.val_fraction must be between 0 and 1 (exclusive), got {fraction}")
    keep, hold = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = max(1, int(round(fraction * len(idx)))) if len(idx) > 1 else 0
        hold.append(idx[:k])
        keep.append(idx[k:])
    return rng.permutation(np.concatenate(keep)), rng.permutation(np.concatenate(hold))


def assemble(
    cfg: DataConfig,
    *,
    description: str,
    train: Split,
    test: Split | None,
    class_names: tuple[str, ...],
) -> DataBundle:
    """Hold out validation, subset both splits, fetch pixels, normalise; see module doc."""
    rng = np.random.default_rng(cfg.seed)
    train_idx = np.arange(len(train.labels))
    if cfg.test_fraction > 0:
        if test is not None:
            raise DataError(
                f"data.test_fraction is {cfg.test_fraction} but dataset {cfg.name!r} has its "
                "own test split; expected test_fraction 0"
            )
        train_idx, held = stratified_holdout(train.labels, cfg.test_fraction, rng)
        test = Split(labels=train.labels[held], fetch=lambda i, held=held: train.fetch(held[i]))
    if cfg.val_source == "test":
        if test is None:
            raise DataError(
                f"data.val_source is 'test' but dataset {cfg.name!r} has no test split; "
                "expected val_source: split"
            )
        val_split, val_idx = test, np.arange(len(test.labels))
    else:
        keep, hold = stratified_holdout(train.labels[train_idx], cfg.val_fraction, rng)
        train_idx, val_idx = train_idx[keep], train_idx[hold]
        val_split = train
    if cfg.train_size is not None:
        train_idx = train_idx[balanced_subset(train.labels[train_idx], cfg.train_size, rng)]
    if cfg.val_size is not None:
        val_idx = val_idx[balanced_subset(val_split.labels[val_idx], cfg.val_size, rng)]
    train_x, train_y = train.fetch(train_idx), train.labels[train_idx]
    val_x, val_y = val_split.fetch(val_idx), val_split.labels[val_idx]
    if cfg.split == "final":
        test = held_out_test(cfg, test)
        test_idx = np.arange(len(test.labels))
        if cfg.test_size is not None:  # its own stream: the search's subsets stay as they were
            sub = np.random.default_rng([cfg.seed, 2])
            test_idx = balanced_subset(test.labels, cfg.test_size, sub)
        return finish(
            cfg,
            description=f"{description}; {FINAL_SPLIT}",
            train_x=torch.cat([train_x, val_x]),
            train_y=np.concatenate([train_y, val_y]),
            val_x=test.fetch(test_idx),
            val_y=test.labels[test_idx],
            class_names=class_names,
            scored="test",
        )
    return finish(
        cfg,
        description=description,
        train_x=train_x,
        train_y=train_y,
        val_x=val_x,
        val_y=val_y,
        class_names=class_names,
    )


FINAL_SPLIT = "final split: trained on train + validation, scored on the held-out test split"


def held_out_test(cfg: DataConfig, test: Split | None) -> Split:
    """The test split ``data.split: final`` scores, or one line on why there is none."""
    if cfg.val_source == "test":
        raise DataError(
            "data.split is 'final' but the search validated on the test split "
            "(data.val_source: test), so no held-out data is left; expected val_source: split"
        )
    if test is None:
        raise DataError(
            f"data.split is 'final' but dataset {cfg.name!r} has no test split; expected "
            "data.test_fraction > 0 in the run's config (set before the search, so that the "
            "search never saw those samples)"
        )
    return test


def finish(
    cfg: DataConfig,
    *,
    description: str,
    train_x: torch.Tensor,
    train_y: np.ndarray,
    val_x: torch.Tensor,
    val_y: np.ndarray,
    class_names: tuple[str, ...],
    scored: str = "validation",
) -> DataBundle:
    """Normalise with training statistics and wrap everything in a DataBundle."""
    train_x = train_x.float()
    val_x = val_x.float()
    channels = train_x.shape[1]
    if cfg.normalize:
        mean = train_x.mean(dim=(0, 2, 3))
        std = train_x.std(dim=(0, 2, 3)).clamp_min(1e-6)
        train_x = (train_x - mean[None, :, None, None]) / std[None, :, None, None]
        val_x = (val_x - mean[None, :, None, None]) / std[None, :, None, None]
        mean_t, std_t = tuple(mean.tolist()), tuple(std.tolist())
    else:
        mean_t, std_t = (0.0,) * channels, (1.0,) * channels
    side = int(train_x.shape[-1])
    augment = None
    if cfg.augment or cfg.cutout:
        augment = BatchAugment(
            crop_padding=max(1, side // 8) if cfg.augment else 0,
            flip=cfg.augment,
            cutout=cfg.cutout,
        )
    return DataBundle(
        name=cfg.name,
        description=description,
        train=ArrayDataset(train_x, torch.as_tensor(train_y, dtype=torch.int64)),
        val=ArrayDataset(val_x, torch.as_tensor(val_y, dtype=torch.int64)),
        num_classes=len(class_names),
        input_shape=(channels, int(train_x.shape[2]), int(train_x.shape[3])),
        class_names=class_names,
        mean=mean_t,
        std=std_t,
        augment=augment,
        scored=scored,
    )
