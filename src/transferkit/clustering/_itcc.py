"""Information-theoretic co-clustering (Dhillon, Mallela & Modha, KDD 2003)."""

from __future__ import annotations

from typing import Any

from .._registry import register
from ._core import CoClusterer, co_cluster
from ._info import check_counts, check_k, joint

__all__ = ["InformationTheoreticCoClustering"]


@register("clustering", "itcc")
class InformationTheoreticCoClustering(CoClusterer):
    """Information-theoretic co-clustering of a count matrix: the no-transfer baseline.

    Dhillon, Mallela & Modha, "Information-Theoretic Co-clustering", KDD 2003: rows ``X`` and
    columns ``Y`` of the joint ``p(x, y)`` (counts over their total) are clustered into
    ``X^`` and ``Y^`` so as to minimise the loss in mutual information ``I(X;Y) - I(X^;Y^)``
    (Eq. 1, equal to ``KL(p || q)`` of Lemma 2.1), alternating the row step
    ``argmin KL(p(Y|x) || q(Y|x^))`` and the column step (Algorithm 1, steps 2-3); the loss
    never increases (Theorem 4.1).

    Args:
        n_clusters: row (sample) clusters ``k``.
        n_feature_clusters: column (feature) clusters ``kf`` (the paper varies it; 32 is our
            default, as in our self-taught clustering runs).
        init: ``"kmeans"`` (k-means on the L2-normalised row and column profiles; our
            default: on 100-document 20 Newsgroups targets it reached a lower loss than random
            starts, and far better clusters) or ``"random"`` (uniform random labels, every
            cluster non-empty).
        n_init: restarts; the run with the lowest final loss is kept (unsupervised).
        max_iter, tol: stop after ``max_iter`` rounds or when a round lowers the loss by less
            than ``tol`` times its value.
        random_state: seed of the initialisation.

    ``fit(X, y=None, *, aux=None)``: ``X`` is a dense or scipy sparse non-negative count matrix
    (samples x features); sparse input stays sparse. ``aux`` is accepted and ignored, so every
    registered clusterer takes the same call.

    Attributes:
        labels_: row cluster of each sample. feature_labels_: column cluster of each feature.
        objective_history_: the loss after initialisation and after each step (non-increasing).
        loss_: the final loss (nats). n_iter_: rounds of the kept run.
    """

    def __init__(self, n_clusters: int = 2, *, n_feature_clusters: int = 32,
                 init: str = "kmeans", n_init: int = 1, max_iter: int = 50, tol: float = 1e-6,
                 random_state: int | None = None):
        self.n_clusters = n_clusters
        self.n_feature_clusters = n_feature_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, *, aux: Any = None) -> InformationTheoreticCoClustering:
        self._check_params()
        M = check_counts(X, "X")
        k = check_k(self.n_clusters, "n_clusters", M.shape[0], "samples in X")
        kf = check_k(self.n_feature_clusters, "n_feature_clusters", M.shape[1], "features in X")
        P = joint(M)
        self._fit_best(lambda rng: co_cluster([P], [1.0], [k], kf, init=self.init,
                                              max_iter=self.max_iter, tol=self.tol, rng=rng))
        return self
