"""Feature Augmentation, "frustratingly easy" domain adaptation (Daumé III, ACL 2007)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .._domains import Domains
from .._registry import register
from ._base import FeatureTransfer

__all__ = ["FeatureAugmentation"]


@register("feature", "fa")
class FeatureAugmentation(FeatureTransfer, BaseEstimator):
    """Feature Augmentation: ``x -> [x, x, 0]`` for source rows and ``[x, 0, x]`` for target rows.

    Daumé III, "Frustratingly Easy Domain Adaptation", ACL 2007, eq. 1: the base estimator
    learns shared weights (first block) and domain-specific ones (second and third blocks).
    Needs some labelled target rows (``y != -1`` with ``sample_domain < 0``). Sparse input
    stays sparse.
    """

    _name = "FeatureAugmentation"
    _sparse_ok = True
    _need_target_labels = True

    def __init__(self, estimator: Any = None):
        self.estimator = estimator

    def _fit_map(self, d: Domains) -> None:
        self.n_augmented_features_ = 3 * d.X.shape[1]

    def _map(self, X: Any, source: bool) -> Any:
        if sp.issparse(X):
            Z = sp.csr_matrix(X.shape)
            blocks = [X, X, Z] if source else [X, Z, X]
            return sp.hstack(blocks, format="csr")
        Z = np.zeros_like(X)
        return np.hstack([X, X, Z] if source else [X, Z, X])
