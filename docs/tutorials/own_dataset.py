# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Your own dataset
#
# Data you already hold as arrays goes in one `.npz` (numpy) or `.pt` (torch) file with
# `x_train`, `y_train` and, optionally, `x_test`, `y_test` and `classes`; `data.name: tensors`
# reads it. Images are `(N, C, H, W)` or `(N, H, W)`, floats in [0, 1] or integers 0..255;
# labels are integers 0..K-1. Subsets, seeds, normalisation and augmentation work as for
# every dataset. (Data in class folders: `data.name: imagefolder`.)
#
# Here: scikit-learn's 8x8 handwritten digits (1,797 real images).

# %%
import os
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

out = Path(os.environ.get("XNAS_TUTORIAL_OUT", "runs/tutorials")).resolve() / "dataset"
out.mkdir(parents=True, exist_ok=True)
digits = load_digits()
order = np.random.default_rng(0).permutation(len(digits.target))
x = (digits.images[order] * 255 / 16).astype(np.uint8)  # (N, 8, 8), 0..255
y = digits.target[order]
np.savez(
    out / "digits.npz",
    x_train=x[:1400],
    y_train=y[:1400],
    x_test=x[1400:],
    y_test=y[1400:],
    classes=np.array([str(d) for d in range(10)]),
)

# %% [markdown]
# What xnas sees (the same as `xnas data --set data.name=tensors --set data.root=...`):

# %%
import xnas
from xnas.data import load_dataset

cfg = xnas.load_config(
    None,
    {
        "data.name": "tensors",
        "data.root": str(out / "digits.npz"),
        "data.val_source": "test",  # validate on the held-out arrays
        "space.channels": 4,
        "train.epochs": 2,
        "search.population": 6,
        "search.generations": 2,
        "objectives": ["error", "params"],
    },
)
bundle = load_dataset(cfg.data)
print(bundle.description, bundle.input_shape, bundle.num_classes)
print(f"{len(bundle.train)} training and {len(bundle.val)} validation images")

# %%
run = xnas.search(cfg, out / "run", progress=False)
print(run.table("front"))
