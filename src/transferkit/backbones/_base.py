"""The backbone protocol every algorithm in transferkit relies on.

A backbone is an ``nn.Module`` with

* ``features(x) -> Tensor[N, D]``: the representation, ``D == feature_dim``;
* ``head``: the output layer mapping features to outputs (``nn.Identity`` when it has none);
* ``reset_head(num_outputs)``: replace the head (0 gives ``nn.Identity``);
* ``layer_groups() -> list[nn.Module]``: the encoder's blocks ordered input -> output, the head
  *not* included. Freezing, gradual unfreezing and layer-wise learning rates act on these;
* ``forward(x) == head(features(x))``.

:class:`SequentialBackbone` implements it for any list of blocks; wrappers for torchvision,
timm and Hugging Face models implement the same five members.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["Backbone", "SequentialBackbone"]


class Backbone(nn.Module):
    """Abstract base of the backbone protocol (see the module docstring)."""

    feature_dim: int
    head: nn.Module

    def features(self, x) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def layer_groups(self) -> list[nn.Module]:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset_head(self, num_outputs: int) -> None:
        """Replace the head with a fresh ``Linear(feature_dim, num_outputs)`` (0: identity)."""
        ref = next(self.parameters(), None)
        head: nn.Module = (
            nn.Linear(self.feature_dim, num_outputs) if num_outputs > 0 else nn.Identity()
        )
        if ref is not None:
            head = head.to(device=ref.device, dtype=ref.dtype)
        self.head = head

    @property
    def num_outputs(self) -> int:
        return self.head.out_features if isinstance(self.head, nn.Linear) else 0

    def forward(self, x) -> Tensor:
        return self.head(self.features(x))


class SequentialBackbone(Backbone):
    """A backbone made of blocks applied in order; the output is flattened to ``[N, D]``."""

    def __init__(self, groups: Sequence[nn.Module], feature_dim: int, num_outputs: int = 0):
        super().__init__()
        if not groups:
            raise ValueError("a backbone needs at least one layer group")
        self.blocks = nn.ModuleList(groups)
        self.feature_dim = int(feature_dim)
        self.reset_head(num_outputs)

    def features(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return torch.flatten(x, 1)

    def layer_groups(self) -> list[nn.Module]:
        return list(self.blocks)
