"""LEEP: log expected empirical prediction of the source classifier on the target labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ._common import as_labels, as_probabilities, class_sums

__all__ = ["leep"]


@register("transferability", "leep")
def leep(source_probs: Any, labels: Any) -> float:
    """LEEP (Nguyen, Hassner, Seeger, Archambeau, ICML 2020).

    With ``theta(x_i)`` the source model's class probabilities on target sample ``i``, the
    empirical joint ``P(y, z) = 1/N sum_{i: y_i = y} theta(x_i)_z``, the conditional
    ``P(y | z) = P(y, z) / P(z)``, and
    ``LEEP = 1/N sum_i log sum_z P(y_i | z) theta(x_i)_z``.

    A source class ``z`` that no target sample gives any probability (``P(z) = 0``) contributes
    nothing to any sample's sum, so its conditional is set to 0 instead of ``0 / 0``.

    Args:
        source_probs: [N, Z] softmax outputs of the source model on the target inputs.
        labels: [N] target class ids (gaps are closed).

    Returns:
        The average log-likelihood of the expected empirical predictor (<= 0; higher is better).
    """
    theta = as_probabilities("source_probs", source_probs)
    y, _ = as_labels("labels", labels, theta.shape[0])
    n = theta.shape[0]
    joint = class_sums(y, theta) / n
    marginal = joint.sum(axis=0)
    cond = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    eep = np.einsum("iz,iz->i", cond[y], theta)
    return float(np.mean(np.log(eep)))
