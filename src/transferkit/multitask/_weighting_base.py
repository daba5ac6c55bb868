"""Base class of loss weightings: modules with explicit state that combine task losses.

``weighting(losses) -> total`` returns the scalar to back-propagate; ``weighting.weights`` is
the current weight vector (logged each step). Weightings whose state evolves between steps
(DWA's loss history, GradNorm's renormalisation) are stepped on purpose by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["Weighting", "stack_losses"]


def stack_losses(losses: Sequence[Tensor] | Tensor, num_tasks: int) -> Tensor:
    t = losses if isinstance(losses, Tensor) else torch.stack(list(losses))
    t = t.reshape(-1)
    if t.shape[0] != num_tasks:
        raise ValueError(f"expected {num_tasks} task losses, got {t.shape[0]}")
    return t


class Weighting(nn.Module):
    """Combines ``m`` task losses into one scalar; ``weights`` is the current ``[m]`` vector."""

    num_tasks: int

    @property
    def weights(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, losses: Sequence[Tensor] | Tensor) -> Tensor:
        L = stack_losses(losses, self.num_tasks)
        return (self.weights.to(L.dtype) * L).sum()
