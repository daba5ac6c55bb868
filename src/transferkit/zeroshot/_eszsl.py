"""ESZSL: embarrassingly simple zero-shot learning (Romera-Paredes & Torr, ICML 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ..exceptions import ConfigError
from ._base import ZeroShotClassifier, as_numpy, like_input

__all__ = ["ESZSL", "eszsl_weights"]


def eszsl_weights(X: Any, Y: Any, S: Any, gamma: float, lambda_: float) -> np.ndarray:
    """The closed form ``V = (X Xᵀ + γ I)⁻¹ X Y Sᵀ (S Sᵀ + λ I)⁻¹`` (the paper's closed-form solution).

    Shapes here are the *row* layout (one sample or class per row), so the paper's
    ``X`` (``d x m``), ``Y`` (``m x z``) and ``S`` (``a x z``) are this function's ``X.T``,
    ``Y`` and ``S.T``: ``X`` is ``[m, d]``, ``Y`` is ``[m, z]`` in {-1, 1}, ``S`` is
    ``[z, a]``; the result ``V`` is ``[d, a]`` and a sample's class scores are ``x V Sᵀ``.
    """
    X = as_numpy(X, np.float64)
    Y = as_numpy(Y, np.float64)
    S = as_numpy(S, np.float64)
    d, a = X.shape[1], S.shape[1]
    left = X.T @ X + gamma * np.eye(d)  # paper: X Xᵀ + γI      (d x d)
    right = S.T @ S + lambda_ * np.eye(a)  # paper: S Sᵀ + λI      (a x a)
    middle = X.T @ Y @ S  # paper: X Y Sᵀ          (d x a)
    V = np.linalg.solve(left, middle)
    return np.linalg.solve(right.T, V.T).T


@register("zeroshot", "eszsl")
class ESZSL(ZeroShotClassifier):
    """Embarrassingly simple zero-shot learning: a bilinear map ``V`` fitted in closed form.

    B. Romera-Paredes and P. H. S. Torr, "An embarrassingly simple approach to zero-shot
    learning", ICML 2015: the closed-form minimiser of the squared loss with the regulariser
    Ω(V) = γ‖VS‖² + λ‖XᵀV‖² + β‖V‖² in the paper's special case β = γλ::

        V = (X Xᵀ + γ I)⁻¹ X Y Sᵀ (S Sᵀ + λ I)⁻¹

    with ``Y`` the seen-class label matrix in {-1, 1} and ``S`` the seen classes' embeddings;
    a sample's score for class ``c`` is ``xᵀ V s_c``. The paper selects γ and λ from
    ``{10⁻³, ..., 10³}`` on validation classes; Xian et al. (TPAMI 2018) report the selected
    values per data set.

    Args:
        gamma: γ, the regulariser of the feature space (added to ``X Xᵀ``).
        lambda_: λ, the regulariser of the embedding space (added to ``S Sᵀ``).
    """

    def __init__(self, gamma: float = 1.0, lambda_: float = 1.0):
        for name, v in (("gamma", gamma), ("lambda_", lambda_)):
            if not float(v) >= 0:
                raise ConfigError(f"{name} must be >= 0, got {v}")
        self.gamma = float(gamma)
        self.lambda_ = float(lambda_)

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> ESZSL:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        t = self._seen_targets(y)
        Y = -np.ones((len(t), len(self.seen_classes_)))
        Y[np.arange(len(t)), t] = 1.0
        self.V_ = eszsl_weights(Xn, Y, S[self.seen_classes_], self.gamma, self.lambda_)
        return self

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        S, cand = self._candidates(class_embeddings, candidate_classes)
        Xn = as_numpy(X, np.float64).reshape(len(X), -1)
        return like_input(X, Xn @ self.V_ @ S[cand].T)
