"""UPGrad: unconflicting projection of gradients.

Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024 (arXiv:2406.16232).
Each gradient ``g_i`` (scaled by the preference ``p_i``, default ``1/m``) is projected onto the
dual cone ``{x : J x >= 0}`` of the rows of ``J``; the update is the sum of the projections. By
their Proposition 1 the projection of ``J^T u`` is ``J^T v`` with

    v = argmin_{v >= u} v^T G v,

a bound-constrained QP solved here exactly as a non-negative least squares problem
(``v = u + z``, ``z >= 0``, ``G = R^T R``) with scipy's Lawson-Hanson NNLS. As in the reference
implementation, ``G`` is first divided by its trace and ``reg_eps * I`` is added.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["UPGrad", "project_weights_dual_cone"]


def project_weights_dual_cone(U: np.ndarray, G: np.ndarray) -> np.ndarray:
    """For each row ``u`` of ``U``: ``argmin_{v >= u} v^T G v`` (``G`` positive definite)."""
    from scipy.optimize import nnls

    R = np.linalg.cholesky(G).T  # G = R^T R
    out = np.empty_like(U)
    for k, u in enumerate(U):
        z, _ = nnls(R, -R @ u, maxiter=50 * len(u))
        out[k] = u + z
    return out


@register("aggregator", "upgrad")
class UPGrad(Aggregator):
    """UPGrad (Quinton & Rey 2024, Eq. 4): sum of gradients projected onto the dual cone.

    Args:
        pref_vector: preference weights ``p`` (``[m]``, default uniform ``1/m``).
        norm_eps: a Gramian whose trace is below this is treated as zero.
        reg_eps: ``reg_eps * I`` added to the normalised Gramian (positive definiteness).
    """

    def __init__(
        self, pref_vector: Tensor | None = None, norm_eps: float = 1e-4, reg_eps: float = 1e-4
    ) -> None:
        if norm_eps < 0:
            raise ValueError(f"norm_eps must be >= 0, got {norm_eps}")
        if reg_eps <= 0:
            raise ValueError(f"reg_eps must be > 0, got {reg_eps}")
        if pref_vector is not None and (pref_vector.dim() != 1 or (pref_vector < 0).any()):
            raise ValueError("pref_vector must be a 1-D tensor of non-negative weights")
        self.pref_vector = pref_vector
        self.norm_eps = float(norm_eps)
        self.reg_eps = float(reg_eps)

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().cpu().double().numpy()
        m = G.shape[0]
        p = (
            np.full(m, 1.0 / m)
            if self.pref_vector is None
            else self.pref_vector.detach().cpu().double().numpy()
        )
        if p.shape[0] != m:
            raise ValueError(f"pref_vector has {p.shape[0]} entries but there are {m} tasks")
        tr = float(np.trace(G))
        G = np.zeros_like(G) if tr < self.norm_eps else G / tr
        G = G + self.reg_eps * np.eye(m)
        V = project_weights_dual_cone(np.diag(p), G)
        return torch.as_tensor(V.sum(0), dtype=gramian.dtype, device=gramian.device)
