"""Image patches: sampling from unlabelled images, contrast normalisation, dense extraction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError

__all__ = ["as_images", "dense_patches", "normalize_patches", "sample_patches"]


def as_images(X: Any, image_shape: tuple[int, int] | None, name: str = "X") -> list[np.ndarray] | np.ndarray:
    """Grey images from ``(n, h, w)``, ``(n, h*w)`` with ``image_shape``, or a list of 2-d arrays
    of any sizes (colour ``(h, w, 3)`` images are averaged to grey)."""
    if isinstance(X, (list, tuple)):
        out = [_grey(np.asarray(im, dtype=np.float64), f"{name}[{i}]") for i, im in enumerate(X)]
        if not out:
            raise DataError(f"{name} holds no image")
        return out
    A = np.asarray(X, dtype=np.float64)
    if A.ndim == 2:
        if image_shape is None:
            raise ConfigError(f"{name} has shape {A.shape} (flat rows): pass image_shape=(h, w)")
        h, w = image_shape
        if h * w != A.shape[1]:
            raise DataError(f"image_shape {tuple(image_shape)} needs {h * w} columns, {name} has "
                            f"{A.shape[1]}")
        A = A.reshape(A.shape[0], h, w)
    elif A.ndim == 4 and A.shape[-1] in (3, 4):
        A = A[..., :3].mean(axis=-1)
    elif A.ndim != 3:
        raise DataError(f"{name} must be (n, h, w) images, (n, h*w) rows or a list of images, "
                        f"got shape {A.shape}")
    if A.shape[0] == 0:
        raise DataError(f"{name} holds no image")
    if not np.all(np.isfinite(A)):
        raise DataError(f"{name} contains NaN or infinite values")
    return A


def _grey(im: np.ndarray, name: str) -> np.ndarray:
    if im.ndim == 3 and im.shape[-1] in (3, 4):
        im = im[..., :3].mean(axis=-1)
    if im.ndim != 2:
        raise DataError(f"{name} must be a 2-d grey or (h, w, 3) colour image, got {im.shape}")
    if not np.all(np.isfinite(im)):
        raise DataError(f"{name} contains NaN or infinite values")
    return im


def _check_patch(images: Sequence[np.ndarray] | np.ndarray, patch: tuple[int, int], name: str) -> None:
    ph, pw = patch
    for i, im in enumerate(images):
        if im.shape[0] < ph or im.shape[1] < pw:
            raise DataError(f"{name}[{i}] of shape {im.shape} is smaller than the patch {patch}")


def sample_patches(images: Any, patch_size: tuple[int, int], n_patches: int,
                   random_state: int | None = None, image_shape: tuple[int, int] | None = None
                   ) -> np.ndarray:
    """``n_patches`` patches (flattened, ``n_patches x ph*pw``) at uniformly random positions of
    images drawn uniformly at random (with replacement)."""
    imgs = as_images(images, image_shape, "images")
    ph, pw = patch_size
    _check_patch(imgs, (ph, pw), "images")
    rng = np.random.default_rng(random_state)
    which = rng.integers(0, len(imgs), n_patches)
    out = np.empty((n_patches, ph * pw))
    for j, i in enumerate(which):
        im = imgs[i]
        r = rng.integers(0, im.shape[0] - ph + 1)
        c = rng.integers(0, im.shape[1] - pw + 1)
        out[j] = im[r:r + ph, c:c + pw].ravel()
    return out


def dense_patches(images: np.ndarray, patch_size: tuple[int, int], stride: int) -> np.ndarray:
    """Every patch of ``(n, h, w)`` images on a grid of step ``stride``:
    ``(n, rows, cols, ph*pw)``."""
    ph, pw = patch_size
    _check_patch(images, (ph, pw), "X")
    win = np.lib.stride_tricks.sliding_window_view(images, (ph, pw), axis=(1, 2))
    win = win[:, ::stride, ::stride]
    return win.reshape(*win.shape[:3], ph * pw)


def normalize_patches(P: np.ndarray, eps: float) -> np.ndarray:
    """Per-patch contrast normalisation: subtract the patch mean, divide by
    ``sqrt(variance + eps)`` (Coates, Lee & Ng, AISTATS 2011, Sec. 3.1.1)."""
    P = P - P.mean(axis=-1, keepdims=True)
    return P / np.sqrt(P.var(axis=-1, keepdims=True) + eps)
