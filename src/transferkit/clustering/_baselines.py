"""Target-only baselines behind the same ``fit(X, aux=...)`` call: k-means and spectral
co-clustering (both scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, SpectralCoclustering
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from .._registry import register
from ._info import check_counts, check_k
from ._params import check_choice, check_int

__all__ = ["KMeansClustering", "SpectralCoclusteringClustering"]


def _prepare(M: Any, preprocess: str) -> Any:
    if preprocess == "tfidf":
        M = TfidfTransformer().fit_transform(M)
    return normalize(M, norm="l2") if preprocess != "none" else M


@register("clustering", "kmeans")
class KMeansClustering(ClusterMixin, BaseEstimator):
    """k-means on the target alone (scikit-learn ``KMeans``); ``aux`` is ignored.

    Lloyd's algorithm with k-means++ seeding on the rows after ``preprocess``: ``"l2"``
    (unit-length rows, our default: spherical-style k-means for count data), ``"tfidf"`` (TF-IDF
    then unit length) or ``"none"``.
    """

    def __init__(self, n_clusters: int = 2, *, preprocess: str = "l2", n_init: int = 10,
                 random_state: int | None = None):
        self.n_clusters = n_clusters
        self.preprocess = preprocess
        self.n_init = n_init
        self.random_state = random_state

    def _check_params(self) -> None:  # also run by the cluster command before anything fits
        check_choice(self.preprocess, "preprocess", ("l2", "tfidf", "none"))
        check_int(self.n_init, "n_init")

    def fit(self, X: Any, y: Any = None, *, aux: Any = None) -> KMeansClustering:
        self._check_params()
        M = check_counts(X, "X")
        k = check_k(self.n_clusters, "n_clusters", M.shape[0], "samples in X")
        km = KMeans(k, n_init=self.n_init, random_state=self.random_state)
        self.labels_ = km.fit(_prepare(M, self.preprocess)).labels_
        self.inertia_ = km.inertia_
        return self

    def fit_predict(self, X: Any, y: Any = None, *, aux: Any = None) -> np.ndarray:
        return self.fit(X, aux=aux).labels_


@register("clustering", "spectral_cocluster")
class SpectralCoclusteringClustering(ClusterMixin, BaseEstimator):
    """Spectral co-clustering of the target alone (Dhillon, KDD 2001; scikit-learn
    ``SpectralCoclustering``); ``aux`` is ignored. Rows and columns share the same ``n_clusters``
    bicluster labels; ``labels_`` are the row labels."""

    def __init__(self, n_clusters: int = 2, *, n_init: int = 10,
                 random_state: int | None = None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.random_state = random_state

    def _check_params(self) -> None:  # also run by the cluster command before anything fits
        check_int(self.n_init, "n_init")

    def fit(self, X: Any, y: Any = None, *, aux: Any = None) -> SpectralCoclusteringClustering:
        self._check_params()
        M = check_counts(X, "X")
        k = check_k(self.n_clusters, "n_clusters", M.shape[0], "samples in X")
        # empty columns break the bistochastic scaling (1/sqrt(0)): drop them; an empty row
        # gets a tiny uniform mass so it is still assigned
        M = M[:, np.asarray(M.sum(axis=0)).ravel() > 0]
        empty = np.asarray(M.sum(axis=1)).ravel() == 0
        if empty.any():
            fill = np.outer(empty, np.ones(M.shape[1])) * 1e-9
            M = (sp.csr_matrix(M) + sp.csr_matrix(fill)) if sp.issparse(M) else M + fill
        sc = SpectralCoclustering(k, n_init=self.n_init, random_state=self.random_state)
        sc.fit(M)
        self.labels_ = sc.row_labels_
        return self

    def fit_predict(self, X: Any, y: Any = None, *, aux: Any = None) -> np.ndarray:
        return self.fit(X, aux=aux).labels_
