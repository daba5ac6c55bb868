"""Transfer Component Analysis (Pan, Tsang, Kwok & Yang, IEEE TNN 2011)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._domains import Domains, check_positive, rbf_gamma
from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import FeatureTransfer

__all__ = ["TCA", "tca_components"]


def tca_components(K: np.ndarray, ns: int, mu: float, n_components: int,
                   dense_below: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Leading ``n_components`` eigenpairs of ``(K L K + mu I)^{-1} K H K`` (TCA, Sec. IV-B).

    ``L = e e'`` with ``e_i = 1/n_s`` (source) or ``-1/n_t`` (target) is rank one, so
    ``A = K L K + mu I = mu I + v v'`` with ``v = K e`` has the closed-form inverse square root
    ``A^{-1/2} = (I + c v v') / sqrt(mu)``, ``c = (1/sqrt(1 + |v|^2/mu) - 1)/|v|^2``
    (Sherman-Morrison). The symmetric problem ``A^{-1/2} K H K A^{-1/2} u = lambda u`` is
    solved by Lanczos (``eigsh``, matrix-free, two products with ``K`` per step) and
    ``W = A^{-1/2} U``: the same eigenvectors without forming or factorising ``A``.
    Returns ``(eigenvalues (descending), W)``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    n = K.shape[0]
    e = np.concatenate([np.full(ns, 1.0 / ns), np.full(n - ns, -1.0 / (n - ns))])
    v = K @ e
    vv = float(v @ v)
    c = (1.0 / np.sqrt(1.0 + vv / mu) - 1.0) / vv if vv > 0 else 0.0
    s = 1.0 / np.sqrt(mu)

    def a_isqrt(x: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return s * (x + c * v * (v @ x))
        return s * (x + c * np.outer(v, v @ x))

    Kc = K - K.mean(axis=0, keepdims=True)  # H K, so K H K = (HK)'(HK)

    def mv(x: np.ndarray) -> np.ndarray:
        y = a_isqrt(x)
        return a_isqrt(Kc.T @ (Kc @ y))

    if n <= dense_below or n_components >= n - 1:
        M = mv(np.eye(n))
        vals, U = np.linalg.eigh(0.5 * (M + M.T))
        vals, U = vals[::-1][:n_components], U[:, ::-1][:, :n_components]
    else:
        op = LinearOperator((n, n), matvec=mv, matmat=mv, dtype=float)
        vals, U = eigsh(op, k=n_components, which="LA", tol=1e-10)
        order = np.argsort(vals)[::-1]
        vals, U = vals[order], U[:, order]
    return vals, a_isqrt(U)


@register("feature", "tca")
class TCA(FeatureTransfer, BaseEstimator):
    """Transfer Component Analysis: a kernel embedding that shrinks the MMD between domains.

    Pan, Tsang, Kwok & Yang, "Domain Adaptation via Transfer Component Analysis", IEEE Trans.
    Neural Networks 22(2), 2011, eq. 6-7 (unsupervised TCA): ``W`` = the ``n_components``
    leading eigenvectors of ``(K L K + mu I)^{-1} K H K`` over the stacked source and target
    rows; every row ``x`` is embedded as ``k(x, X_train) W``. ``mu`` trades the MMD term
    against the complexity ``tr(W'W)``.

    Equivalent to skada's ``TransferComponentAnalysisAdapter(mu=1/mu)`` in exact arithmetic
    (skada writes ``A = I + mu' K L K``). Sparse input is densified.

    Args:
        estimator: base estimator fitted on the embedded source rows.
        n_components: embedding dimension ``m``.
        mu: trade-off ``mu`` (default 1.0, our choice; the paper tunes it).
        kernel: ``"linear"`` or ``"rbf"``.
        gamma: RBF width (``None`` = ``1/n_features``, ``"median"``).

    Attributes:
        X_fit_: the rows the kernel is evaluated against; components_: ``W``;
        eigenvalues_: the leading eigenvalues.
    """

    _name = "TCA"

    def __init__(self, estimator: Any = None, *, n_components: int = 30, mu: float = 1.0,
                 kernel: str = "linear", gamma: float | str | None = None):
        self.estimator = estimator
        self.n_components = n_components
        self.mu = mu
        self.kernel = kernel
        self.gamma = gamma

    def _check_params(self) -> None:
        check_positive("mu", self.mu)
        if self.kernel not in ("linear", "rbf"):
            raise ConfigError(f"kernel must be 'linear' or 'rbf', got {self.kernel!r}")
        if not (isinstance(self.n_components, (int, np.integer)) and self.n_components >= 1):
            raise ConfigError(f"n_components must be an int >= 1, got {self.n_components!r}")

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return A @ B.T
        from sklearn.metrics.pairwise import rbf_kernel

        return rbf_kernel(A, B, gamma=self.gamma_)

    def _fit_map(self, d: Domains) -> None:
        Xs, Xt = d.Xs, d.Xt
        n = Xs.shape[0] + Xt.shape[0]
        if self.n_components >= n:
            raise DataError(f"TCA: n_components={self.n_components} must be < n_source + n_target "
                            f"= {n}")
        self.X_fit_ = np.vstack([Xs, Xt])
        self.gamma_ = rbf_gamma(self.gamma, self.X_fit_) if self.kernel == "rbf" else None
        K = self._kernel(self.X_fit_, self.X_fit_)
        self.eigenvalues_, self.components_ = tca_components(K, Xs.shape[0], self.mu,
                                                             self.n_components)

    def _map(self, X: Any, source: bool) -> Any:
        return self._kernel(X, self.X_fit_) @ self.components_
