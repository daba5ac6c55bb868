"""Subspace Alignment (Fernando, Habrard, Sebban & Tuytelaars, ICCV 2013)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._domains import Domains
from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import FeatureTransfer

__all__ = ["SubspaceAlignment"]


@register("feature", "sa")
class SubspaceAlignment(FeatureTransfer, BaseEstimator):
    """Subspace Alignment: map the source PCA basis onto the target's, ``M = P_s' P_t``.

    Fernando, Habrard, Sebban & Tuytelaars, "Unsupervised Visual Domain Adaptation Using
    Subspace Alignment", ICCV 2013, Algorithm 1: ``P_s``, ``P_t`` are the top ``d`` principal
    directions of each domain; source rows become ``X_s P_s M`` and target rows ``X_t P_t``
    (each domain centred on its own mean, as PCA does). The paper chooses ``d`` with a
    stability bound; here ``n_components`` is given (default 20, our choice).
    Sparse input is densified.

    Attributes:
        components_source_, components_target_: ``P_s'`` and ``P_t'`` (``d x n_features``).
        M_: the alignment ``P_s' P_t``.
    """

    _name = "SubspaceAlignment"

    def __init__(self, estimator: Any = None, *, n_components: int = 20):
        self.estimator = estimator
        self.n_components = n_components

    def _check_params(self) -> None:
        if not (isinstance(self.n_components, (int, np.integer)) and self.n_components >= 1):
            raise ConfigError(f"n_components must be an int >= 1, got {self.n_components!r}")

    def _fit_map(self, d: Domains) -> None:
        from sklearn.decomposition import PCA

        Xs, Xt = d.Xs, d.Xt
        k = self.n_components
        lim = min(Xs.shape[0], Xt.shape[0], Xs.shape[1])
        if k > lim:
            raise DataError(f"SubspaceAlignment: n_components={k} exceeds min(n_source, n_target, "
                            f"n_features) = {lim} (source {Xs.shape}, target {Xt.shape})")
        self.pca_source_ = PCA(k, svd_solver="full").fit(Xs)
        self.pca_target_ = PCA(k, svd_solver="full").fit(Xt)
        self.components_source_ = self.pca_source_.components_
        self.components_target_ = self.pca_target_.components_
        self.M_ = self.components_source_ @ self.components_target_.T

    def _map(self, X: Any, source: bool) -> Any:
        if source:
            return self.pca_source_.transform(X) @ self.M_
        return self.pca_target_.transform(X)
