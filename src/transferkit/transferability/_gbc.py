"""GBC: minus the summed Bhattacharyya coefficients between per-class Gaussians."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._common import as_features, as_labels, class_sums

__all__ = ["gbc"]


@register("transferability", "gbc")
def gbc(
    features: Any,
    labels: Any,
    *,
    gaussian: Literal["spherical", "diagonal"] = "spherical",
    pca_dim: int | None = None,
    min_variance: float = 1e-4,
) -> float:
    """GBC (Pándy, Agostinelli, Uijlings, Ferrari, Mensink, CVPR 2022).

    Each class ``c`` is modelled by a Gaussian ``N(mu_c, Sigma_c)`` fitted to its features
    (diagonal or spherical covariance); ``GBC = -sum_{c != c'} BC(c, c')`` with the
    Bhattacharyya coefficient ``BC = exp(-D_B)`` and
    ``D_B = 1/8 (mu_c - mu_c')' S^-1 (mu_c - mu_c') + 1/2 log(det S / sqrt(det S_c det S_c'))``,
    ``S = (S_c + S_c') / 2``. Less overlap between classes gives a higher (closer to 0) score.

    For the spherical case the log-determinants count all ``D`` dimensions (``det = s^D``), as
    the formula states; the authors' released code adds the log-variances once instead.

    Args:
        features: [N, D] features of the target data.
        labels: [N] target class ids (gaps are closed).
        gaussian: ``"spherical"`` (the paper's default) or ``"diagonal"`` class covariances.
        pca_dim: if given, project the features on their first ``pca_dim`` principal
            components first (the authors reduce the features with PCA before scoring).
        min_variance: floor on every per-class variance (1e-4 in the authors' code), so a
            constant feature does not give an infinite distance.
    """
    if gaussian not in ("spherical", "diagonal"):
        raise ConfigError(f"gaussian must be 'spherical' or 'diagonal', got {gaussian!r}")
    if min_variance <= 0:
        raise ConfigError(f"min_variance must be > 0, got {min_variance}")
    f = as_features("features", features)
    y, _ = as_labels("labels", labels, f.shape[0])
    if pca_dim is not None:
        if not 1 <= pca_dim <= min(f.shape):
            raise ConfigError(f"pca_dim must be in [1, {min(f.shape)}], got {pca_dim}")
        centred = f - f.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        f = centred @ vt[:pca_dim].T
    num_classes = int(y.max()) + 1
    if num_classes < 2:
        raise DataError("GBC needs at least 2 classes, got 1")
    d = f.shape[1]
    counts = np.bincount(y).astype(np.float64)
    means = class_sums(y, f) / counts[:, None]
    dev = f - means[y]  # two-pass variance: no cancellation for features far from 0
    var = np.maximum(class_sums(y, dev**2) / counts[:, None], min_variance)
    total = 0.0
    for c in range(num_classes):
        diff2 = (means[c] - means) ** 2  # [C, D]
        if gaussian == "spherical":
            vc, vo = var[c].mean(), var.mean(axis=1)  # scalar, [C]
            avg = (vc + vo) / 2.0
            dist = diff2.sum(axis=1) / (8.0 * avg) + d / 2.0 * (
                np.log(avg) - 0.5 * np.log(vc) - 0.5 * np.log(vo)
            )
        else:
            avg = (var[c] + var) / 2.0
            dist = (diff2 / avg).sum(axis=1) / 8.0 + 0.5 * (
                np.log(avg) - 0.5 * np.log(var[c]) - 0.5 * np.log(var)
            ).sum(axis=1)
        bc = np.exp(-dist)
        bc[c] = 0.0
        total += bc.sum()
    return float(-total)
