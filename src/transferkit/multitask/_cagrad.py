"""CAGrad: conflict-averse gradient descent.

Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021. With the
average gradient ``g0`` and ``phi = c^2 |g0|^2``, the update is ``d = g0 + sqrt(phi)/|g_w| g_w``
where ``g_w = J^T w`` and ``w`` solves the dual problem (their Eq. 3 / Algorithm 1)

    min_{w in simplex}  g_w . g0 + sqrt(phi) |g_w|.

Solved with scipy's SLSQP on the trace-normalised Gramian, as the authors' code does
(the objective is invariant to scaling ``G``). ``rescale=True`` divides by ``1 + c^2`` as the
authors' ``rescale=1`` option does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator
from ._mgda import min_norm_weights

__all__ = ["CAGrad"]


@register("aggregator", "cagrad")
class CAGrad(Aggregator):
    """CAGrad (Liu et al. 2021, Alg. 1); ``c`` is the radius scale (paper's default 0.4).

    Args:
        c: radius of the ball around ``g0``, relative to ``|g0|`` (``c >= 0``; ``0`` gives the mean).
        rescale: divide the update by ``1 + c^2`` (authors' code, ``rescale=1``).
        norm_eps: below this ``|g_w|`` the point is Pareto-stationary and ``w`` is 0.
    """

    def __init__(self, c: float = 0.4, rescale: bool = False, norm_eps: float = 1e-4) -> None:
        if c < 0:
            raise ValueError(f"c must be >= 0, got {c}")
        if norm_eps < 0:
            raise ValueError(f"norm_eps must be >= 0, got {norm_eps}")
        self.c = float(c)
        self.rescale = bool(rescale)
        self.norm_eps = float(norm_eps)

    def weights(self, gramian: Tensor) -> Tensor:
        from scipy.optimize import minimize

        self._check_gramian(gramian)
        G = gramian.detach().cpu().double().numpy()
        m = G.shape[0]
        tr = float(np.trace(G))
        if tr < self.norm_eps:
            w_out = np.zeros(m)
        else:
            G = G / tr
            a = G @ np.full(m, 1.0 / m)  # g_w . g0 = w^T a
            sqrt_phi = self.c * float(np.sqrt(max(np.full(m, 1.0 / m) @ a, 0.0)))

            def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
                q = float(w @ G @ w)
                s = np.sqrt(max(q, 1e-20))
                return float(w @ a) + sqrt_phi * s, a + sqrt_phi * (G @ w) / s

            best = None
            for w0 in (np.full(m, 1.0 / m), min_norm_weights(G)):
                res = minimize(
                    fun, w0, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                    constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                  "jac": lambda w: np.ones_like(w)}],
                    options={"ftol": 1e-14, "maxiter": 1000},
                )
                if best is None or res.fun < best.fun:
                    best = res
            w = np.clip(best.x, 0.0, None)
            w = w / w.sum()
            gw = float(np.sqrt(max(w @ G @ w, 0.0)))
            w_out = np.full(m, 1.0 / m)
            if gw >= self.norm_eps:
                w_out = w_out + (sqrt_phi / gw) * w
            else:
                w_out = np.zeros(m)
        if self.rescale:
            w_out = w_out / (1.0 + self.c**2)
        return torch.as_tensor(w_out, dtype=gramian.dtype, device=gramian.device)
