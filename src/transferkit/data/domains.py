"""Domain-adaptation data: MNIST-M, Amazon reviews, image folders and partial transfer.

* :func:`build_mnist_m` blends MNIST digits with random crops of BSDS500 photographs
  (Ganin & Lempitsky, ICML 2015, Section 4): ``out = |crop - digit|`` per colour channel.
* :func:`load_amazon_reviews` reads Blitzer et al.'s four review domains as the 5,000-dim
  mSDA bag-of-words of the DANN paper (svmlight) or the 400-dim features (``.mat``).
* :func:`load_image_folder` reads ``root/<domain>/<class>/*.jpg`` (the Office-31 layout).
* :func:`make_partial_target` keeps a subset of the target classes (partial transfer).

Every loader returns :class:`~transferkit.data.Domain`; file-backed ones take a ``root``
(default ``$TRANSFERKIT_DATA`` or ``../shared/data``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._utils import require, resolve_root
from ..exceptions import DataError
from ._base import Domain

__all__ = [
    "AMAZON_DOMAINS",
    "build_mnist_m",
    "load_amazon_reviews",
    "load_image_folder",
    "load_mnist_m",
    "make_partial_target",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _bsds_files(bsds_root: str | os.PathLike | None) -> list[Path]:
    base = resolve_root(bsds_root, "bsds500_train_images", "BSDS500 training images")
    files = sorted(p for p in base.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no BSDS500 images (*.jpg) found under '{base}'")
    return files


def build_mnist_m(mnist_domain: Domain, bsds_root: str | os.PathLike | None = None,
                  seed: int = 0) -> Domain:
    """MNIST-M from an MNIST :class:`Domain`: ``|crop - digit|`` with random BSDS500 crops.

    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015: each
    digit (grey, in [0, 1]) is blended with a random patch of a random BSDS500 training
    photograph by taking the absolute difference per RGB channel. The photographs, patch
    positions and therefore the output are fixed by ``seed``. Returns ``[N, 3, H, W]``
    float32 in [0, 1] with the MNIST labels.
    """
    X = np.asarray(mnist_domain.X)
    if X.ndim != 4 or X.shape[1] != 1:
        raise DataError(f"build_mnist_m expects grey images [N, 1, H, W], got shape {X.shape}")
    PIL = require("PIL.Image", "vision")
    files = _bsds_files(bsds_root)
    n, _, h, w = X.shape
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(files), n)
    u = rng.random((n, 2))
    out = np.empty((n, 3, h, w), np.float32)
    for k in np.unique(which):
        with PIL.open(files[k]) as im:
            photo = np.asarray(im.convert("RGB"), np.float32) / 255.0  # [H, W, 3]
        ph, pw = photo.shape[:2]
        if ph < h or pw < w:
            raise DataError(f"BSDS image '{files[k].name}' ({pw}x{ph}) is smaller than the digits ({w}x{h})")
        for i in np.flatnonzero(which == k):
            top = int(u[i, 0] * (ph - h + 1))
            left = int(u[i, 1] * (pw - w + 1))
            crop = photo[top : top + h, left : left + w].transpose(2, 0, 1)
            out[i] = np.abs(crop - X[i])
    return Domain(out, mnist_domain.y, f"mnist_m_{mnist_domain.name}", mnist_domain.num_classes,
                  mnist_domain.class_names)


def load_mnist_m(root: str | os.PathLike | None = None, split: str = "test", seed: int = 0) -> Domain:
    """Build MNIST-M from the MNIST ``split`` and the BSDS500 images under ``root``."""
    from .digits import load_mnist

    return build_mnist_m(load_mnist(root, split), root, seed)


#: Canonical domain names of Blitzer et al.'s reviews, with the usual one-letter aliases.
AMAZON_DOMAINS = {"books": "books", "b": "books", "dvd": "dvd", "d": "dvd",
                  "electronics": "electronics", "e": "electronics", "elec": "electronics",
                  "kitchen": "kitchen", "k": "kitchen"}
_AMAZON_400_FILES = {"books": "books_400.mat", "dvd": "dvd_400.mat",
                     "electronics": "elec_400.mat", "kitchen": "kitchen_400.mat"}


def load_amazon_reviews(domain: str, split: str = "train", root: str | os.PathLike | None = None,
                        features: str = "dann_5000") -> Domain:
    """One Amazon review domain (books, dvd, electronics, kitchen), labels 0 = neg, 1 = pos.

    ``features="dann_5000"``: the 5,000-dim mSDA bag-of-words term counts of Ganin et al.,
    JMLR 2016, Section 5.1 (``amazon_reviews_dann_5000/<domain>_{train,test}.svmlight``;
    ``split`` is ``"train"`` (2,000) or ``"test"``; labels -1/+1 mapped to 0/1). Returned as
    dense float32 counts.

    ``features="400"``: the 400-dim features in [0, 1] (``amazon_reviews_400/*_400.mat``),
    one split of about 2,000 reviews (``split="all"``).
    """
    key = AMAZON_DOMAINS.get(str(domain).lower())
    if key is None:
        raise DataError(f"unknown Amazon reviews domain '{domain}'; choose books, dvd, electronics or kitchen")
    if features == "dann_5000":
        if split not in ("train", "test"):
            raise DataError(f"Amazon reviews (dann_5000) split must be 'train' or 'test', got '{split}'")
        from sklearn.datasets import load_svmlight_file

        base = resolve_root(root, "amazon_reviews_dann_5000", "Amazon reviews (DANN 5000-dim)")
        path = base / f"{key}_{split}.svmlight"
        if not path.exists():
            raise DataError(f"'{path.name}' not found under '{base}'")
        Xs, y = load_svmlight_file(str(path), n_features=5000)
        X = np.asarray(Xs.todense(), np.float32)
        y = (np.asarray(y) > 0).astype(np.int64)
    elif features == "400":
        if split not in ("all", "train"):
            raise DataError(f"Amazon reviews (400-dim) have a single split 'all', got '{split}'")
        from scipy.io import loadmat

        base = resolve_root(root, "amazon_reviews_400", "Amazon reviews (400-dim)")
        path = base / _AMAZON_400_FILES[key]
        if not path.exists():
            raise DataError(f"'{path.name}' not found under '{base}'")
        mat = loadmat(str(path))
        X = np.asarray(mat["fts"], np.float32)
        y = np.asarray(mat["labels"]).reshape(-1).astype(np.int64)
    else:
        raise DataError(f"features must be 'dann_5000' or '400', got '{features}'")
    return Domain(X, y, f"amazon_{key}_{split}", 2, ["negative", "positive"])


def load_image_folder(root: str | os.PathLike, domain: str, image_size: int = 32,
                      classes: Sequence[str] | None = None) -> Domain:
    """Images under ``root/<domain>/<class>/*.jpg`` as ``[N, 3, S, S]`` float32 in [0, 1].

    Class indices follow ``classes`` if given (pass the source's ``class_names`` so both
    domains share indices), else the sorted class folder names. Images are resized to
    ``image_size`` x ``image_size`` with bilinear filtering (Pillow).
    """
    PIL = require("PIL.Image", "vision")
    if int(image_size) <= 0:
        raise DataError(f"image_size must be > 0, got {image_size}")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(f"image folder root '{base}' does not exist")
    folder = base / domain
    if not folder.is_dir():
        found = sorted(p.name for p in base.iterdir() if p.is_dir())
        raise DataError(f"domain folder '{domain}' not found under '{base}'; found: {', '.join(found) or 'none'}")
    present = sorted(p.name for p in folder.iterdir() if p.is_dir())
    names = list(classes) if classes is not None else present
    if not names:
        raise DataError(f"'{folder}' has no class sub-folders (expected <domain>/<class>/*.jpg)")
    unknown = sorted(set(present) - set(names))
    if unknown:
        raise DataError(f"domain '{domain}' has class folders not in the class list: {', '.join(unknown)}")
    xs, ys = [], []
    for c, name in enumerate(names):
        cdir = folder / name
        if not cdir.is_dir():
            continue  # a class absent from this domain (partial transfer)
        for p in sorted(cdir.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            with PIL.open(p) as im:
                im = im.convert("RGB").resize((int(image_size), int(image_size)), PIL.BILINEAR)
                xs.append(np.asarray(im, np.float32).transpose(2, 0, 1) / 255.0)
            ys.append(c)
    if not xs:
        raise DataError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under '{folder}'")
    return Domain(np.stack(xs), np.asarray(ys, np.int64), domain, len(names), names)


def make_partial_target(source: Domain, target: Domain, target_classes: int | Sequence[int]) -> Domain:
    """Keep only the target samples of ``target_classes`` (partial transfer).

    ``target_classes`` is a count ``k`` (the first ``k`` class indices, the protocol of Cao
    et al., CVPR 2018) or explicit class indices. Raises :class:`DataError` unless the setting
    is a real partial one: the source must hold every one of its classes, the target classes
    must be a strict subset of them, and each must have target samples. The labels keep the
    source's indexing and ``num_classes``.
    """
    if source.y is None:
        raise DataError(f"source domain '{source.name}' has no labels")
    if target.y is None:
        raise DataError(f"partial transfer needs target labels to select classes; '{target.name}' has none")
    ys, yt = np.asarray(source.y), np.asarray(target.y)
    n_src = source.num_classes or int(ys.max()) + 1
    missing_src = sorted(set(range(n_src)) - set(np.unique(ys).tolist()))
    if missing_src:
        raise DataError(f"source domain '{source.name}' lacks classes {missing_src} of its {n_src}")
    if isinstance(target_classes, (int, np.integer)):
        if not 0 < int(target_classes) < n_src:
            raise DataError(
                f"partial transfer needs between 1 and {n_src - 1} target classes for {n_src} "
                f"source classes, got {target_classes}"
            )
        keep = list(range(int(target_classes)))
    else:
        keep = sorted({int(c) for c in target_classes})
        bad = [c for c in keep if not 0 <= c < n_src]
        if bad:
            raise DataError(f"target classes {bad} are not source classes (0..{n_src - 1})")
        if not keep or len(keep) >= n_src:
            raise DataError(
                f"partial transfer needs fewer target classes than the {n_src} source classes "
                f"and at least one, got {len(keep)}"
            )
    present = set(np.unique(yt).tolist())
    absent = [c for c in keep if c not in present]
    if absent:
        raise DataError(f"target domain '{target.name}' has no samples of classes {absent}; "
                        f"the {len(keep)} requested target classes must all be present")
    idx = np.flatnonzero(np.isin(yt, keep))
    return Domain(target.X[idx] if isinstance(target.X, np.ndarray) else [target.X[i] for i in idx],
                  yt[idx], f"{target.name}_partial{len(keep)}", n_src, source.class_names)
