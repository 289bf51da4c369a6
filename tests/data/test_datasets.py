"""Every registered dataset loads real samples with the right shapes and class counts."""

from __future__ import annotations

import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from xnas.config import DataConfig, LinesOptions
from xnas.data import DATASETS, balanced_subset, load_dataset
from xnas.errors import DataError, RegistryError


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Files in the standard idx format (what torchvision's MNIST readers parse)."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, n, h, w) + images.astype(np.uint8).tobytes()
    )
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 2049, n) + labels.astype(np.uint8).tobytes()
    )


@pytest.fixture(scope="module")
def fashion_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # No Fashion-MNIST offline: write a small file set in its real on-disk format.
    root = tmp_path_factory.mktemp("fashion")
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 200), ("t10k", 50)):
        write_idx(
            root / "FashionMNIST" / "raw",
            prefix,
            rng.integers(0, 256, (n, 28, 28)),
            np.arange(n) % 10,
        )
    # real samples as a user's own arrays: scikit-learn's 8x8 digits in an .npz
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(
        root / "digits.npz",
        x_train=(digits.images[:, None] * 15).astype(np.uint8),  # 0..16 -> 0..240
        y_train=digits.target,
    )
    return root


def case(name: str, shared: Path, fashion: Path) -> tuple[DataConfig, int, tuple[int, int, int]]:
    """The config that loads dataset ``name`` here, its class count and input shape."""
    small = dict(train_size=200, val_size=100)
    table = {
        "lines": (DataConfig(name="lines", **small), 4, (1, 12, 12)),
        "digits": (DataConfig(name="digits", **small), 10, (1, 8, 8)),
        "mnist": (DataConfig(name="mnist", root=str(shared), **small), 10, (1, 28, 28)),
        "fashion_mnist": (
            DataConfig(name="fashion_mnist", root=str(fashion), train_size=100, val_size=20),
            10,
            (1, 28, 28),
        ),
        "cifar10": (DataConfig(name="cifar10", root=str(shared), **small), 10, (3, 32, 32)),
        "tensors": (
            DataConfig(name="tensors", root=str(fashion / "digits.npz"), **small),
            10,
            (1, 8, 8),
        ),
        "imagefolder": (
            DataConfig(name="imagefolder", root=str(shared / "cifar10-jpg.tar.gz"), **small),
            10,
            (3, 32, 32),
        ),
    }
    return table[name]


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_dataset_loads_real_samples(name, shared_data, fashion_root):
    cfg, classes, shape = case(name, shared_data, fashion_root)
    bundle = load_dataset(cfg)
    assert bundle.num_classes == classes == len(bundle.class_names)
    assert bundle.input_shape == shape
    assert tuple(bundle.train.x.shape[1:]) == shape and bundle.train.x.dtype == torch.float32
    assert len(bundle.train) == cfg.train_size and len(bundle.val) == cfg.val_size
    # class-balanced subsets: per-class counts differ by at most one
    for split in (bundle.train, bundle.val):
        counts = split.y.bincount(minlength=classes)
        assert counts.max() - counts.min() <= 1, counts.tolist()
    # normalised with training statistics
    assert torch.allclose(bundle.train.x.mean(dim=(0, 2, 3)), torch.zeros(shape[0]), atol=1e-4)
    assert bundle.train.x.std() == pytest.approx(1.0, abs=0.05)
    x, y = bundle.train[0]
    assert x.shape == shape and 0 <= int(y) < classes


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "imagefolder"])
def test_missing_root_is_one_line_data_error(name, tmp_path):
    missing = tmp_path / "does-not-exist"
    with pytest.raises(DataError) as info:
        load_dataset(DataConfig(name=name, root=str(missing)))
    message = str(info.value)
    assert str(missing) in message and "expected" in message and "\n" not in message


def test_root_without_files_names_what_was_expected(tmp_path):
    with pytest.raises(DataError, match="MNIST.*expected"):
        load_dataset(DataConfig(name="mnist", root=str(tmp_path)))
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_dataset(DataConfig(name="cifar10", root=str(tmp_path)))


def test_unknown_dataset_lists_the_registered_ones():
    with pytest.raises(RegistryError, match="expected one of: cifar10, digits"):
        load_dataset(DataConfig(name="imagenet"))


def test_cifar10_jpeg_fallback_is_labelled_lossy(shared_data):
    bundle = load_dataset(
        DataConfig(name="cifar10", root=str(shared_data), train_size=20, val_size=10)
    )
    assert "JPEG" in bundle.description and "lossy" in bundle.description
    assert bundle.class_names[:3] == ("airplane", "automobile", "bird")


def test_val_from_test_split_and_holdout_are_disjoint_sources(shared_data):
    cfg = DataConfig(name="mnist", root=str(shared_data), train_size=100, val_size=50)
    held = load_dataset(cfg)
    from_test = load_dataset(DataConfig(**{**cfg.__dict__, "val_source": "test"}))
    assert not torch.equal(held.val.x, from_test.val.x)
    with pytest.raises(DataError, match="no test split"):
        load_dataset(DataConfig(name="digits", val_source="test"))


def test_holdout_never_overlaps_training_samples():
    bundle = load_dataset(DataConfig(name="digits", normalize=False, val_fraction=0.2))
    train = {tuple(r) for r in bundle.train.x.flatten(1).numpy().round(4).tolist()}
    val = [tuple(r) for r in bundle.val.x.flatten(1).numpy().round(4).tolist()]
    # digits has a handful of exact duplicate images in the raw data; allow none beyond those
    assert sum(v in train for v in val) <= 3
    assert len(bundle.train) + len(bundle.val) == 1797


def test_lines_is_balanced_shuffled_seeded_and_has_the_four_shapes():
    cfg = DataConfig(
        name="lines", train_size=400, val_size=200, normalize=False, lines=LinesOptions(noise=0.0)
    )
    a, b = load_dataset(cfg), load_dataset(cfg)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)
    other = load_dataset(DataConfig(**{**cfg.__dict__, "seed": 1}))
    assert not torch.equal(a.train.x, other.train.x)
    for split, n in ((a.train, 400), (a.val, 200)):
        assert split.y.bincount().tolist() == [n // 4] * 4
        assert len(set(split.y[:8].tolist())) > 1  # shuffled, not sorted by class
    img, lab = a.train.x[:, 0], a.train.y
    assert img[lab == 0].sum() == 0  # no line
    assert torch.all(img[lab != 0].sum(dim=(1, 2)) == 5)  # line length 5
    horiz = img[lab == 1]
    assert torch.all(horiz.sum(dim=2).amax(dim=1) == 5)  # all five pixels in one row
    vert = img[lab == 2]
    assert torch.all(vert.sum(dim=1).amax(dim=1) == 5)  # all five in one column
    diag = img[lab == 3]
    assert torch.all(diag.sum(dim=2).amax(dim=1) == 1) and torch.all(
        diag.sum(dim=1).amax(dim=1) == 1
    )


def test_balanced_subset_round_robins_over_short_classes():
    labels = np.array([0] * 10 + [1] * 2 + [2] * 10)
    idx = balanced_subset(labels, 12, np.random.default_rng(0))
    assert len(set(idx.tolist())) == 12
    assert np.bincount(labels[idx]).tolist() == [5, 2, 5]
    with pytest.raises(DataError, match="only 22"):
        balanced_subset(labels, 23, np.random.default_rng(0))


def test_tarball_is_extracted_once_and_reused(tmp_path, monkeypatch):
    from PIL import Image

    from xnas.data import folder

    src = tmp_path / "toy"
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (src / split / cls).mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (10, 10), (i * 40, 0, 0)).save(src / split / cls / f"{i}.png")
    tar = tmp_path / "toy.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(src, arcname="toy")
    monkeypatch.setenv("XNAS_CACHE", str(tmp_path / "cache"))
    cfg = DataConfig(name="imagefolder", root=str(tar), val_source="test")
    bundle = load_dataset(cfg)
    assert bundle.input_shape == (3, 10, 10) and len(bundle.train) == 8 and len(bundle.val) == 8
    extracted = list((tmp_path / "cache" / "extracted").iterdir())
    assert len(extracted) == 1
    stamp = extracted[0].stat().st_mtime_ns
    load_dataset(cfg)
    assert [p.stat().st_mtime_ns for p in (tmp_path / "cache" / "extracted").iterdir()] == [stamp]
    assert folder.extract_tarball(tar) == extracted[0]


def test_not_a_tarball_is_a_data_error(tmp_path):
    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"not a tar")
    with pytest.raises(DataError, match="not a tar archive"):
        load_dataset(DataConfig(name="imagefolder", root=str(bogus)))
