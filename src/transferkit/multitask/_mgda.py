"""MGDA: the minimum-norm point of the convex hull of the task gradients.

Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018 (after
Désidéri 2012). The common descent direction is ``d = J^T w*`` with

    w* = argmin_{w in simplex} w^T G w,    G = J J^T                       (S&K Eq. 3)

``solver="exact"`` (default) solves this QP exactly with Wolfe's minimum-norm-point active-set
algorithm run on the Gramian (P. Wolfe, "Finding the nearest point in a polytope", Math.
Programming 1976): finite termination, the answer satisfies the KKT conditions to round-off.
``solver="frank_wolfe"`` runs S&K's Algorithm 2 (Frank-Wolfe with the closed-form line search of
their Algorithm 1) for ``max_iters`` steps or until the step size drops below ``epsilon``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["MGDA", "frank_wolfe_min_norm_weights", "min_norm_weights"]


def min_norm_weights(G: np.ndarray, tol: float = 1e-12, max_iters: int = 1000) -> np.ndarray:
    """Exact ``argmin_{w in simplex} w^T G w`` by Wolfe's algorithm on the Gramian ``G``."""
    G = np.asarray(G, dtype=np.float64)
    m = G.shape[0]
    scale = max(float(np.max(np.abs(np.diag(G)))), 1e-300)
    Gs = G / scale  # scale-free tolerances
    k = int(np.argmin(np.diag(Gs)))
    S = [k]
    w = np.zeros(m)
    w[k] = 1.0
    for _ in range(max_iters):
        Gw = Gs @ w
        norm2 = float(w @ Gw)
        j = int(np.argmin(Gw))
        if Gw[j] >= norm2 - 1e-10 or j in S:  # all (Gw)_i >= ||x||^2: x is optimal
            break
        S.append(j)
        while True:  # Wolfe's minor cycle: move to the affine minimiser of the corral
            GS = Gs[np.ix_(S, S)]
            n = len(S)
            A = np.zeros((n + 1, n + 1))
            A[:n, :n], A[:n, n], A[n, :n] = GS, 1.0, 1.0
            rhs = np.zeros(n + 1)
            rhs[n] = 1.0
            v = np.linalg.lstsq(A, rhs, rcond=None)[0][:n]
            wS = w[S]
            if np.all(v > tol):
                wS = v
                w = np.zeros(m)
                w[S] = wS
                break
            neg = v <= tol
            theta = float(np.min(wS[neg] / (wS[neg] - v[neg])))
            wS = wS + theta * (v - wS)
            keep = wS > tol
            S = [s for s, kp in zip(S, keep) if kp]
            w = np.zeros(m)
            w[S] = wS[keep] / wS[keep].sum()
    return w


def frank_wolfe_min_norm_weights(G: np.ndarray, epsilon: float, max_iters: int) -> np.ndarray:
    """Sener & Koltun's Algorithm 2 (Frank-Wolfe) on the Gramian ``G``."""
    G = np.asarray(G, dtype=np.float64)
    m = G.shape[0]
    w = np.full(m, 1.0 / m)
    for _ in range(max_iters):
        Gw = G @ w
        t = int(np.argmin(Gw))
        a, b, c = float(Gw[t]), float(w @ Gw), float(G[t, t])  # <x,g_t>, |x|^2, |g_t|^2
        if c <= a:
            gamma = 1.0
        elif b <= a:
            gamma = 0.0
        else:  # S&K Algorithm 1: minimiser of |(1-g) x + g g_t| over g in [0, 1]
            gamma = (b - a) / (b + c - 2 * a)
        w = (1 - gamma) * w
        w[t] += gamma
        if gamma < epsilon:
            break
    return w


@register("aggregator", "mgda")
class MGDA(Aggregator):
    """MGDA min-norm aggregator (Sener & Koltun 2018, Eq. 3; exact or Frank-Wolfe solver).

    Args:
        solver: ``"exact"`` (Wolfe active set) or ``"frank_wolfe"`` (S&K Algorithm 2).
        normalization: ``"none"`` or ``"l2"`` (each gradient scaled to unit norm before solving,
            S&K's released code; the returned weights apply to the *unnormalised* gradients).
        epsilon: Frank-Wolfe stopping threshold on the step size (``frank_wolfe`` only).
        max_iters: iteration cap of either solver.
    """

    def __init__(
        self,
        solver: str = "exact",
        normalization: str = "none",
        epsilon: float = 1e-3,
        max_iters: int = 250,
    ) -> None:
        if solver not in ("exact", "frank_wolfe"):
            raise ValueError(f"solver must be 'exact' or 'frank_wolfe', got '{solver}'")
        if normalization not in ("none", "l2"):
            raise ValueError(f"normalization must be 'none' or 'l2', got '{normalization}'")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if max_iters <= 0:
            raise ValueError(f"max_iters must be > 0, got {max_iters}")
        self.solver = solver
        self.normalization = normalization
        self.epsilon = float(epsilon)
        self.max_iters = int(max_iters)

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().cpu().double().numpy()
        norms = np.ones(G.shape[0])
        if self.normalization == "l2":
            norms = np.sqrt(np.clip(np.diag(G), 1e-24, None))
            G = G / np.outer(norms, norms)
        if self.solver == "exact":
            w = min_norm_weights(G, max_iters=max(self.max_iters, 4 * G.shape[0]))
        else:
            w = frank_wolfe_min_norm_weights(G, self.epsilon, self.max_iters)
        w = w / norms
        return torch.as_tensor(w, dtype=gramian.dtype, device=gramian.device)
