"""MGDA: the minimum-norm point of the convex hull of the task gradients.

Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018 (after
Désidéri 2012). The common descent direction is ``d = J^T w*`` with

    w* = argmin_{w in simplex} w^T G w,    G = J J^T                       (S&K Eq. 3)

``solver="exact"`` (default) solves this QP exactly with Wolfe's minimum-norm-point active-set
algorithm run on the Gramian (P. Wolfe, "Finding the nearest point in a polytope", Math.
Programming 1976): finite termination, the answer satisfies the KKT conditions to round-off.
``solver="frank_wolfe"`` runs S&K's Algorithm 2 (Frank-Wolfe with the closed-form line search of
their Algorithm 1) for ``max_iters`` steps or until the step size drops below ``epsilon``.
Either solver that stops at ``max_iters`` without meeting its criterion logs a warning (once
per aggregator) and records it in :attr:`MGDA.converged_` / :attr:`MGDA.n_iter_`.

Gradient normalisation (``normalization``), against S&K's released code
(github.com/isl-org/MultiObjectiveOptimization, ``gradient_normalizers`` in
``min_norm_solvers.py`` and its use in ``train_multi_task.py``): the code divides each task
gradient by ``gn_t`` ('l2': its norm; 'loss': the task loss; 'loss+': both; 'none': 1), solves
the min-norm problem on the divided gradients, then back-propagates ``sum_t w_t L_t``: the
weights multiply the *raw* losses, i.e. the raw gradients. ``normalization="l2"`` does exactly
that. Its effect: the update is ``sum_t w_t g_t = sum_t (w_t |g_t|) g_t/|g_t|``, which favours
tasks with large gradients again and is *not* guaranteed to be a common descent direction
(with two nearly opposite gradients of norms 1 and 100 it increases the small task's loss).
``normalization="l2_unit"`` instead returns ``w_t / |g_t|``: the update is the min-norm point
of the unit gradients itself, which has ``g_t . d >= |d|^2 |g_t| >= 0`` for every task (a
common descent direction whose length no longer depends on the gradients' scale). 'loss' and
'loss+' need the task losses, which an aggregator (a function of the Gramian) does not see;
they are not offered.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["MGDA", "frank_wolfe_min_norm_weights", "min_norm_weights"]

logger = logging.getLogger(__name__)


def min_norm_weights(G: np.ndarray, tol: float = 1e-12, max_iters: int = 1000) -> np.ndarray:
    """Exact ``argmin_{w in simplex} w^T G w`` by Wolfe's algorithm on the Gramian ``G``."""
    return _wolfe(G, tol, max_iters)[0]


def _wolfe(G: np.ndarray, tol: float, max_iters: int) -> tuple[np.ndarray, int, bool]:
    """Wolfe's algorithm: ``(w, iterations, converged)``."""
    G = np.asarray(G, dtype=np.float64)
    m = G.shape[0]
    scale = max(float(np.max(np.abs(np.diag(G)))), 1e-300)
    Gs = G / scale  # scale-free tolerances
    k = int(np.argmin(np.diag(Gs)))
    S = [k]
    w = np.zeros(m)
    w[k] = 1.0
    for it in range(max_iters):
        Gw = Gs @ w
        norm2 = float(w @ Gw)
        j = int(np.argmin(Gw))
        if Gw[j] >= norm2 - 1e-10 or j in S:  # all (Gw)_i >= ||x||^2: x is optimal
            return w, it, True
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
    return w, max_iters, False


def frank_wolfe_min_norm_weights(G: np.ndarray, epsilon: float, max_iters: int) -> np.ndarray:
    """Sener & Koltun's Algorithm 2 (Frank-Wolfe) on the Gramian ``G``."""
    return _frank_wolfe(G, epsilon, max_iters)[0]


def _frank_wolfe(G: np.ndarray, epsilon: float, max_iters: int) -> tuple[np.ndarray, int, bool]:
    """Frank-Wolfe: ``(w, iterations, converged)``; converged = a step below ``epsilon``."""
    G = np.asarray(G, dtype=np.float64)
    m = G.shape[0]
    w = np.full(m, 1.0 / m)
    for it in range(max_iters):
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
            return w, it + 1, True
    return w, max_iters, False


Normalization = Literal["none", "l2", "l2_unit"]


@register("aggregator", "mgda")
class MGDA(Aggregator):
    """MGDA min-norm aggregator (Sener & Koltun 2018, Eq. 3; exact or Frank-Wolfe solver).

    Args:
        solver: ``"exact"`` (Wolfe active set) or ``"frank_wolfe"`` (S&K Algorithm 2).
        normalization: ``"none"`` (the paper); ``"l2"``: S&K's released code, the weights are
            solved on unit-norm gradients and applied to the raw gradients; ``"l2_unit"``: the
            update is the min-norm point of the unit-norm gradients (a common descent
            direction). See the module docstring for the difference and its effect.
        epsilon: Frank-Wolfe stopping threshold on the step size (``frank_wolfe`` only).
        max_iters: iteration cap of either solver.

    After each call, ``n_iter_`` is the solver's iteration count and ``converged_`` whether it
    met its criterion before ``max_iters`` (a warning is logged the first time it did not;
    ``n_unconverged_`` counts the calls that did not).
    """

    def __init__(
        self,
        solver: Literal["exact", "frank_wolfe"] = "exact",
        normalization: Normalization = "none",
        epsilon: float = 1e-3,
        max_iters: int = 250,
    ) -> None:
        if solver not in ("exact", "frank_wolfe"):
            raise ValueError(f"solver must be 'exact' or 'frank_wolfe', got '{solver}'")
        if normalization not in ("none", "l2", "l2_unit"):
            raise ValueError(
                f"normalization must be 'none', 'l2' or 'l2_unit', got '{normalization}'"
            )
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon}")
        if max_iters <= 0:
            raise ValueError(f"max_iters must be > 0, got {max_iters}")
        self.solver = solver
        self.normalization = normalization
        self.epsilon = float(epsilon)
        self.max_iters = int(max_iters)
        self.n_iter_: int | None = None
        self.converged_: bool | None = None
        self.n_unconverged_ = 0

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().cpu().double().numpy()
        norms = np.ones(G.shape[0])
        if self.normalization != "none":
            norms = np.sqrt(np.clip(np.diag(G), 1e-24, None))
            G = G / np.outer(norms, norms)
        if self.solver == "exact":
            cap = max(self.max_iters, 4 * G.shape[0])
            w, self.n_iter_, self.converged_ = _wolfe(G, 1e-12, cap)
        else:
            cap = self.max_iters
            w, self.n_iter_, self.converged_ = _frank_wolfe(G, self.epsilon, cap)
        if not self.converged_:
            self.n_unconverged_ += 1
            if self.n_unconverged_ == 1:
                criterion = (
                    f"a step below epsilon={self.epsilon:g}" if self.solver == "frank_wolfe"
                    else "Wolfe's optimality test"
                )
                logger.warning(
                    "MGDA(solver=%r): the min-norm solver stopped at max_iters=%d before %s; the "
                    "weights are approximate. Raise max_iters (further occurrences are counted "
                    "in n_unconverged_, not logged).", self.solver, cap, criterion,
                )
        if self.normalization == "l2_unit":
            w = w / norms
        return torch.as_tensor(w, dtype=gramian.dtype, device=gramian.device)
