"""Batch-level augmentation on tensors: random crop with zero padding, flip, cutout.

Working on whole batches (on whatever device they live) keeps augmentation off the
per-sample Python path, and a ``torch.Generator`` makes it reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchAugment:
    crop_padding: int = 0  # 0 = no random crop
    flip: bool = False  # random horizontal flip with p = 0.5
    cutout: int = 0  # side of the zeroed square (DeVries & Taylor 2017); 0 = off

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, _, h, w = x.shape
        dev = x.device

        def rand_int(high: int) -> torch.Tensor:
            return torch.randint(0, high, (n,), generator=generator).to(dev)

        if self.crop_padding:
            p = self.crop_padding
            padded = torch.nn.functional.pad(x, (p, p, p, p))
            top, left = rand_int(2 * p + 1), rand_int(2 * p + 1)
            rows = (top[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
            cols = (left[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
            batch = torch.arange(n, device=dev)[:, None, None, None]
            chans = torch.arange(x.shape[1], device=dev)[None, :, None, None]
            x = padded[batch, chans, rows, cols]
        if self.flip:
            mask = (torch.rand(n, generator=generator) < 0.5).to(dev)[:, None, None, None]
            x = torch.where(mask, x.flip(-1), x)
        if self.cutout:
            cy, cx = rand_int(h), rand_int(w)
            half = self.cutout // 2
            ys = torch.arange(h, device=dev)[None, :, None]
            xs = torch.arange(w, device=dev)[None, None, :]
            inside = (
                (ys >= (cy - half)[:, None, None])
                & (ys < (cy - half + self.cutout)[:, None, None])
                & (xs >= (cx - half)[:, None, None])
                & (xs < (cx - half + self.cutout)[:, None, None])
            )
            x = x.masked_fill(inside[:, None, :, :], 0.0)
        return x
