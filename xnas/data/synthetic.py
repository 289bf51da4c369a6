"""`lines`: the synthetic task XNAS used to study introspectability.

Four classes on a small square image: 0 no line, 1 horizontal, 2 vertical,
3 diagonal (either direction), each line ``length`` pixels long at a random
place, plus Gaussian pixel noise. Unlike the original, train and validation are
generated independently, each exactly class-balanced and shuffled.
"""

from __future__ import annotations

import numpy as np
import torch

from xnas.config import DataConfig, LinesOptions
from xnas.data.base import DATASETS, FINAL_SPLIT, DataBundle, finish, fits_in_memory
from xnas.errors import DataError

LINE_CLASSES = ("no_line", "horizontal", "vertical", "diagonal")


def generate_lines(
    n: int, opts: LinesOptions, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, 1, side, side) float32 and balanced, shuffled labels."""
    side, length = opts.side, opts.length
    if not 1 <= length <= side:
        raise DataError(f"data.lines.length must be between 1 and side={side}, got {length}")
    labels = rng.permutation(np.arange(n) % len(LINE_CLASSES))
    images = np.zeros((n, side, side), dtype=np.float32)
    steps = np.arange(length)
    for i, label in enumerate(labels):
        if label == 0:
            continue
        a = rng.integers(0, side - length + 1)  # start along the line
        b = rng.integers(0, side)  # offset across it
        if label == 1:
            images[i, b, a + steps] = 1.0
        elif label == 2:
            images[i, a + steps, b] = 1.0
        else:
            c = rng.integers(0, side - length + 1)
            cols = c + steps if rng.random() < 0.5 else c + length - 1 - steps
            images[i, a + steps, cols] = 1.0
    if opts.noise > 0:
        images += rng.normal(0.0, opts.noise, size=images.shape).astype(np.float32)
    return images[:, None], labels.astype(np.int64)


@DATASETS.register("lines")
def load_lines(cfg: DataConfig) -> DataBundle:
    """Train, validation and (``data.split: final``) test images from three independent
    streams of ``data.seed``: the test set is fresh samples no search has seen."""
    if cfg.test_fraction > 0:
        raise DataError(
            f"data.test_fraction is {cfg.test_fraction} but lines generates a fresh test set "
            "(data.test_size); expected test_fraction 0"
        )
    # spawn(3)'s first two children are spawn(2)'s: adding the test stream changed nothing
    train_rng, val_rng, test_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(3)
    )
    n_train = cfg.train_size if cfg.train_size is not None else 2000
    n_val = cfg.val_size if cfg.val_size is not None else 500
    n_test = (cfg.test_size if cfg.test_size is not None else 500) if cfg.split == "final" else 0
    # float32 images, plus the noise drawn for them and the normalised copy
    need = 3 * 4 * (n_train + n_val + n_test) * cfg.lines.side**2
    fits_in_memory(need, f"data.train_size {n_train:,} + data.val_size {n_val:,} lines images")
    tx, ty = generate_lines(n_train, cfg.lines, train_rng)
    vx, vy = generate_lines(n_val, cfg.lines, val_rng)
    description = (
        f"lines (synthetic {cfg.lines.side}x{cfg.lines.side}, "
        f"length {cfg.lines.length}, noise {cfg.lines.noise})"
    )
    if cfg.split == "final":
        sx, sy = generate_lines(n_test, cfg.lines, test_rng)
        return finish(
            cfg,
            description=f"{description}; {FINAL_SPLIT}",
            train_x=torch.from_numpy(np.concatenate([tx, vx])),
            train_y=np.concatenate([ty, vy]),
            val_x=torch.from_numpy(sx),
            val_y=sy,
            class_names=LINE_CLASSES,
            scored="test",
        )
    return finish(
        cfg,
        description=description,
        train_x=torch.from_numpy(tx),
        train_y=ty,
        val_x=torch.from_numpy(vx),
        val_y=vy,
        class_names=LINE_CLASSES,
    )
