"""DAN: multi-kernel maximum mean discrepancy (Long et al., ICML 2015)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._registry import register
from ._base import AdaptationMethod, check_nonneg

__all__ = ["DAN", "PAPER_BANDWIDTH_MULTIPLIERS", "mk_mmd"]

#: Long et al. (2015), Section 4: bandwidths between 2^-8 and 2^8 times the base, step 2^(1/2).
PAPER_BANDWIDTH_MULTIPLIERS: tuple[float, ...] = tuple(2.0 ** (k / 2) for k in range(-16, 17))


def mk_mmd(f_s: Tensor, f_t: Tensor, multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
           bandwidth: float | None = None) -> Tensor:
    """Squared MMD with a sum of Gaussian kernels ``exp(-||x-y||^2 / (m * gamma))``.

    The biased (V-statistic) estimate ``mean K_ss + mean K_tt - 2 mean K_st``, so batches of
    different sizes are fine; kernels are weighted equally (``beta_u = 1/m``). ``gamma``, the
    base bandwidth, is ``bandwidth`` if given, else the mean squared pairwise distance of the
    pooled batch (detached), as in Gretton et al.'s median-style heuristic.
    """
    x = torch.cat([f_s, f_t])
    d2 = torch.cdist(x, x).pow(2)
    if bandwidth is None:
        n = x.shape[0]
        gamma = d2.detach().sum() / max(n * n - n, 1)
        gamma = gamma.clamp_min(1e-12)
    else:
        gamma = torch.as_tensor(float(bandwidth), dtype=x.dtype, device=x.device)
    k = sum(torch.exp(-d2 / (float(m) * gamma)) for m in multipliers) / len(multipliers)
    ns = f_s.shape[0]
    return k[:ns, :ns].mean() + k[ns:, ns:].mean() - 2 * k[:ns, ns:].mean()


@register("adaptation", "dan")
class DAN(AdaptationMethod):
    """Deep Adaptation Network: multi-kernel MMD between source and target representations.

    Long, Cao, Wang, Jordan, "Learning Transferable Features with Deep Adaptation Networks",
    ICML 2015, eq. 2-8. The paper adapts several layers and learns the kernel weights
    ``beta`` by a quadratic program; here the features (and, with ``include_logits``, the
    softmax outputs) are adapted with equal kernel weights.

    Args:
        trade_off: weight ``lambda`` of the MMD term (eq. 8), 1.0 in the paper.
        bandwidth_multipliers: multipliers of the base bandwidth; the paper's
            2^-8 ... 2^8 with step 2^(1/2) by default.
        include_logits: also adapt the classifier's softmax outputs (the paper's fc8).
    """

    def __init__(self, trade_off: float = 1.0,
                 bandwidth_multipliers: Sequence[float] = PAPER_BANDWIDTH_MULTIPLIERS,
                 include_logits: bool = False):
        super().__init__()
        self.trade_off = check_nonneg("trade_off", trade_off)
        mults = tuple(float(m) for m in bandwidth_multipliers)
        if not mults or min(mults) <= 0:
            raise ValueError(f"bandwidth_multipliers must be a non-empty list of values > 0, got {mults}")
        self.bandwidth_multipliers = mults
        self.include_logits = bool(include_logits)
        self.needs_logits = self.include_logits
        self._hparams = {"trade_off": self.trade_off, "kernels": len(mults),
                         "include_logits": self.include_logits}

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        loss = mk_mmd(f_s, f_t, self.bandwidth_multipliers)
        if self.include_logits:
            loss = loss + mk_mmd(logits_s.softmax(1), logits_t.softmax(1), self.bandwidth_multipliers)
        return self.trade_off * loss
