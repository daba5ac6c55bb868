"""ConSE: convex combination of semantic embeddings (Norouzi et al., ICLR 2014)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import ZeroShotClassifier, as_numpy, like_input

__all__ = ["ConSE", "conse_embedding"]


def conse_embedding(seen_proba: Any, seen_embeddings: Any, top_t: int = 10) -> np.ndarray:
    """``f(x) = (1/Z) Σ_{t=1}^{T} p(ŷ(x, t) | x) s(ŷ(x, t))``, ``[N, a]`` (Norouzi et al.).

    ``ŷ(x, t)`` is the ``t``-th most likely seen class under the classifier's probabilities
    ``seen_proba`` (``[N, K]``), ``s`` its embedding (row of ``seen_embeddings``, ``[K, a]``),
    and ``Z`` the sum of the ``T`` probabilities. ``T`` is capped at ``K``.
    """
    P = as_numpy(seen_proba, np.float64)
    E = as_numpy(seen_embeddings, np.float64)
    if P.ndim != 2 or E.ndim != 2 or P.shape[1] != E.shape[0]:
        raise DataError(
            f"ConSE needs probabilities [N, K] and K seen-class embeddings [K, a]; got {P.shape} and {E.shape}"
        )
    if int(top_t) <= 0:
        raise ConfigError(f"top_t must be > 0, got {top_t}")
    T = min(int(top_t), P.shape[1])
    top = np.argsort(-P, axis=1, kind="stable")[:, :T]
    w = np.take_along_axis(P, top, axis=1)
    Z = np.maximum(w.sum(1, keepdims=True), 1e-12)
    return np.einsum("nt,nta->na", w / Z, E[top])


def _cosine(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    An = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    Bn = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    return An @ Bn.T


@register("zeroshot", "conse")
class ConSE(ZeroShotClassifier):
    """ConSE: a seen-class classifier's top-``T`` probabilities mix the seen classes'
    embeddings; a class's score is the cosine between that mixture and its embedding.

    M. Norouzi, T. Mikolov, S. Bengio, Y. Singer, J. Shlens, A. Frome, G. S. Corrado, J. Dean,
    "Zero-Shot Learning by Convex Combination of Semantic Embeddings", ICLR 2014.
    ``fit`` trains a multinomial logistic regression on the seen classes; a runner that has
    its own classifier passes its probabilities as ``seen_proba`` to :meth:`decision_function`
    (or calls :func:`conse_embedding` directly).

    Args:
        top_t: ``T``, the number of most likely seen classes combined (paper: 10).
        C: inverse L2 strength of the seen-class logistic regression.
        max_iter: its L-BFGS iterations.
    """

    def __init__(self, top_t: int = 10, C: float = 1.0, max_iter: int = 1000):
        if int(top_t) <= 0:
            raise ConfigError(f"top_t must be > 0, got {top_t}")
        if not float(C) > 0:
            raise ConfigError(f"C must be > 0, got {C}")
        if int(max_iter) <= 0:
            raise ConfigError(f"max_iter must be > 0, got {max_iter}")
        self.top_t = int(top_t)
        self.C = float(C)
        self.max_iter = int(max_iter)

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> ConSE:
        from sklearn.linear_model import LogisticRegression

        self._check_fit(X, y, class_embeddings, seen_classes)
        t = self._seen_targets(y)
        if len(np.unique(t)) < 2:
            raise DataError("ConSE needs samples of at least 2 seen classes to train its classifier")
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        self.classifier_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(Xn, t)
        return self

    def seen_class_proba(self, X: Any) -> np.ndarray:
        """``p(y_k | x)`` over ``seen_classes_``, ``[N, K]``."""
        if not hasattr(self, "classifier_"):
            raise ConfigError("ConSE is not fitted: call fit(X, y, class_embeddings) first")
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        proba = np.zeros((len(Xn), len(self.seen_classes_)))
        proba[:, self.classifier_.classes_] = self.classifier_.predict_proba(Xn)
        return proba

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None,
                          seen_proba: Any = None) -> Any:
        S, cand = self._candidates(class_embeddings, candidate_classes)
        P = self.seen_class_proba(X) if seen_proba is None else as_numpy(seen_proba, np.float64)
        f = conse_embedding(P, S[self.seen_classes_], self.top_t)
        return like_input(X, _cosine(f, S[cand]))
