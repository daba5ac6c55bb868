"""Self-taught clustering (Dai, Yang, Xue & Yu, ICML 2008)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize

from .._registry import register
from ..exceptions import DataError
from ._core import CoClusterer, co_cluster
from ._info import check_counts, check_k, indicator, joint
from ._params import check_nonneg

__all__ = ["SelfTaughtClustering"]


@register("clustering", "stc")
class SelfTaughtClustering(CoClusterer):
    """Self-taught clustering: co-cluster the target and unlabelled auxiliary data with shared
    feature clusters.

    Dai, Yang, Xue & Yu, "Self-taught Clustering", ICML 2008: the target ``X`` and auxiliary
    data ``Y`` (same features ``Z``) are clustered into ``X~``, ``Y~`` and one feature
    partition ``Z~`` minimising (their Eq. 3)

        ``J = I(X;Z) - I(X~;Z~) + lambda [I(Y;Z) - I(Y~;Z~)]``

    with ``p(x, z)`` and ``p(y, z)`` each a count matrix over its total. Each round updates
    ``C_X`` (``argmin KL(p(Z|x) || q(Z|x~))``), then ``C_Y``, then the shared ``C_Z``
    (``argmin p(z) KL(p(X|z) || q(X|z~)) + lambda p(z) KL(p(Y|z) || q(Y|z~))``, each ``p(z)``
    the marginal of its own joint), the alternating updates of their Algorithm 1; ``J`` never
    increases. ``lam = 0`` is co-clustering of the target alone
    (:class:`InformationTheoreticCoClustering`).

    Args:
        n_clusters: target clusters ``|X~|``.
        n_feature_clusters: shared feature clusters ``|Z~|`` (our default 32).
        n_aux_clusters: auxiliary clusters ``|Y~|`` (default: ``n_clusters``).
        lam: the trade-off ``lambda >= 0`` (default 1, our choice; see
            :func:`select_lambda` for a label-free choice).
        init: ``"both"`` (our default): each restart runs the ``"aux"`` start and the
            ``"kmeans"`` start and keeps the one of lower ``J`` (twice the cost of one start; the
            choice reads the objective only, never a label; with the same seed its ``J`` is never
            above ``"aux"``'s). ``"aux"``: co-cluster the auxiliary data alone first
            (information-theoretic co-clustering from k-means starts), keep its feature and
            auxiliary clusters, and start the target clusters with k-means on the target rows'
            square-rooted feature-cluster profiles ``sqrt(p(Z~|x))``, so the small target starts
            from the auxiliary data's feature clusters. ``"kmeans"`` or ``"random"``: as in
            :class:`InformationTheoreticCoClustering`, for every partition at once (``"kmeans"``
            starts the target exactly as the target-only baseline does). Which single start is
            better depends on the data (``"aux"`` on 100-document 20 Newsgroups targets,
            ``"kmeans"`` on Office-Caltech10 SURF pairs); ``"both"`` was at least as good as
            either on both (``docs/benchmarks.md``, "Self-taught clustering").
        n_init, max_iter, tol, random_state: as in
            :class:`InformationTheoreticCoClustering`; with ``n_init > 1`` the run with the
            lowest ``J`` is kept.

    ``fit(X, y=None, *, aux)``: ``X`` and ``aux`` are dense or scipy sparse non-negative count
    matrices with the same number of features (columns in the same order).

    Attributes:
        labels_: target cluster of each sample. aux_labels_, feature_labels_: the auxiliary
        and feature partitions. objective_history_: ``J`` after initialisation and each step.
        loss_, n_iter_.
    """

    def __init__(self, n_clusters: int = 2, *, n_feature_clusters: int = 32,
                 n_aux_clusters: int | None = None, lam: float = 1.0, init: str = "both",
                 n_init: int = 1, max_iter: int = 50, tol: float = 1e-6,
                 random_state: int | None = None):
        self.n_clusters = n_clusters
        self.n_feature_clusters = n_feature_clusters
        self.n_aux_clusters = n_aux_clusters
        self.lam = lam
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    _inits = ("aux", "kmeans", "random", "both")

    def _check_params(self) -> None:
        super()._check_params()
        check_nonneg(self.lam, "lam")

    def fit(self, X: Any, y: Any = None, *, aux: Any = None) -> SelfTaughtClustering:
        self._check_params()
        lam = check_nonneg(self.lam, "lam")
        if aux is None:
            raise DataError("SelfTaughtClustering.fit needs the auxiliary data: fit(X, aux=Y)")
        M = check_counts(X, "X")
        A = check_counts(aux, "aux")
        if A.shape[1] != M.shape[1]:
            raise DataError(
                f"aux must have the target's features: X has {M.shape[1]} columns, aux has "
                f"{A.shape[1]} (shapes {M.shape} and {A.shape})"
            )
        if sp.issparse(M) != sp.issparse(A):  # a mix of sparse and dense: go sparse
            M, A = sp.csr_matrix(M), sp.csr_matrix(A)
        k = check_k(self.n_clusters, "n_clusters", M.shape[0], "samples in X")
        ka = self.n_clusters if self.n_aux_clusters is None else self.n_aux_clusters
        ka = check_k(ka, "n_aux_clusters", A.shape[0], "samples in aux")
        kf = check_k(self.n_feature_clusters, "n_feature_clusters", M.shape[1], "features")
        mats = [joint(M), joint(A)]

        def run(rng: np.random.Generator):
            loop = dict(max_iter=self.max_iter, tol=self.tol, rng=rng)
            runs = []
            if self.init in ("aux", "both"):
                rows, cols = _aux_start(mats, k, ka, kf, self.max_iter, self.tol, rng)
                runs.append(co_cluster(mats, [1.0, lam], [k, ka], kf, init="kmeans", start_rows=rows,
                                       start_cols=cols, **loop))
            if self.init != "aux":
                init = "kmeans" if self.init == "both" else self.init
                runs.append(co_cluster(mats, [1.0, lam], [k, ka], kf, init=init, **loop))
            return min(runs, key=lambda r: r.loss)  # "both": the lower J, the aux start on a tie

        self.aux_labels_ = self._fit_best(run).rows[1]
        return self


def _aux_start(mats: list[Any], k: int, ka: int, kf: int, max_iter: int, tol: float,
               rng: np.random.Generator) -> tuple[list[np.ndarray | None], np.ndarray]:
    """The ``"aux"`` start: the auxiliary data's own co-clustering, then k-means on the target
    rows' square-rooted feature-cluster profiles."""
    aux = co_cluster([mats[1]], [1.0], [ka], kf, init="kmeans", max_iter=max_iter, tol=tol,
                     rng=rng)
    prof = mats[0] @ indicator(aux.cols, kf)
    prof = np.asarray(prof.todense()) if sp.issparse(prof) else np.asarray(prof)
    prof = np.sqrt(normalize(prof, norm="l1"))
    seed = int(rng.integers(0, 2**31 - 1))
    rows = KMeans(k, n_init=10, random_state=seed).fit(prof).labels_.astype(np.int64)
    return [rows, aux.rows[0]], aux.cols
