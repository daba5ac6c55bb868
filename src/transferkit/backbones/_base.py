"""The backbone protocol every algorithm in transferkit relies on.

A backbone is an ``nn.Module`` with

* ``features(x) -> Tensor[N, D]``: the representation, ``D == feature_dim``;
* ``head``: the output layer mapping features to outputs (``nn.Identity`` when it has none);
* ``reset_head(num_outputs)``: replace the head (0 gives ``nn.Identity``);
* ``layer_groups() -> list[nn.Module]``: the encoder's blocks ordered input -> output, the head
  *not* included. Freezing, gradual unfreezing and layer-wise learning rates act on these;
* ``forward(x) == head(features(x))``.

A backbone in train mode keeps every sub-module whose parameters are all frozen in eval mode
(:func:`eval_frozen_modules`): a frozen layer computes what the pretrained one did (batch-norm
statistics fixed, dropout off), however often a training loop calls ``model.train()``.

:class:`SequentialBackbone` implements it for any list of blocks; wrappers for torchvision,
timm and Hugging Face models implement the same five members.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["Backbone", "SequentialBackbone", "eval_frozen_modules"]


def _all_frozen(module: nn.Module) -> bool:
    params = list(module.parameters())
    return bool(params) and not any(p.requires_grad for p in params)


def eval_frozen_modules(module: nn.Module) -> None:
    """Put every sub-module of ``module`` whose parameters are all frozen in eval mode.

    Only sets eval; modules with a trainable parameter (and those without parameters) keep
    their mode. ``module.train()`` followed by this call gives the fine-tuning rule: a
    sub-module is in eval mode iff all its parameters are frozen.
    """
    if _all_frozen(module):
        module.eval()
        return
    for child in module.children():
        eval_frozen_modules(child)


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

    def train(self, mode: bool = True) -> Backbone:
        """Set train or eval mode; in train mode fully frozen sub-modules stay in eval mode."""
        super().train(mode)
        if mode:
            eval_frozen_modules(self)
        return self

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
