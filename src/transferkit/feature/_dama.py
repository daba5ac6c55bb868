"""Heterogeneous domain adaptation by manifold alignment (Wang & Mahadevan, IJCAI 2011)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .._domains import Domains, check_positive, check_X
from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import FeatureTransfer

__all__ = ["ManifoldAlignment"]

log = logging.getLogger(__name__)


def _quad(X: Any, a: np.ndarray) -> np.ndarray:
    """``X' diag(a) X`` for dense or sparse ``X``."""
    if sp.issparse(X):
        return np.asarray((X.T @ sp.diags(a) @ X).todense())
    return (X * a[:, None]).T @ X


def _row_space(X: Any, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (columns) of the span of the rows of ``X``."""
    A = X.toarray() if sp.issparse(X) else np.asarray(X)
    _, svals, Vt = np.linalg.svd(A, full_matrices=False)
    keep = svals > rtol * (svals[0] if svals.size else 0.0)
    return Vt[keep].T


def _dense(M: Any) -> np.ndarray:
    return np.asarray(M.todense()) if sp.issparse(M) else np.asarray(M)


@register("feature", "dama")
class ManifoldAlignment(FeatureTransfer, BaseEstimator):
    """DAMA: project source and target features (of different dimensions) into one space.

    Wang & Mahadevan, "Heterogeneous Domain Adaptation Using Manifold Alignment", IJCAI 2011,
    Sec. 3: with ``Z = blockdiag(X_s', X_t')`` and Laplacians of three graphs on all rows --
    ``W`` (k-nearest neighbours inside each domain: topology), ``W_s`` (labelled rows of the
    same class, across and within domains) and ``W_d`` (labelled rows of different classes) --
    the mapping ``F = [F_s; F_t]`` minimises ``(mu A + C) / B`` (topology + same-class
    distances over different-class distances): the ``n_components`` smallest generalised
    eigenvectors of ``Z (mu L + L_s) Z' f = lambda Z L_d Z' f``. Source rows map to
    ``X_s F_s``, target rows to ``X_t F_t``; the base estimator is fitted on the mapped
    labelled rows of both domains.

    Input: the block layout of :func:`transferkit.pack_heterogeneous` (source features in
    columns ``0..n_source_features-1``, target features after them) with ``sample_domain``,
    and a few labelled target rows. ``predict`` takes target rows either in that layout or
    with only the ``n_target`` target columns.

    Args:
        estimator: base estimator on the common space.
        n_source_features: number of source columns ``d_s`` in the block layout.
        n_components: dimension of the common space.
        mu: weight of the topology term (the paper's ``mu``; default 1.0, our choice).
        n_neighbors: k of the within-domain neighbour graphs.
        ridge: relative ridge added to ``Z L_d Z'`` so the right-hand matrix is definite.

    Attributes:
        projection_: ``F`` (``(d_s + d_t) x n_components``); eigenvalues_: the ``lambda``s;
        n_trivial_: trivial directions skipped below them (cost 0/0: every row mapped to one
        value; the paper's eigenvectors are those of the smallest *non-trivial* eigenvalues).
    """

    _name = "ManifoldAlignment"
    #: source and target may have different features (read by the runners)
    _heterogeneous = True
    _sparse_ok = True
    _need_target_labels = True

    def __init__(self, estimator: Any = None, *, n_source_features: int = 1,
                 n_components: int = 10, mu: float = 1.0, n_neighbors: int = 10,
                 ridge: float = 1e-6):
        self.estimator = estimator
        self.n_source_features = n_source_features
        self.n_components = n_components
        self.mu = mu
        self.n_neighbors = n_neighbors
        self.ridge = ridge

    def _check_params(self) -> None:
        check_positive("mu", self.mu, strict=False)
        check_positive("ridge", self.ridge)
        for k in ("n_source_features", "n_components", "n_neighbors"):
            v = getattr(self, k)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise ConfigError(f"{k} must be an int >= 1, got {v!r}")

    def _knn_laplacian(self, X: Any) -> sp.csr_matrix:
        from sklearn.neighbors import kneighbors_graph

        k = min(self.n_neighbors, X.shape[0] - 1)
        if k < 1:
            return sp.csr_matrix((X.shape[0], X.shape[0]))
        W = kneighbors_graph(X, k, mode="connectivity", include_self=False)
        W = ((W + W.T) > 0).astype(float)
        return sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W

    def _fit_map(self, d: Domains) -> None:
        from scipy.linalg import eigh

        X = d.X
        ds = self.n_source_features
        if not 0 < ds < X.shape[1]:
            raise DataError(f"ManifoldAlignment: n_source_features={ds} must be in (0, "
                            f"{X.shape[1]}) for X of shape {X.shape} (block layout "
                            "[[Xs, 0], [0, Xt]] from pack_heterogeneous)")
        Xc = X.tocsc() if sp.issparse(X) else X
        Xs_own, Xt_own = Xc[d.source][:, :ds], Xc[d.target][:, ds:]
        # work in the span of each domain's rows: directions no row reaches would give the
        # trivial eigenvalue 0 (they map every row to 0)
        Q = sp.block_diag([_row_space(Xs_own), _row_space(Xt_own)]).toarray()
        X = X @ Q
        # topology term: block-diagonal Laplacian of within-domain kNN graphs
        L = sp.block_diag([self._knn_laplacian(Xs_own), self._knn_laplacian(Xt_own)])
        order = np.concatenate([np.flatnonzero(d.source), np.flatnonzero(d.target)])
        Xo = X[order]
        topo = _dense(Xo.T @ (L @ Xo))
        # label terms: W_s = sum_c y_c y_c', W_d = l l' - W_s (l = labelled indicator)
        lab = np.flatnonzero(d.source | d.target_labelled)
        Xl, yl = X[lab], d.y[lab]
        classes = np.unique(yl)
        Y = (yl[:, None] == classes[None, :]).astype(float)
        XY = _dense(Xl.T @ Y)  # (features x classes)
        deg_s = Y @ Y.sum(axis=0)
        sim = _quad(Xl, deg_s) - XY @ XY.T
        xl_sum = _dense(Xl.T @ np.ones(len(lab))).ravel()
        deg_d = len(lab) - deg_s
        dis = _quad(Xl, deg_d) - (np.outer(xl_sum, xl_sum) - XY @ XY.T)
        left = self.mu * topo + sim
        eps = self.ridge * (np.trace(dis) / dis.shape[0] + 1e-12)
        right = dis + eps * np.eye(dis.shape[0])
        k = self.n_components
        if k > X.shape[1]:
            raise DataError(f"ManifoldAlignment: n_components={k} exceeds d_s + d_t = {X.shape[1]}")
        k = min(k, left.shape[0])
        # the smallest *non-trivial* eigenvectors: a direction on which both sides vanish (it
        # maps every row to one value, e.g. a constant map when the rows span the constant) has
        # cost 0/0, which the ridge turns into eigenvalue 0; drop those whose denominator is
        # mostly ridge (f' Z L_d Z' f < eps |f|^2)
        left, right = 0.5 * (left + left.T), 0.5 * (right + right.T)
        n = left.shape[0]
        m = min(n, k + 20)
        while True:
            vals, vecs = eigh(left, right, subset_by_index=[0, m - 1])
            keep = np.einsum("ij,ij->j", vecs, dis @ vecs) >= eps * np.einsum("ij,ij->j", vecs, vecs)
            if keep.sum() >= k or m == n:
                break
            m = min(n, 2 * m)
        chosen = np.flatnonzero(keep)[:k]
        if chosen.size < k:
            log.warning("ManifoldAlignment: only %d non-trivial directions, n_components=%d", chosen.size, k)
        self.n_trivial_ = int(chosen[-1] + 1 - chosen.size) if chosen.size else m
        vals, vecs = vals[chosen], vecs[:, chosen]
        # generalised eigenvectors are scaled by f'(Z L_d Z')f = 1, which makes the mapped rows
        # tiny; rescale each direction to unit variance over the rows (eigenvectors unchanged)
        F = Q @ vecs
        scale = (Xc @ F).std(axis=0) if not sp.issparse(Xc) else np.asarray((Xc @ F)).std(axis=0)
        self.eigenvalues_, self.projection_ = vals, F / np.where(scale > 0, scale, 1.0)
        self.n_source_features_ = ds

    def _map(self, X: Any, source: bool) -> Any:
        F = self.projection_
        if X.shape[1] == F.shape[0]:
            return X @ F
        return X @ (F[: self.n_source_features_] if source else F[self.n_source_features_ :])

    def _check_predict_X(self, X: Any) -> Any:
        X = check_X(X, self._name, allow_sparse=True)
        dt = self.n_features_in_ - self.n_source_features_
        if X.shape[1] not in (self.n_features_in_, dt):
            raise DataError(f"ManifoldAlignment: target rows need {dt} target columns or the full "
                            f"block layout of {self.n_features_in_}, got shape {X.shape}")
        return X
