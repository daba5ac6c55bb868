"""Baseline aggregators: the mean and the sum of the task gradients (equal weighting)."""

from __future__ import annotations

import torch
from torch import Tensor

from .._registry import register
from ._aggregator_base import Aggregator

__all__ = ["Mean", "Sum"]


@register("aggregator", "mean")
class Mean(Aggregator):
    """Average of the task gradients (``w_i = 1/m``)."""

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        m = gramian.shape[0]
        return torch.full((m,), 1.0 / m, dtype=gramian.dtype, device=gramian.device)


@register("aggregator", "sum")
class Sum(Aggregator):
    """Sum of the task gradients (``w_i = 1``): the gradient of the summed loss."""

    def weights(self, gramian: Tensor) -> Tensor:
        self._check_gramian(gramian)
        return torch.ones(gramian.shape[0], dtype=gramian.dtype, device=gramian.device)
