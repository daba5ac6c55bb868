"""DAN: multi-kernel maximum mean discrepancy (Long et al., ICML 2015)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._base import AdaptationMethod, check_nonneg

__all__ = ["DAN", "PAPER_BANDWIDTH_MULTIPLIERS", "kernel_weights_from_statistics", "linear_time_mmd_statistics",
           "mk_mmd", "optimal_kernel_weights"]

#: Long et al. (2015), Section 4: bandwidths between 2^-8 and 2^8 times the base, step 2^(1/2).
PAPER_BANDWIDTH_MULTIPLIERS: tuple[float, ...] = tuple(2.0 ** (k / 2) for k in range(-16, 17))


def _base_bandwidth(d2: Tensor) -> Tensor:
    """Mean off-diagonal entry of the pooled squared-distance matrix ``d2`` (detached)."""
    n = d2.shape[0]
    return (d2.detach().sum() / max(n * n - n, 1)).clamp_min(1e-12)


def _check_weights(kernel_weights, n_kernels: int, like: Tensor) -> Tensor:
    w = torch.as_tensor(kernel_weights, dtype=like.dtype, device=like.device).reshape(-1)
    if w.numel() != n_kernels:
        raise ValueError(f"kernel_weights has {w.numel()} entries for {n_kernels} kernels")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError(f"kernel_weights must be finite and >= 0, got {w.tolist()}")
    return w


def mk_mmd(f_s: Tensor, f_t: Tensor, multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
           bandwidth: float | None = None, kernel_weights: Sequence[float] | Tensor | None = None) -> Tensor:
    """Squared MMD with a weighted sum of Gaussian kernels ``exp(-||x-y||^2 / (m * gamma))``.

    The biased (V-statistic) estimate ``mean K_ss + mean K_tt - 2 mean K_st``, so batches of
    different sizes are fine. ``kernel_weights`` are the ``beta_u`` of Long et al. (2015, eq. 3),
    one per multiplier, ``>= 0``; by default every kernel weighs ``1/m``. ``gamma``, the base
    bandwidth, is ``bandwidth`` if given, else the mean squared pairwise distance of the pooled
    batch (detached), as in Gretton et al.'s median-style heuristic.
    """
    x = torch.cat([f_s, f_t])
    d2 = torch.cdist(x, x).pow(2)
    if bandwidth is None:
        gamma = _base_bandwidth(d2)
    else:
        gamma = torch.as_tensor(float(bandwidth), dtype=x.dtype, device=x.device)
    if kernel_weights is None:
        k = sum(torch.exp(-d2 / (float(m) * gamma)) for m in multipliers) / len(multipliers)
    else:
        w = _check_weights(kernel_weights, len(multipliers), x)
        k = sum(w[u] * torch.exp(-d2 / (float(m) * gamma)) for u, m in enumerate(multipliers))
    ns = f_s.shape[0]
    return k[:ns, :ns].mean() + k[ns:, ns:].mean() - 2 * k[:ns, ns:].mean()


def linear_time_mmd_statistics(f_s: Tensor, f_t: Tensor,
                               multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
                               bandwidth: float | None = None) -> np.ndarray:
    """Per-kernel terms ``h_u(z_i)`` of the linear-time MMD estimate, shape ``[kernels, n]``.

    Long et al. (2015), eq. 5 (after Gretton et al., NIPS 2012): the quad-tuples
    ``z_i = (x_{2i-1}, x_{2i}, y_{2i-1}, y_{2i})`` of ``n = min(n_s, n_t) // 2`` source and
    target pairs give ``h_u(z_i) = k_u(x, x') + k_u(y, y') - k_u(x, y') - k_u(x', y)``; their
    mean is ``d_u``, the unbiased MMD^2 of kernel ``u``. Same kernels and base bandwidth as
    :func:`mk_mmd`. Computed without gradient, in float64.
    """
    with torch.no_grad():
        fs, ft = f_s.detach().double(), f_t.detach().double()
        n = min(fs.shape[0], ft.shape[0]) // 2
        if bandwidth is None:
            x = torch.cat([fs, ft])
            gamma = _base_bandwidth(torch.cdist(x, x).pow(2))
        else:
            gamma = torch.tensor(float(bandwidth), dtype=torch.float64)
        x1, x2, y1, y2 = fs[0 : 2 * n : 2], fs[1 : 2 * n : 2], ft[0 : 2 * n : 2], ft[1 : 2 * n : 2]
        sq = [((a - b) ** 2).sum(1) for a, b in ((x1, x2), (y1, y2), (x1, y2), (x2, y1))]
        rows = []
        for m in multipliers:
            kxx, kyy, kxy, kyx = (torch.exp(-s / (float(m) * gamma)) for s in sq)
            rows.append(kxx + kyy - kxy - kyx)
        return torch.stack(rows).cpu().numpy() if rows else np.zeros((0, n))


def kernel_weights_from_statistics(h: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Kernel weights ``beta`` that maximise the MMD test power, from per-kernel terms ``h``.

    Long et al. (2015), eq. 7 (Gretton et al., NIPS 2012, eq. 12): with ``d = mean(h, axis=1)``
    and ``Q = cov(h)``, solve ``min_beta beta^T (Q + eps I) beta`` s.t. ``d^T beta = 1``,
    ``beta >= 0``, then normalise to ``sum(beta) = 1`` (the kernel family of eq. 3).
    ``eps = ridge * mean(diag Q)`` (our choice; the paper leaves eps open). The problem is
    solved exactly: its solution is proportional to that of ``min_{beta >= 0} 1/2 beta^T A beta
    - d^T beta`` (same KKT conditions up to scale), a non-negative least-squares problem after
    a Cholesky factorisation ``A = R^T R``. If no kernel has ``d_u > 0`` the problem is
    infeasible and equal weights are returned.

    Args:
        h: array ``[kernels, n]`` with ``n >= 2``, e.g. from :func:`linear_time_mmd_statistics`.
        ridge: relative ridge ``eps / mean(diag Q)``, ``>= 0``.
    """
    from scipy.linalg import cholesky, solve_triangular
    from scipy.optimize import nnls

    ridge = check_nonneg("ridge", ridge)
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] == 0 or h.shape[1] < 2:
        raise ValueError(f"h must have shape [kernels, n] with n >= 2, got {h.shape}")
    m = h.shape[0]
    d = h.mean(1)
    if not (d > 0).any():
        return np.full(m, 1.0 / m)
    Q = np.atleast_2d(np.cov(h))
    A = Q + ridge * max(float(np.mean(np.diag(Q))), 1e-300) * np.eye(m)
    R = cholesky(A, lower=False)  # A = R^T R
    # 1/2 b^T A b - d^T b = 1/2 ||R b - R^{-T} d||^2 + const
    beta, _ = nnls(R, solve_triangular(R, d, trans="T"))
    s = beta.sum()
    return beta / s if s > 0 else np.full(m, 1.0 / m)


def optimal_kernel_weights(f_s: Tensor, f_t: Tensor,
                           multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
                           bandwidth: float | None = None, ridge: float = 1e-3) -> Tensor:
    """Test-power-optimal ``beta`` for the batch ``(f_s, f_t)`` (Long et al., 2015, eq. 5-7).

    :func:`linear_time_mmd_statistics` then :func:`kernel_weights_from_statistics`. Needs at
    least 4 samples per domain (2 quad-tuples); with fewer, returns equal weights. The result
    is a detached tensor of ``f_s``'s dtype and device, ``>= 0``, summing to 1.
    """
    if min(f_s.shape[0], f_t.shape[0]) < 4:
        beta = np.full(len(multipliers), 1.0 / len(multipliers))
    else:
        beta = kernel_weights_from_statistics(linear_time_mmd_statistics(f_s, f_t, multipliers, bandwidth),
                                              ridge)
    return torch.as_tensor(beta, dtype=f_s.dtype, device=f_s.device)


@register("adaptation", "dan")
class DAN(AdaptationMethod):
    """Deep Adaptation Network: multi-kernel MMD between source and target representations.

    Long, Cao, Wang, Jordan, "Learning Transferable Features with Deep Adaptation Networks",
    ICML 2015, eq. 2-8. The paper adapts several layers; here the features (and, with
    ``include_logits``, the softmax outputs) are adapted. By default the kernels weigh
    equally; with ``learn_kernel_weights`` each call first solves the paper's quadratic program
    (eq. 7, :func:`optimal_kernel_weights`) on the detached batch, then uses those ``beta``
    for the MMD that trains the network: the paper's alternation of a ``beta`` step and a
    network step, one batch at a time. The last weights are kept, for inspection only, in
    ``kernel_weights_`` (and ``logit_kernel_weights_``); nothing else depends on them.

    Args:
        trade_off: weight ``lambda`` of the MMD term (eq. 8), 1.0 in the paper.
        bandwidth_multipliers: multipliers of the base bandwidth; the paper's
            2^-8 ... 2^8 with step 2^(1/2) by default.
        include_logits: also adapt the classifier's softmax outputs (the paper's fc8).
        learn_kernel_weights: learn ``beta`` by the test-power QP instead of ``1/m`` each.
        kernel_ridge: relative ridge ``eps`` of the QP (see
            :func:`kernel_weights_from_statistics`), ``>= 0``.
    """

    def __init__(self, trade_off: float = 1.0,
                 bandwidth_multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
                 include_logits: bool = False, learn_kernel_weights: bool = False,
                 kernel_ridge: float = 1e-3):
        super().__init__()
        self.trade_off = check_nonneg("trade_off", trade_off)
        mults = tuple(float(m) for m in bandwidth_multipliers)
        if not mults or min(mults) <= 0:
            raise ValueError(f"bandwidth_multipliers must be a non-empty list of values > 0, got {mults}")
        self.bandwidth_multipliers = mults
        self.include_logits = bool(include_logits)
        self.needs_logits = self.include_logits
        self.learn_kernel_weights = bool(learn_kernel_weights)
        self.kernel_ridge = check_nonneg("kernel_ridge", kernel_ridge)
        self.kernel_weights_: Tensor | None = None
        self.logit_kernel_weights_: Tensor | None = None
        self._hparams = {"trade_off": self.trade_off, "kernels": len(mults),
                         "include_logits": self.include_logits,
                         "learn_kernel_weights": self.learn_kernel_weights}

    def _mmd(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor | None]:
        beta = None
        if self.learn_kernel_weights:
            beta = optimal_kernel_weights(a, b, self.bandwidth_multipliers, ridge=self.kernel_ridge)
        return mk_mmd(a, b, self.bandwidth_multipliers, kernel_weights=beta), beta

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        loss, self.kernel_weights_ = self._mmd(f_s, f_t)
        if self.include_logits:
            extra, self.logit_kernel_weights_ = self._mmd(logits_s.softmax(1), logits_t.softmax(1))
            loss = loss + extra
        return self.trade_off * loss
