"""External clustering measures: accuracy under the best cluster-to-class matching, NMI and
the cluster entropy reported by Dai et al. (2008)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score

from ..exceptions import DataError

__all__ = ["cluster_accuracy", "cluster_entropy", "cluster_nmi", "contingency"]


def _check(labels_true: Any, labels_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(labels_true).ravel()
    p = np.asarray(labels_pred).ravel()
    if t.shape != p.shape:
        raise DataError(f"labels_true and labels_pred differ in length: {t.shape[0]} vs "
                        f"{p.shape[0]}")
    if t.size == 0:
        raise DataError("no labels to score")
    return t, p


def contingency(labels_true: Any, labels_pred: Any) -> np.ndarray:
    """``counts[cluster, class]``: how many samples of each class each cluster holds."""
    t, p = _check(labels_true, labels_pred)
    _, ti = np.unique(t, return_inverse=True)
    _, pi = np.unique(p, return_inverse=True)
    out = np.zeros((pi.max() + 1, ti.max() + 1), dtype=np.int64)
    np.add.at(out, (pi, ti), 1)
    return out


def cluster_accuracy(labels_true: Any, labels_pred: Any) -> float:
    """Fraction of samples whose cluster is matched to their class under the one-to-one
    cluster-to-class matching that maximises it (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``). Clusters left unmatched (more clusters than
    classes) count as wrong."""
    C = contingency(labels_true, labels_pred)
    r, c = linear_sum_assignment(C, maximize=True)
    return float(C[r, c].sum() / C.sum())


def cluster_nmi(labels_true: Any, labels_pred: Any) -> float:
    """Normalised mutual information (scikit-learn, arithmetic normalisation)."""
    t, p = _check(labels_true, labels_pred)
    return float(normalized_mutual_info_score(t, p))


def cluster_entropy(labels_true: Any, labels_pred: Any, base: float = 2.0) -> float:
    """Size-weighted class entropy of the clusters, ``sum_c n_c/n H(class | cluster c)``
    (lower is better; 0 for pure clusters), the entropy measure of Dai et al. 2008
    (following Zhao & Karypis); logarithm base ``base`` (2 here, our choice)."""
    C = contingency(labels_true, labels_pred).astype(np.float64)
    sizes = C.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(sizes > 0, C / np.where(sizes > 0, sizes, 1.0), 0.0)
        h = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return float(np.sum(sizes.ravel() / C.sum() * h) / np.log(base))
