"""Dynamic Weight Average.

Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019, Eq. 7:

    w_i(t) = K exp(r_i(t-1)/T) / sum_k exp(r_k(t-1)/T),   r_i(t-1) = L_i(t-1) / L_i(t-2)

with ``L_i`` the average loss over an epoch; ``w = 1`` for the first two epochs.
The caller feeds each finished epoch's mean losses to :meth:`DWA.step`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._registry import register
from ._weighting_base import Weighting

__all__ = ["DWA"]


@register("weighting", "dwa")
class DWA(Weighting):
    """DWA (Liu et al. 2019, Eq. 7); temperature ``T = 2`` as in the paper.

    State: the mean losses of the last two epochs, updated by :meth:`step`.
    """

    def __init__(self, num_tasks: int, temperature: float = 2.0) -> None:
        super().__init__()
        if num_tasks <= 0:
            raise ValueError(f"num_tasks must be > 0, got {num_tasks}")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.num_tasks = num_tasks
        self.temperature = float(temperature)
        self.register_buffer("history", torch.full((2, num_tasks), float("nan")))
        self.register_buffer("_w", torch.ones(num_tasks))

    @property
    def weights(self) -> Tensor:
        return self._w

    def step(self, epoch_losses: Sequence[float] | Tensor) -> Tensor:
        """Record one finished epoch's mean task losses; returns the weights for the next epoch."""
        L = torch.as_tensor(epoch_losses, dtype=torch.float32).reshape(-1)
        if L.shape[0] != self.num_tasks:
            raise ValueError(f"expected {self.num_tasks} epoch losses, got {L.shape[0]}")
        self.history[0] = self.history[1].clone()
        self.history[1] = L
        if torch.isfinite(self.history).all():
            r = self.history[1] / self.history[0].clamp(min=1e-12)
            self._w = self.num_tasks * torch.softmax(r / self.temperature, 0)
        return self._w
