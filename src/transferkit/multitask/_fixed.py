"""Fixed (possibly equal) task weights: ``L = sum_i c_i L_i``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._registry import register
from ._weighting_base import Weighting

__all__ = ["FixedWeighting"]


@register("weighting", "fixed")
class FixedWeighting(Weighting):
    """Constant task weights; ``weights=None`` gives equal weights 1 (the "uniform" baseline)."""

    def __init__(self, num_tasks: int, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if num_tasks <= 0:
            raise ValueError(f"num_tasks must be > 0, got {num_tasks}")
        w = [1.0] * num_tasks if weights is None else [float(x) for x in weights]
        if len(w) != num_tasks:
            raise ValueError(f"weights has {len(w)} entries but num_tasks is {num_tasks}")
        if any(x < 0 for x in w):
            raise ValueError(f"weights must be >= 0, got {w}")
        self.num_tasks = num_tasks
        self.register_buffer("_w", torch.tensor(w))

    @property
    def weights(self) -> Tensor:
        return self._w
