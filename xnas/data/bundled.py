"""`digits`: scikit-learn's bundled 8x8 handwritten digits (real data, offline)."""

from __future__ import annotations

import numpy as np
import torch

from xnas.config import DataConfig
from xnas.data.base import DATASETS, DataBundle, Split, assemble


@DATASETS.register("digits")
def load_digits(cfg: DataConfig) -> DataBundle:
    from sklearn.datasets import load_digits as sk_load_digits

    raw = sk_load_digits()
    images = torch.from_numpy((raw.images / 16.0).astype(np.float32))[:, None]
    split = Split(labels=raw.target.astype(np.int64), fetch=lambda idx: images[idx])
    return assemble(
        cfg,
        description="digits (scikit-learn 8x8, 1797 samples)",
        train=split,
        test=None,
        class_names=tuple(str(d) for d in range(10)),
    )
