"""Real digit data sets: scikit-learn's embedded 8x8 digits, MNIST, USPS and the JDA pair.

Every loader returns :class:`~transferkit.data.Domain` objects with images as float32 arrays
``[N, 1, H, W]`` in ``[0, 1]`` and integer labels 0-9. File-backed loaders take a ``root``
directory (default: ``$TRANSFERKIT_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from .._utils import resolve_root
from ..exceptions import DataError
from ._base import Domain

__all__ = [
    "load_sklearn_digits", "load_mnist", "load_usps", "load_svhn", "load_mnist_usps_jda", "resize_images",
]

DIGIT_NAMES = [str(i) for i in range(10)]


def load_sklearn_digits() -> Domain:
    """scikit-learn's 1,797 handwritten 8x8 digits (UCI), embedded: no download needed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)[:, None]
    return Domain(X, d.target.astype(np.int64), "sklearn_digits", 10, DIGIT_NAMES)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[0] != 0 or data[1] != 0:
        raise DataError(f"'{path}' is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise DataError(f"'{path}' is truncated: header says {dims}, found {arr.size} values")
    return arr.reshape(dims)


def _find(root: Path, stem: str) -> Path | None:
    for cand in (root / f"{stem}.gz", root / stem, root / "raw" / f"{stem}.gz", root / "raw" / stem):
        if cand.exists():
            return cand
    return None


def load_mnist(
    root: str | os.PathLike | None = None, split: str = "test", download: bool = False
) -> Domain:
    """MNIST from the IDX files under ``root`` (or ``root/mnist``), 28x28, scaled to [0, 1].

    ``split`` is ``"train"`` or ``"test"``. With ``download=True`` and a network, torchvision
    fetches missing files into ``root``. The shared offline copy holds the 10,000 test images.
    """
    if split not in ("train", "test"):
        raise DataError(f"MNIST split must be 'train' or 'test', got '{split}'")
    prefix = "train" if split == "train" else "t10k"
    try:
        base = resolve_root(root, "mnist", "MNIST")
    except DataError:
        if not download:
            raise
        base = Path(root or ".").expanduser()
    img, lab = _find(base, f"{prefix}-images-idx3-ubyte"), _find(base, f"{prefix}-labels-idx1-ubyte")
    if (img is None or lab is None) and download:
        from .._utils import require

        require("torchvision", "vision").datasets.MNIST(str(base), train=split == "train", download=True)
        img = _find(base / "MNIST", f"{prefix}-images-idx3-ubyte")
        lab = _find(base / "MNIST", f"{prefix}-labels-idx1-ubyte")
    if img is None or lab is None:
        raise DataError(
            f"MNIST {split} files ({prefix}-images-idx3-ubyte[.gz], {prefix}-labels-idx1-ubyte[.gz]) "
            f"not found under '{base}'. Pass download=True where a network exists."
        )
    X = (_read_idx(img).astype(np.float32) / 255.0)[:, None]
    y = _read_idx(lab).astype(np.int64)
    return Domain(X, y, f"mnist_{split}", 10, DIGIT_NAMES)


def load_usps(root: str | os.PathLike | None = None, split: str = "train") -> Domain:
    """USPS 16x16 digits from ``usps.h5`` (the Kaggle layout) under ``root`` or ``root/usps``.

    ``split`` is ``"train"`` (7,291), ``"test"`` (2,007) or ``"all"`` (9,298).
    """
    import h5py

    if split not in ("train", "test", "all"):
        raise DataError(f"USPS split must be 'train', 'test' or 'all', got '{split}'")
    base = resolve_root(root, "usps", "USPS")
    path = base / "usps.h5"
    if not path.exists():
        raise DataError(f"USPS file 'usps.h5' not found under '{base}'")
    parts = ["train", "test"] if split == "all" else [split]
    with h5py.File(path, "r") as f:
        X = np.concatenate([f[p]["data"][:] for p in parts]).astype(np.float32)
        y = np.concatenate([f[p]["target"][:] for p in parts]).astype(np.int64)
    return Domain(X.reshape(-1, 1, 16, 16), y, f"usps_{split}", 10, DIGIT_NAMES)


def load_svhn(
    root: str | os.PathLike | None = None, split: str = "test", download: bool = False
) -> Domain:
    """SVHN cropped digits (32x32 RGB) from ``{split}_32x32.mat`` under ``root`` or ``root/svhn``.

    ``split`` is ``"train"``, ``"test"`` or ``"extra"``. Label 10 in the file is the digit 0.
    With ``download=True`` and a network, torchvision fetches the file into ``root``.
    Netzer et al., "Reading Digits in Natural Images with Unsupervised Feature Learning", 2011.
    """
    from scipy.io import loadmat

    if split not in ("train", "test", "extra"):
        raise DataError(f"SVHN split must be 'train', 'test' or 'extra', got '{split}'")
    base = Path(root).expanduser() if root is not None else None
    try:
        base = resolve_root(root, "svhn", "SVHN")
    except DataError:
        if not download:
            raise
        base = base or Path(".")
        base.mkdir(parents=True, exist_ok=True)
    path = base / f"{split}_32x32.mat"
    if not path.exists() and download:
        from .._utils import require

        require("torchvision", "vision").datasets.SVHN(str(base), split=split, download=True)
    if not path.exists():
        raise DataError(
            f"SVHN file '{split}_32x32.mat' not found under '{base}'. "
            "Pass download=True where a network exists."
        )
    mat = loadmat(str(path))
    X = np.transpose(mat["X"], (3, 2, 0, 1)).astype(np.float32) / 255.0
    y = mat["y"].reshape(-1).astype(np.int64) % 10
    return Domain(X, y, f"svhn_{split}", 10, DIGIT_NAMES)


def load_mnist_usps_jda(
    root: str | os.PathLike | None = None, direction: str = "mnist_to_usps"
) -> tuple[Domain, Domain]:
    """The JDA MNIST<->USPS benchmark (2,000 MNIST and 1,800 USPS images, 16x16).

    Returns ``(source, target)``; labels are shifted from the file's 1..10 to digits 0..9.
    """
    import h5py

    files = {"mnist_to_usps": "MNIST_vs_USPS.mat", "usps_to_mnist": "USPS_vs_MNIST.mat"}
    if direction not in files:
        raise DataError(f"direction must be one of {sorted(files)}, got '{direction}'")
    base = resolve_root(root, "mnist_usps_jda", "MNIST-USPS (JDA)")
    path = base / files[direction]
    if not path.exists():
        raise DataError(f"'{files[direction]}' not found under '{base}'")
    with h5py.File(path, "r") as f:
        Xs, Xt = (np.asarray(f[k], np.float32).reshape(-1, 1, 16, 16) for k in ("Xs", "Xt"))
        ys, yt = (np.asarray(f[k]).reshape(-1).astype(np.int64) - 1 for k in ("Ys", "Yt"))
    src, tgt = direction.split("_to_")
    return (Domain(Xs, ys, f"{src}_jda", 10, DIGIT_NAMES), Domain(Xt, yt, f"{tgt}_jda", 10, DIGIT_NAMES))


def resize_images(X: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of ``[N, C, H, W]`` images to ``size`` x ``size`` (float32)."""
    import torch
    import torch.nn.functional as F

    if X.shape[-1] == size and X.shape[-2] == size:
        return X.astype(np.float32, copy=False)
    t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.clamp_(0, 1).numpy()
