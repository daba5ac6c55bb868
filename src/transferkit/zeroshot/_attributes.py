"""Attribute-based classification: DAP, IAP (Lampert et al.) and the attribute-prior baseline.

C. H. Lampert, H. Nickisch, S. Harmeling, "Learning to Detect Unseen Object Classes by
Between-Class Attribute Transfer", CVPR 2009; "Attribute-Based Classification for Zero-Shot
Visual Object Categorization", TPAMI 36(3), 2014.

Both models take binary class-attribute signatures ``a^z in {0, 1}^M``; continuous
attribute matrices are thresholded by :func:`binarize_attributes`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import ZeroShotClassifier, as_numpy, like_input

__all__ = [
    "DAP",
    "IAP",
    "AttributePrior",
    "attribute_priors",
    "binarize_attributes",
    "dap_log_scores",
]


def _threshold_value(A: np.ndarray, threshold: str | float) -> np.ndarray | float:
    if isinstance(threshold, str):
        if threshold == "mean":
            return float(A.mean())
        if threshold == "column_mean":
            return A.mean(axis=0, keepdims=True)
        raise ConfigError(f"threshold must be 'mean', 'column_mean' or a number, got {threshold!r}")
    return float(threshold)


def binarize_attributes(A: Any, threshold: str | float = "mean") -> np.ndarray:
    """Binary class-attribute matrix ``[n_classes, M]`` (0./1.) from a continuous one.

    The rule: ``a = 1`` where the value is strictly above the threshold. ``threshold="mean"``
    is the mean of the whole matrix, the rule that turns the Osherson/Kemp continuous AwA
    predicate matrix into the binary one Lampert et al. distribute (it reproduces AwA2's
    ``predicate-matrix-binary.txt`` from ``predicate-matrix-continuous.txt`` exactly);
    ``"column_mean"`` thresholds each attribute at its own mean over the classes; a number is
    a fixed threshold. A matrix that is already 0/1 is returned unchanged.
    """
    A = as_numpy(A, np.float64)
    if A.ndim != 2:
        raise DataError(f"attribute matrix must be [n_classes, M], got shape {A.shape}")
    if np.isin(A, (0.0, 1.0)).all():
        return A.copy()
    return (A > _threshold_value(A, threshold)).astype(np.float64)


def attribute_priors(A_seen: Any) -> np.ndarray:
    """``p(a_m = 1)``: the empirical mean of each binary attribute over the training (seen)
    classes (Lampert et al., TPAMI 2014, where DAP is defined).

    A prior of exactly 0 or 1 (an attribute constant over the seen classes) is set to 0.5:
    every class's score is then divided by the same 0.5, so that attribute's prior drops out
    instead of dividing by zero.
    """
    A = as_numpy(A_seen, np.float64)
    p = A.mean(axis=0)
    p[(p <= 0.0) | (p >= 1.0)] = 0.5
    return p


def dap_log_scores(attribute_proba: Any, signatures: Any, priors: Any, eps: float = 1e-6) -> np.ndarray:
    """DAP's class scores in log space, ``[N, Z]``: ``sum_m log p(a_m^z | x) - log p(a_m^z)``.

    Lampert et al., TPAMI 2014: with ``p(z | a) = p(a | z) p(z) / p(a^z)``, a
    uniform class prior and factorised ``p(a | x) = prod_m p(a_m | x)``,
    ``p(z | x) ∝ prod_m p(a_m^z | x) / p(a_m^z)``. Here ``p(a_m^z | x)`` is
    ``attribute_proba[:, m]`` where ``a_m^z = 1`` and one minus it where ``a_m^z = 0``, and
    ``p(a_m^z)`` likewise from ``priors``. Probabilities are clipped to ``[eps, 1 - eps]``.
    """
    P = np.clip(as_numpy(attribute_proba, np.float64), eps, 1.0 - eps)
    B = as_numpy(signatures, np.float64)
    pri = np.clip(as_numpy(priors, np.float64), eps, 1.0 - eps)
    if P.ndim != 2 or B.ndim != 2 or P.shape[1] != B.shape[1] or pri.shape != (B.shape[1],):
        raise DataError(
            f"DAP needs attribute probabilities [N, M], signatures [Z, M] and priors [M]; got "
            f"{P.shape}, {B.shape} and {pri.shape}"
        )
    log_p1, log_p0 = np.log(P), np.log1p(-P)
    evidence = log_p1 @ B.T + log_p0 @ (1.0 - B).T
    prior = B @ np.log(pri) + (1.0 - B) @ np.log1p(-pri)
    return evidence - prior[None, :]


class _AttributeModel(ZeroShotClassifier):
    """Shared parts of DAP/IAP: binarised signatures and attribute priors."""

    def __init__(self, threshold: str | float = "mean", C: float = 1.0, max_iter: int = 1000, eps: float = 1e-6):
        if not float(C) > 0:
            raise ConfigError(f"C must be > 0, got {C}")
        if int(max_iter) <= 0:
            raise ConfigError(f"max_iter must be > 0, got {max_iter}")
        if not 0.0 < float(eps) < 0.5:
            raise ConfigError(f"eps must be in (0, 0.5), got {eps}")
        _threshold_value(np.zeros((1, 1)), threshold)  # validates the name
        self.threshold = threshold
        self.C = float(C)
        self.max_iter = int(max_iter)
        self.eps = float(eps)

    def _binarize(self, S: np.ndarray) -> np.ndarray:
        if np.isin(S, (0.0, 1.0)).all():
            return S.copy()
        return (S > self.threshold_value_).astype(np.float64)

    def _fit_signatures(self, S: np.ndarray) -> np.ndarray:
        self.threshold_value_ = (
            0.5 if np.isin(S, (0.0, 1.0)).all() else _threshold_value(S, self.threshold)
        )
        B = self._binarize(S)
        self.signatures_ = B
        self.priors_ = attribute_priors(B[self.seen_classes_])
        return B

    def attribute_proba(self, X: Any) -> np.ndarray:
        """``p(a_m = 1 | x)`` for every attribute, ``[N, M]``."""
        raise NotImplementedError

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        """Log posterior scores (DAP's rule, :func:`dap_log_scores`) of the candidate classes."""
        S, cand = self._candidates(class_embeddings, candidate_classes)
        B = self.signatures_ if class_embeddings is None else self._binarize(S)
        return like_input(X, dap_log_scores(self.attribute_proba(X), B[cand], self.priors_, self.eps))


def _logistic(C: float, max_iter: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter)


@register("zeroshot", "dap")
class DAP(_AttributeModel):
    """Direct Attribute Prediction: one probabilistic classifier per attribute, combined by
    ``p(z | x) ∝ prod_m p(a_m^z | x) / p(a_m^z)`` (Lampert et al., TPAMI 2014).

    Each attribute classifier is an L2-regularised logistic regression on the features,
    trained on every seen-class sample with the label ``a_m^{y}`` (the paper uses SVMs with
    Platt-scaled outputs; logistic regression gives the probabilities directly). An attribute
    that is constant over the seen classes gets that constant (clipped) as its probability.

    Args:
        threshold: binarisation rule for continuous attributes (:func:`binarize_attributes`).
        C: inverse L2 strength of each attribute's logistic regression (scikit-learn's ``C``).
        max_iter: L-BFGS iterations per attribute classifier.
        eps: probabilities are clipped to ``[eps, 1 - eps]`` before the logarithm.
    """

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> DAP:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        B = self._fit_signatures(S)
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        targets = B[as_numpy(y).reshape(-1).astype(np.int64)]
        self.attribute_models_: list[Any] = []
        for m in range(B.shape[1]):
            t = targets[:, m]
            if t.min() == t.max():
                self.attribute_models_.append(float(t[0]))
            else:
                self.attribute_models_.append(_logistic(self.C, self.max_iter).fit(Xn, t.astype(np.int64)))
        return self

    def attribute_proba(self, X: Any) -> np.ndarray:
        if not hasattr(self, "attribute_models_"):
            raise ConfigError("DAP is not fitted: call fit(X, y, class_embeddings) first")
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        cols = [
            np.full(len(Xn), m) if isinstance(m, float) else m.predict_proba(Xn)[:, 1]
            for m in self.attribute_models_
        ]
        return np.stack(cols, axis=1)


@register("zeroshot", "iap")
class IAP(_AttributeModel):
    """Indirect Attribute Prediction: a multi-class classifier over the seen classes, its
    posteriors turned into attribute posteriors ``p(a_m | x) = sum_k p(a_m | y_k) p(y_k | x)``
    with ``p(a_m | y_k) = [a_m^{y_k} = 1]``, then DAP's rule for the candidate classes
    (Lampert et al., TPAMI 2014).

    The seen-class classifier is a multinomial L2-regularised logistic regression.

    Args:
        threshold, C, max_iter, eps: as for :class:`DAP`.
    """

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> IAP:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        self._fit_signatures(S)
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        t = self._seen_targets(y)
        if len(np.unique(t)) < 2:
            raise DataError("IAP needs samples of at least 2 seen classes to train its classifier")
        self.classifier_ = _logistic(self.C, self.max_iter).fit(Xn, t)
        return self

    def seen_class_proba(self, X: Any) -> np.ndarray:
        """``p(y_k | x)`` over ``seen_classes_``, ``[N, K]`` (a seen class without training
        samples gets probability 0)."""
        if not hasattr(self, "classifier_"):
            raise ConfigError("IAP is not fitted: call fit(X, y, class_embeddings) first")
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        proba = np.zeros((len(Xn), len(self.seen_classes_)))
        proba[:, self.classifier_.classes_] = self.classifier_.predict_proba(Xn)
        return proba

    def attribute_proba(self, X: Any) -> np.ndarray:
        return self.seen_class_proba(X) @ self.signatures_[self.seen_classes_]


@register("zeroshot", "attribute_prior")
class AttributePrior(_AttributeModel):
    """Input-blind baseline: every sample gets the class whose binary signature is most
    probable under the seen classes' factorised attribute prior, ``prod_m p(a_m = a_m^z)``.

    This is what attribute knowledge alone predicts without looking at ``x`` (DAP with the
    attribute classifiers replaced by their priors would score every class equally). Its
    class-averaged accuracy over ``K`` candidate classes is ``1 / K``: the chance level that
    the zero-shot verdicts compare with.

    Args:
        threshold: binarisation rule for continuous attributes (:func:`binarize_attributes`).
        eps: priors are clipped to ``[eps, 1 - eps]`` before the logarithm.
    """

    def __init__(self, threshold: str | float = "mean", eps: float = 1e-6):
        super().__init__(threshold=threshold, eps=eps)

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> AttributePrior:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        self._fit_signatures(S)
        return self

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        S, cand = self._candidates(class_embeddings, candidate_classes)
        B = (self.signatures_ if class_embeddings is None else self._binarize(S))[cand]
        pri = np.clip(self.priors_, self.eps, 1.0 - self.eps)
        row = B @ np.log(pri) + (1.0 - B) @ np.log1p(-pri)
        return like_input(X, np.tile(row, (len(X), 1)))
