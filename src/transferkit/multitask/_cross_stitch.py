"""Cross-stitch networks.

Misra, Shrivastava, Gupta & Hebert, "Cross-stitch Networks for Multi-task Learning", CVPR 2016:
one network per task; after chosen layers the activations are linearly mixed,
``x~_i = sum_j alpha_ij x_j`` (their Eq. 1), with ``alpha`` learnt and initialised to
``alpha_S`` on the diagonal and ``alpha_D`` off it (paper: ``(0.9, 0.1)`` for two tasks; here the
off-diagonal mass ``1 - alpha_S`` is split over the other tasks so rows sum to 1).

Works for any backbone whose ``features(x)`` applies its ``layer_groups()`` in order and then
flattens (every :class:`~transferkit.backbones.SequentialBackbone`); units sit after the layer
groups listed in ``stitch_after`` (default: every boundary).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .._registry import register
from ..backbones._base import Backbone
from ..exceptions import ConfigError
from ._arch_base import MultiTaskModel, check_tasks, fresh_copy, resolve_backbone
from ._task import Task

__all__ = ["CrossStitch"]


@register("mtl_architecture", "cross_stitch")
class CrossStitch(MultiTaskModel):
    """Cross-stitch network (Misra et al. 2016) over a backbone's layer groups.

    Args:
        stitch_after: indices of layer groups after which a unit mixes the towers
            (default: all but the last group).
        alpha_self: initial diagonal weight ``alpha_S`` (paper: 0.9).
    """

    def __init__(
        self,
        backbone: Backbone | str,
        tasks: Sequence[Task],
        stitch_after: Sequence[int] | None = None,
        alpha_self: float = 0.9,
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.tasks = check_tasks(tasks)
        base = resolve_backbone(backbone, backbone_params)
        n_groups = len(base.layer_groups())
        after = list(range(n_groups - 1)) if stitch_after is None else [int(i) for i in stitch_after]
        for i in after:
            if not 0 <= i < n_groups:
                raise ConfigError(
                    f"stitch_after index {i} is outside the backbone's {n_groups} layer groups"
                )
        if not 0.0 <= alpha_self <= 1.0:
            raise ConfigError(f"alpha_self must be in [0, 1], got {alpha_self}")
        self.stitch_after = sorted(set(after))
        T = len(self.tasks)
        self.columns = nn.ModuleList(
            [nn.ModuleList(fresh_copy(base, reinit=i > 0).layer_groups()) for i in range(T)]
        )
        off = (1.0 - alpha_self) / (T - 1) if T > 1 else 0.0
        init = torch.full((T, T), off) + (alpha_self - off) * torch.eye(T)
        self.alphas = nn.ParameterList([nn.Parameter(init.clone()) for _ in self.stitch_after])
        self.heads = nn.ModuleDict({t.name: t.make_head(base.feature_dim) for t in self.tasks})

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        hs = [x] * len(self.tasks)
        n_groups = len(self.columns[0])
        for g in range(n_groups):
            hs = [col[g](h) for col, h in zip(self.columns, hs)]
            if g in self.stitch_after:
                a = self.alphas[self.stitch_after.index(g)]
                stacked = torch.stack(hs)  # [T, N, ...]
                mixed = torch.tensordot(a, stacked, dims=([1], [0]))
                hs = list(mixed.unbind(0))
        return {t.name: self.heads[t.name](torch.flatten(h, 1)) for t, h in zip(self.tasks, hs)}

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return iter(self.alphas)

    def task_parameters(self) -> Iterator[nn.Parameter]:
        return iter([*self.columns.parameters(), *self.heads.parameters()])
