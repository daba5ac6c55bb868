"""IMTL-G: impartial multi-task learning (gradient part).

Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021: the update ``d = J^T w`` has
equal projections on every *unit* task gradient, ``d . g_i/|g_i|`` constant, with
``sum w = 1``. In Gramian form ``G w ∝ sqrt(diag G)``, so ``w ∝ G^+ sqrt(diag G)``, the
pseudo-inverse extending it to linearly dependent gradients (Quinton & Rey 2024).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["IMTLG"]


@register("aggregator", "imtl_g")
class IMTLG(Aggregator):
    """IMTL-G (Liu et al. 2021, Sec. 3.2): equal projections on the unit task gradients."""

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().double()
        v = torch.linalg.pinv(G) @ G.diagonal().clamp(min=0).sqrt()
        s = v.sum()
        w = torch.zeros_like(v) if s.abs() < 1e-12 else v / s
        return w.to(gramian.dtype)
