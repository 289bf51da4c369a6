"""`mnist`, `fashion_mnist`, `cifar10`: torchvision's readers over a root directory.

`cifar10` reads the official python batches when ``ROOT/cifar-10-batches-py`` is
there and otherwise falls back to the JPEG re-encoding in ImageFolder layout
(``ROOT/cifar10-jpg/`` or ``ROOT/cifar10-jpg.tar.gz``), labelled as lossy so its
numbers are never mistaken for official CIFAR-10 results.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from xnas.config import DataConfig
from xnas.data.base import DATASETS, DataBundle, Split, assemble
from xnas.data.folder import load_folder_splits
from xnas.errors import DataError

DATA_ENV = "XNAS_DATA"  # fallback for data.root: the folder holding MNIST/ and CIFAR-10


def require_root(cfg: DataConfig, expected: str) -> Path:
    """The dataset root as a Path, or a DataError naming it and what belongs there.

    ``data.root`` wins; without it the ``XNAS_DATA`` environment variable names the folder,
    so a shared config (``experiments/``) runs on any machine without a path edited in.
    """
    raw = cfg.root if cfg.root is not None else os.environ.get(DATA_ENV) or None
    if raw is None:
        raise DataError(
            f"data.root is not set for dataset {cfg.name!r} and {DATA_ENV} is unset; "
            f"expected {expected} (--set data.root=DIR or export {DATA_ENV}=DIR)"
        )
    root = Path(raw).expanduser()
    if not root.exists() and not cfg.download:
        raise DataError(f"dataset root '{root}' does not exist; expected {expected}")
    return root


def _idx_dataset(cfg: DataConfig, cls_name: str, folder: str, title: str) -> DataBundle:
    import torchvision

    files = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-*"
    root = require_root(cfg, f"a folder containing {folder}/raw/ ({files}) or data.download: true")
    cls = getattr(torchvision.datasets, cls_name)
    splits = []
    for train in (True, False):
        try:
            ds = cls(root=str(root), train=train, download=cfg.download)
        except RuntimeError as exc:
            raise DataError(
                f"{title} not found under '{root / folder / 'raw'}' ({exc}); expected {files}"
            ) from None
        except (OSError, ValueError) as exc:
            raise DataError(f"could not read {title} under '{root}': {exc}") from None
        images = ds.data  # (N, 28, 28) uint8
        splits.append(
            Split(
                labels=ds.targets.numpy().astype(np.int64),
                fetch=lambda idx, images=images: (
                    images[torch.as_tensor(idx)][:, None].float() / 255.0
                ),
            )
        )
        class_names = tuple(str(c) for c in ds.classes)
    return assemble(
        cfg, description=title, train=splits[0], test=splits[1], class_names=class_names
    )


@DATASETS.register("mnist")
def load_mnist(cfg: DataConfig) -> DataBundle:
    return _idx_dataset(cfg, "MNIST", "MNIST", "MNIST")


@DATASETS.register("fashion_mnist")
def load_fashion_mnist(cfg: DataConfig) -> DataBundle:
    return _idx_dataset(cfg, "FashionMNIST", "FashionMNIST", "Fashion-MNIST")


JPEG_NAME = "cifar10-jpg"


@DATASETS.register("cifar10")
def load_cifar10(cfg: DataConfig) -> DataBundle:
    import torchvision

    expected = (
        "a folder containing cifar-10-batches-py/ (official batches), "
        f"{JPEG_NAME}/ or {JPEG_NAME}.tar.gz (JPEG ImageFolder layout)"
    )
    root = require_root(cfg, expected)
    official = root / "cifar-10-batches-py"
    if official.is_dir() or cfg.download:
        splits = []
        for train in (True, False):
            try:
                ds = torchvision.datasets.CIFAR10(
                    root=str(root), train=train, download=cfg.download
                )
            except RuntimeError as exc:
                raise DataError(f"CIFAR-10 batches under '{official}' unusable ({exc})") from None
            images = torch.from_numpy(ds.data).permute(0, 3, 1, 2)  # (N, 3, 32, 32) uint8
            splits.append(
                Split(
                    labels=np.asarray(ds.targets, dtype=np.int64),
                    fetch=lambda idx, images=images: images[torch.as_tensor(idx)].float() / 255.0,
                )
            )
        return assemble(
            cfg,
            description="CIFAR-10 (official batches)",
            train=splits[0],
            test=splits[1],
            class_names=tuple(ds.classes),
        )
    for candidate in (root / JPEG_NAME, root / f"{JPEG_NAME}.tar.gz"):
        if candidate.exists():
            train, test, classes = load_folder_splits(candidate, cfg.image_size)
            return assemble(
                cfg,
                description="CIFAR-10 (JPEG re-encoded, lossy: not official CIFAR-10 numbers)",
                train=train,
                test=test,
                class_names=classes,
            )
    raise DataError(f"no CIFAR-10 data in '{root}'; expected {expected}")
