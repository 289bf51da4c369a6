"""`imagefolder`: any folder of class subfolders (torchvision ImageFolder), or a .tar.gz of one.

Layouts understood: ``ROOT/<class>/*`` (validation held out from it), or
``ROOT/train/<class>/*`` with ``ROOT/{val,valid,validation,test}/<class>/*``; a
single wrapping folder (``ROOT/name/train/...``) is descended. A tarball is
extracted once into a cache folder (``$XNAS_CACHE`` or ``~/.cache/xnas``) through
an atomic rename, so concurrent MPI ranks never see a half-extracted tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

from xnas.config import DataConfig
from xnas.data.base import DATASETS, DataBundle, Split, assemble
from xnas.errors import DataError

VAL_DIR_NAMES = ("val", "valid", "validation", "test")


def cache_dir() -> Path:
    return Path(os.environ.get("XNAS_CACHE", Path.home() / ".cache" / "xnas")).expanduser()


def extract_tarball(path: Path) -> Path:
    """Extract ``path`` once into the cache; the key covers name, size and mtime."""
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    target = cache_dir() / "extracted" / f"{path.name.split('.')[0]}-{key[:12]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        with tarfile.open(path, "r:*") as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # lost a race only if someone else finished
                raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(
            f"could not extract '{path}' ({exc}); expected a .tar.gz of class folders"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _resolve(root: Path) -> tuple[Path, Path | None]:
    """(train dir, optional test/val dir) for the layouts in the module doc."""
    for _ in range(2):
        if (root / "train").is_dir():
            test = next((root / n for n in VAL_DIR_NAMES if (root / n).is_dir()), None)
            return root / "train", test
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
    return root, None


def _folder_split(path: Path, image_size: int | None, classes: list[str] | None) -> Split:
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import default_loader
    from torchvision.transforms import functional as F

    try:
        ds = ImageFolder(str(path))
    except (FileNotFoundError, OSError) as exc:
        raise DataError(
            f"no images in '{path}' ({exc}); expected class subfolders of images"
        ) from None
    if classes is not None and ds.classes != classes:
        raise DataError(
            f"class folders of '{path}' ({', '.join(ds.classes)}) differ from the training "
            f"split's ({', '.join(classes)})"
        )
    paths = [p for p, _ in ds.samples]

    def fetch(idx: np.ndarray) -> torch.Tensor:
        images = []
        for i in idx:
            try:
                img = default_loader(paths[i])
            except (OSError, ValueError, SyntaxError) as exc:  # PIL: not an image, truncated
                raise DataError(
                    f"'{paths[i]}' is not a readable image ({type(exc).__name__}); expected "
                    "image files only in the class folders (remove or replace it)"
                ) from None
            if image_size is not None:
                img = F.resize(img, [image_size, image_size])
            images.append(F.pil_to_tensor(img))
        sizes = {tuple(t.shape) for t in images}
        if len(sizes) > 1:
            raise DataError(
                f"images under '{path}' have different sizes {sorted(sizes)[:2]}; "
                "expected one size or data.image_size set"
            )
        if not images:
            return torch.zeros((0, 3, image_size or 1, image_size or 1))
        return torch.stack(images).float() / 255.0

    return Split(labels=np.asarray(ds.targets, dtype=np.int64), fetch=fetch)


def load_folder_splits(
    root: Path, image_size: int | None
) -> tuple[Split, Split | None, tuple[str, ...]]:
    """Train split, optional test split and class names of a folder or tarball."""
    if not root.exists():
        raise DataError(f"dataset path '{root}' does not exist; expected a folder or .tar.gz")
    if root.is_file():
        if not tarfile.is_tarfile(root):
            raise DataError(f"'{root}' is a file but not a tar archive; expected a .tar.gz")
        root = extract_tarball(root)
    train_dir, test_dir = _resolve(root)
    from torchvision.datasets.folder import find_classes

    try:
        classes = find_classes(str(train_dir))[0]
    except FileNotFoundError:
        raise DataError(
            f"no class folders in '{train_dir}'; expected ROOT/<class>/<image>"
        ) from None
    train = _folder_split(train_dir, image_size, None)
    test = _folder_split(test_dir, image_size, classes) if test_dir else None
    return train, test, tuple(classes)


@DATASETS.register("imagefolder")
def load_imagefolder(cfg: DataConfig) -> DataBundle:
    if cfg.root is None:
        raise DataError("data.root is not set for 'imagefolder'; expected a folder or .tar.gz")
    root = Path(cfg.root).expanduser()
    train, test, classes = load_folder_splits(root, cfg.image_size)
    return assemble(
        cfg, description=f"imagefolder ({root.name})", train=train, test=test, class_names=classes
    )
