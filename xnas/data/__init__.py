"""Datasets by name: ``load_dataset(cfg)`` -> DataBundle (train/val, classes, input shape)."""

from __future__ import annotations

import functools

from xnas.config import DataConfig
from xnas.data import bundled, folder, synthetic, tensors, torchvision_sets  # noqa: F401
from xnas.data.augment import BatchAugment
from xnas.data.base import DATASETS, ArrayDataset, DataBundle, balanced_subset

__all__ = [
    "DATASETS",
    "ArrayDataset",
    "BatchAugment",
    "DataBundle",
    "balanced_subset",
    "cached_dataset",
    "load_dataset",
]


def load_dataset(cfg: DataConfig) -> DataBundle:
    """Load the dataset ``cfg.name`` names (DataError / RegistryError on bad input)."""
    return DATASETS.get(cfg.name)(cfg)


@functools.lru_cache(maxsize=2)
def cached_dataset(cfg: DataConfig) -> DataBundle:
    """``load_dataset`` once per config and process: a worker reuses it for every task."""
    return load_dataset(cfg)
