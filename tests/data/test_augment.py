from __future__ import annotations

import torch

from xnas.data import BatchAugment


def batch() -> torch.Tensor:
    return torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) + 1


def test_augment_is_seeded_and_keeps_shape():
    aug = BatchAugment(crop_padding=2, flip=True, cutout=4)
    a = aug(batch(), torch.Generator().manual_seed(3))
    b = aug(batch(), torch.Generator().manual_seed(3))
    c = aug(batch(), torch.Generator().manual_seed(4))
    assert a.shape == batch().shape and torch.equal(a, b) and not torch.equal(a, c)


def test_crop_is_a_shifted_window_of_the_padded_image():
    x = batch()
    out = BatchAugment(crop_padding=1)(x, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(len(x)):
        windows = [padded[i, :, r : r + 8, c : c + 8] for r in range(3) for c in range(3)]
        assert any(torch.equal(out[i], w) for w in windows)


def test_flip_only_mirrors_and_cutout_zeroes_at_most_a_square():
    x = batch()
    out = BatchAugment(flip=True)(x, torch.Generator().manual_seed(0))
    for i in range(len(x)):
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(-1))
    out = BatchAugment(cutout=4)(x, torch.Generator().manual_seed(0))
    zeroed = (out == 0).all(dim=1)  # (N, H, W) pixels zero in every channel
    assert 0 < zeroed.sum(dim=(1, 2)).max() <= 16
