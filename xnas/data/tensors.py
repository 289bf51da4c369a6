"""`tensors`: your own data as arrays, in one ``.npz`` (numpy) or ``.pt`` (torch) file.

``data.root`` is the file; it holds ``x_train`` and ``y_train`` and, optionally,
``x_test`` and ``y_test`` (used by ``data.val_source: test``) and ``classes`` (names).
Images are ``(N, C, H, W)`` or ``(N, H, W)`` (one channel), numbers in [0, 1] or 0..255
(scaled to [0, 1]); labels are integers ``0..K-1``. Validation is held out of the
training arrays (``data.val_fraction``) unless ``val_source: test``; subsets, seeds,
normalisation and augmentation work as for every dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from xnas.config import DataConfig
from xnas.data.base import DATASETS, DataBundle, Split, assemble
from xnas.errors import DataError

KEYS = ("x_train", "y_train", "x_test", "y_test", "classes")


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(
            f"data.root '{path}' is not a file; expected a .npz or .pt file of arrays "
            "(x_train, y_train[, x_test, y_test, classes])"
        )
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                raw = {k: f[k] for k in f.files}
        elif path.suffix == ".pt":
            loaded = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(loaded, dict):
                raise TypeError(f"a {type(loaded).__name__}, not a mapping of arrays")
            raw = {
                k: (v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
                for k, v in loaded.items()
            }
        else:
            raise DataError(f"data.root '{path}': expected a .npz or .pt file")
    except DataError:
        raise
    except Exception as exc:  # not readable as arrays: damaged, pickled objects, ...
        raise DataError(
            f"data.root '{path}' cannot be read as arrays ({type(exc).__name__}: "
            f"{str(exc)[:80]}); expected a .npz or .pt file of arrays"
        ) from None
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise DataError(f"data.root '{path}' holds {unknown[0]!r}; expected only {', '.join(KEYS)}")
    return raw


def _images(x: np.ndarray, where: str) -> torch.Tensor:
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or not np.issubdtype(x.dtype, np.number) or min(x.shape) < 1:
        raise DataError(f"{where}: shape {x.shape} ({x.dtype}); expected numbers (N, C, H, W)")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{where} holds NaN or inf; expected finite numbers")
    if x.max(initial=0) > 1.0:  # 0..255 bytes
        x = x / 255.0
    return torch.from_numpy(np.ascontiguousarray(x))


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: shape {y.shape} ({y.dtype}); expected {n} integer labels")
    if len(y) and y.min() < 0:
        raise DataError(f"{where} holds a negative label; expected 0..K-1")
    return y.astype(np.int64)


@DATASETS.register("tensors")
def load_tensors(cfg: DataConfig) -> DataBundle:
    if cfg.root is None:
        raise DataError("data.name is 'tensors' but data.root is not set; expected the file")
    path = Path(cfg.root)
    raw = _read(path)
    for key in ("x_train", "y_train"):
        if key not in raw:
            raise DataError(f"data.root '{path}' has no {key!r}; expected x_train and y_train")
    x = _images(raw["x_train"], f"{path}: x_train")
    y = _labels(raw["y_train"], len(x), f"{path}: y_train")
    test = None
    if "x_test" in raw or "y_test" in raw:
        if not ("x_test" in raw and "y_test" in raw):
            raise DataError(f"data.root '{path}': x_test and y_test come together")
        tx = _images(raw["x_test"], f"{path}: x_test")
        ty = _labels(raw["y_test"], len(tx), f"{path}: y_test")
        if tx.shape[1:] != x.shape[1:]:
            raise DataError(f"{path}: x_test {tuple(tx.shape[1:])} differs from x_train's")
        test = Split(ty, lambda idx, tx=tx: tx[idx])
    k = int(max(y.max(initial=0), test.labels.max(initial=0) if test else 0)) + 1
    names = tuple(str(c) for c in raw["classes"]) if "classes" in raw else tuple(map(str, range(k)))
    if len(names) < k:
        raise DataError(f"{path}: {len(names)} class names for labels up to {k - 1}")
    tested = "" if test is None else f", {len(test.labels)} test"
    return assemble(
        cfg,
        description=f"tensors from {path.name} ({len(x)} train{tested} images, "
        f"{tuple(x.shape[1:])})",
        train=Split(y, lambda idx: x[idx]),
        test=test,
        class_names=names,
    )
