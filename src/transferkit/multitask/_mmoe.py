"""Multi-gate mixture of experts.

Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts", KDD 2018, Eq. 5-6: ``y_k = h_k(sum_i g_k(x)_i f_i(x))`` with
``g_k(x) = softmax(W_gk x)`` a per-task gate over ``num_experts`` shared experts.
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

__all__ = ["MMoE"]


@register("mtl_architecture", "mmoe")
class MMoE(MultiTaskModel):
    """MMoE (Ma et al. 2018): experts are independently initialised copies of ``backbone``.

    Args:
        input_dim: size of the flattened input the gates read (``prod(input shape)``).
        num_experts: number of experts (> 0).
    """

    def __init__(
        self,
        backbone: Backbone | str,
        tasks: Sequence[Task],
        input_dim: int,
        num_experts: int = 4,
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if num_experts <= 0:
            raise ConfigError(f"num_experts must be > 0, got {num_experts}")
        if input_dim <= 0:
            raise ConfigError(f"input_dim must be > 0, got {input_dim}")
        self.tasks = check_tasks(tasks)
        base = resolve_backbone(backbone, backbone_params)
        if hasattr(base, "reset_head"):
            base.reset_head(0)
        self.experts = nn.ModuleList([fresh_copy(base, reinit=i > 0) for i in range(num_experts)])
        self.gates = nn.ModuleDict({t.name: nn.Linear(int(input_dim), num_experts) for t in self.tasks})
        self.heads = nn.ModuleDict({t.name: t.make_head(base.feature_dim) for t in self.tasks})
        self.input_dim = int(input_dim)
        self.last_gates: dict[str, Tensor] = {}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        flat = torch.flatten(x, 1)
        if flat.shape[1] != self.input_dim:
            raise ValueError(f"MMoE gates expect {self.input_dim} input features, got {flat.shape[1]}")
        E = torch.stack([e.features(x) for e in self.experts], 1)  # [N, E, D]
        out = {}
        for t in self.tasks:
            g = torch.softmax(self.gates[t.name](flat), -1)  # [N, E]
            self.last_gates[t.name] = g.detach()
            out[t.name] = self.heads[t.name]((g.unsqueeze(-1) * E).sum(1))
        return out

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return self.experts.parameters()

    def task_parameters(self) -> Iterator[nn.Parameter]:
        return iter([*self.gates.parameters(), *self.heads.parameters()])
