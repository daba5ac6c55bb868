"""H-score and its shrinkage-regularised version."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
from sklearn.covariance import ledoit_wolf_shrinkage

from .._registry import register
from ..exceptions import ConfigError
from ._common import as_features, as_labels, class_sums

__all__ = ["h_score", "shrinkage_h_score"]


def _centered_and_class_means(features: Any, labels: Any):
    f = as_features("features", features)
    y, _ = as_labels("labels", labels, f.shape[0])
    f = f - f.mean(axis=0, keepdims=True)
    counts = np.bincount(y).astype(np.float64)
    means = class_sums(y, f) / counts[:, None]
    # cov(E[f | y]) with every sample replaced by its class mean: sum_c (n_c / N) mu_c mu_c'
    cov_g = (means.T * (counts / f.shape[0])) @ means
    return f, cov_g


@register("transferability", "h_score")
def h_score(features: Any, labels: Any, *, rcond: float = 1e-15) -> float:
    """H-score (Bao, Li, Huang, Wang, Zamir, Guibas, ICIP 2019).

    ``H(f) = tr(cov(f)^-1 cov(E[f | y]))``: the between-class covariance of the features in the
    metric of their total covariance. ``cov(f)`` is inverted with a pseudo-inverse (cut-off
    ``rcond`` relative to the largest singular value, 1e-15 as in the authors' code), which is
    unstable for high-dimensional features; see :func:`shrinkage_h_score`.

    Args:
        features: [N, D] features of the target data.
        labels: [N] target class ids (gaps are closed).
        rcond: relative cut-off of the pseudo-inverse.
    """
    if rcond < 0:
        raise ConfigError(f"rcond must be >= 0, got {rcond}")
    f, cov_g = _centered_and_class_means(features, labels)
    cov_f = f.T @ f / f.shape[0]
    return float(np.trace(np.linalg.pinv(cov_f, rcond=rcond, hermitian=True) @ cov_g))


@register("transferability", "shrinkage_h_score")
def shrinkage_h_score(features: Any, labels: Any) -> float:
    """H-score with a Ledoit-Wolf shrunk covariance (Ibrahim, Ponomareva, Mazumder, ICLR 2023).

    ``H_alpha(f) = tr(cov_alpha(f)^-1 (1 - alpha) cov(E[f | y]))`` with
    ``cov_alpha = (1 - alpha) cov(f) + alpha (tr cov(f) / D) I`` and ``alpha`` the Ledoit-Wolf
    shrinkage intensity (Ledoit and Wolf, 2004), from "Newer is not always better: Rethinking
    transferability metrics, their peculiarities, stability and performance". The shrunk
    covariance is well conditioned, so the score stays stable when ``D`` approaches ``N``.

    Args:
        features: [N, D] features of the target data.
        labels: [N] target class ids (gaps are closed).
    """
    f, cov_g = _centered_and_class_means(features, labels)
    d = f.shape[1]
    alpha = float(ledoit_wolf_shrinkage(f, assume_centered=True))
    cov_f = f.T @ f / f.shape[0]
    cov_a = (1.0 - alpha) * cov_f
    cov_a.flat[:: d + 1] += alpha * np.trace(cov_f) / d
    try:
        sol = scipy.linalg.solve(cov_a, (1.0 - alpha) * cov_g, assume_a="pos", check_finite=False)
    except np.linalg.LinAlgError:  # alpha = 0 and a singular covariance: least squares
        sol = np.linalg.lstsq(cov_a, (1.0 - alpha) * cov_g, rcond=None)[0]
    return float(np.trace(sol))
