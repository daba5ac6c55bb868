"""TransRate: the coding-rate gain of the features from knowing the target labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ..exceptions import ConfigError
from ._common import as_features, as_labels

__all__ = ["transrate"]


def _coding_rate(z: np.ndarray, eps: float) -> float:
    """``1/2 log det(I_D + Z'Z / (n eps))``, through the smaller of the two Gram matrices."""
    n, d = z.shape
    gram = z.T @ z if d <= n else z @ z.T
    gram = gram / (n * eps)
    gram.flat[:: gram.shape[0] + 1] += 1.0
    sign, logdet = np.linalg.slogdet(gram)
    return 0.5 * float(logdet)


@register("transferability", "transrate")
def transrate(features: Any, labels: Any, *, eps: float = 1e-4) -> float:
    """TransRate (Huang, Huang, Rong, Yang, Wei, ICML 2022).

    ``TrR = R(Z, eps) - R(Z, eps | Y)`` with the coding rate
    ``R(Z, eps) = 1/2 log det(I + Z'Z / (n eps))`` of the centred features ``Z`` [n, D] and the
    class-conditional rate ``R(Z, eps | Y)`` the mean over the ``C`` classes of the rate of each
    class's features (the unweighted mean of the authors' released code). ``eps`` plays the
    role of the squared distortion ``epsilon^2``; 1e-4 is the authors' default.

    Args:
        features: [N, D] features of the target data.
        labels: [N] target class ids (gaps are closed).
        eps: distortion.
    """
    if eps <= 0:
        raise ConfigError(f"eps must be > 0, got {eps}")
    f = as_features("features", features)
    y, _ = as_labels("labels", labels, f.shape[0])
    f = f - f.mean(axis=0, keepdims=True)
    num_classes = int(y.max()) + 1
    rate_given_y = sum(_coding_rate(f[y == c], eps) for c in range(num_classes)) / num_classes
    return _coding_rate(f, eps) - rate_given_y
