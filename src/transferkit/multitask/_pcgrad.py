"""PCGrad: projecting conflicting gradients.

Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1: for every
task ``i``, visit the other tasks in a random order and, when ``g_i^PC . g_j < 0``, remove from
``g_i^PC`` its projection on ``g_j``; the update is ``sum_i g_i^PC``. Each ``g_i^PC`` stays a
linear combination of the gradients, so the update is ``J^T w`` and only the Gramian is needed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["PCGrad"]


@register("aggregator", "pcgrad")
class PCGrad(Aggregator):
    """PCGrad (Yu et al. 2020, Alg. 1); the update is the *sum* of projected gradients.

    The random task orders come from a ``torch.Generator`` this aggregator owns, seeded with
    ``seed`` at construction: calls never read or advance torch's global RNG, and two
    ``PCGrad(seed=s)`` draw the same sequence of orders (one ``torch.randperm(m)`` per task, in
    task order, per call; the paper draws a fresh order at every step, so successive calls on
    the same Jacobian may differ). :meth:`reset` rewinds the stream to ``seed``.

    Args:
        seed: seed of the aggregator's own generator (any int; default 0).
    """

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed)

    def reset(self) -> None:
        """Rewind the task-order stream to its start (``seed``)."""
        self._generator.manual_seed(self.seed)

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        G = gramian.detach().cpu().double().numpy()
        m = G.shape[0]
        # the m random orders, drawn as before: one randperm per task, in task order
        orders = np.stack([torch.randperm(m, generator=self._generator).numpy() for _ in range(m)])
        # row i of C holds the coefficients of g_i^PC = C[i] @ J; the m projections run side by
        # side, one position of the random orders at a time (m vectorised steps, not m^2 loops)
        C = np.eye(m)
        rows = np.arange(m)
        diag = np.diag(G)
        for k in range(m):
            j = orders[:, k]
            dot = np.einsum("ij,ij->i", G[j], C)  # g_i^PC . g_j for every i
            hit = (dot < 0.0) & (j != rows)
            C[rows[hit], j[hit]] -= dot[hit] / diag[j[hit]]
        return torch.as_tensor(C.sum(0), dtype=gramian.dtype, device=gramian.device)
