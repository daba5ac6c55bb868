"""CORAL: correlation alignment in closed form (Sun, Feng & Saenko, AAAI 2016)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._domains import Domains, check_positive
from .._registry import register
from ._base import FeatureTransfer

__all__ = ["CORAL", "coral_matrix"]


def _sym_power(C: np.ndarray, p: float) -> np.ndarray:
    vals, vecs = np.linalg.eigh(C)
    vals = np.maximum(vals, np.finfo(float).tiny)
    return (vecs * vals**p) @ vecs.T


def coral_matrix(Cs: np.ndarray, Ct: np.ndarray) -> np.ndarray:
    """``Cs^{-1/2} Ct^{1/2}``: whitening by the source, re-colouring by the target covariance."""
    return _sym_power(Cs, -0.5) @ _sym_power(Ct, 0.5)


@register("feature", "coral")
class CORAL(FeatureTransfer, BaseEstimator):
    """CORAL: whiten the source features with ``C_s`` and re-colour them with ``C_t``.

    Sun, Feng & Saenko, "Return of Frustratingly Easy Domain Adaptation", AAAI 2016,
    Algorithm 1: ``C_s = cov(X_s) + reg I``, ``C_t = cov(X_t) + reg I`` (unbiased covariances,
    ``reg = 1`` in the paper), ``X_s <- X_s C_s^{-1/2} C_t^{1/2}``; target rows are left as
    they are and ``estimator`` is trained on the re-coloured source rows.

    With ``center=True`` (default) the source rows are also moved to the target mean,
    ``X_s <- (X_s - mu_s) C_s^{-1/2} C_t^{1/2} + mu_t`` (the paper standardises the features
    first, so its Algorithm 1 has no mean term; ``center=False`` is that algorithm verbatim).
    Sparse input is densified.

    Attributes:
        matrix_: ``C_s^{-1/2} C_t^{1/2}``; mean_source_, mean_target_: the domain means.
    """

    _name = "CORAL"

    def __init__(self, estimator: Any = None, *, reg: float = 1.0, center: bool = True):
        self.estimator = estimator
        self.reg = reg
        self.center = center

    def _check_params(self) -> None:
        check_positive("reg", self.reg, strict=False)

    def _fit_map(self, d: Domains) -> None:
        Xs, Xt = d.Xs, d.Xt
        dim = Xs.shape[1]
        cs = np.cov(Xs, rowvar=False).reshape(dim, dim) + self.reg * np.eye(dim)
        ct = np.cov(Xt, rowvar=False).reshape(dim, dim) + self.reg * np.eye(dim)
        self.mean_source_ = Xs.mean(axis=0)
        self.mean_target_ = Xt.mean(axis=0)
        self.matrix_ = coral_matrix(cs, ct)

    def _map(self, X: Any, source: bool) -> Any:
        if not source:
            return X
        if self.center:
            return (X - self.mean_source_) @ self.matrix_ + self.mean_target_
        return X @ self.matrix_
