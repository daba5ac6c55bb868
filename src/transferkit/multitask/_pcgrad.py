"""PCGrad: projecting conflicting gradients.

Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1: for every
task ``i``, visit the other tasks in a random order and, when ``g_i^PC . g_j < 0``, remove from
``g_i^PC`` its projection on ``g_j``; the update is ``sum_i g_i^PC``. Each ``g_i^PC`` stays a
linear combination of the gradients, so the update is ``J^T w`` and only the Gramian is needed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["PCGrad"]


@register("aggregator", "pcgrad")
class PCGrad(Aggregator):
    """PCGrad (Yu et al. 2020, Alg. 1); the update is the *sum* of projected gradients.

    Args:
        generator: ``torch.Generator`` drawing the random task orders; ``None`` uses torch's
            global generator (one ``torch.randperm(m)`` per task, in task order).
    """

    def __init__(self, generator: torch.Generator | None = None) -> None:
        self.generator = generator

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().cpu().double()
        m = G.shape[0]
        total = torch.zeros(m, dtype=torch.float64)
        for i in range(m):
            order = torch.randperm(m, generator=self.generator)
            c = torch.zeros(m, dtype=torch.float64)
            c[i] = 1.0
            for j in order.tolist():
                if j == i:
                    continue
                dot = float(G[j] @ c)  # g_i^PC . g_j
                if dot < 0.0:
                    c[j] -= dot / float(G[j, j])
            total += c
        return total.to(dtype=gramian.dtype, device=gramian.device)
