"""Array checks shared by the transferability scores (numpy or torch inputs, no torch import)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse

from ..exceptions import DataError

__all__ = ["as_features", "as_labels", "as_probabilities", "class_sums", "one_hot"]


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def as_features(name: str, value: Any) -> np.ndarray:
    """``value`` as a finite float64 array of shape [N, D]."""
    a = _to_numpy(value)
    if a.ndim != 2:
        raise DataError(f"'{name}' must have shape [N, D], got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise DataError(f"'{name}' is empty: shape {a.shape}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise DataError(f"'{name}' contains NaN or inf")
    return a


def as_labels(name: str, value: Any, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer class ids remapped to ``0..C-1`` (gaps closed), and the original ids in order.

    Accepts integer arrays and float arrays holding whole numbers (as torch or numpy give
    them); any other value is an error, since class ids are compared for equality.
    """
    a = _to_numpy(value)
    if a.ndim != 1:
        raise DataError(f"'{name}' must have shape [N], got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise DataError(f"'{name}' has {a.shape[0]} entries but the scored array has {n} rows")
    if a.shape[0] == 0:
        raise DataError(f"'{name}' is empty")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or not np.all(a == np.round(a)):
            raise DataError(
                f"'{name}' must hold integer class ids; got non-integer values "
                "(for regression targets use regression=True where the score supports it)"
            )
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iub":
        raise DataError(f"'{name}' must hold integer class ids, got dtype {a.dtype}")
    classes, inverse = np.unique(a, return_inverse=True)
    return inverse.reshape(-1), classes


def as_probabilities(name: str, value: Any, atol: float = 1e-3) -> np.ndarray:
    """A [N, Z] array of non-negative rows that sum to 1 (softmax outputs, not logits)."""
    p = as_features(name, value)
    if (p < 0).any():
        raise DataError(
            f"'{name}' must be probabilities (softmax outputs); it has negative entries"
        )
    sums = p.sum(axis=1)
    worst = float(np.abs(sums - 1.0).max())
    if worst > atol:
        raise DataError(
            f"'{name}' rows must sum to 1 (softmax outputs, not logits); the worst row sums to "
            f"{sums[np.argmax(np.abs(sums - 1.0))]:.4g}"
        )
    return p


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((labels.shape[0], num_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def class_sums(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``out[c] = sum of values[i] over i with labels[i] == c`` for labels in ``0..C-1``, [C, ...]."""
    n = labels.shape[0]
    ind = scipy.sparse.csr_matrix(
        (np.ones(n), (labels, np.arange(n))), shape=(int(labels.max()) + 1, n)
    )
    return np.asarray(ind @ values)
