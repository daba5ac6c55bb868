"""NCE: negative conditional entropy of the target labels given the source labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._registry import register
from ..exceptions import DataError
from ._common import _to_numpy, as_labels

__all__ = ["nce"]


@register("transferability", "nce")
def nce(source_labels: Any, labels: Any) -> float:
    """NCE (Tran, Nguyen, Hassner, ICCV 2019): ``-H(Y | Z)`` from the empirical joint.

    ``H(Y | Z) = -sum_{y, z} P(y, z) log (P(y, z) / P(z))`` with ``P`` the empirical joint
    distribution of the target label ``y`` and the source label ``z`` over the target samples.

    Args:
        source_labels: [N] source class predicted for each target sample, or [N, Z] source
            probabilities (their arg-max is taken).
        labels: [N] target class ids (gaps are closed).

    Returns:
        ``-H(Y | Z)`` in nats (<= 0; 0 when the source label determines the target label).
    """
    z = _to_numpy(source_labels)
    if z.ndim == 2:
        if z.shape[1] == 0:
            raise DataError(f"'source_labels' is empty: shape {z.shape}")
        z = np.argmax(z, axis=1)
    z, _ = as_labels("source_labels", z)
    y, _ = as_labels("labels", labels, z.shape[0])
    joint = np.zeros((int(y.max()) + 1, int(z.max()) + 1))
    np.add.at(joint, (y, z), 1.0)
    joint /= y.shape[0]
    pz = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log((joint / pz)[nz])))
