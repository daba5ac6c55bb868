"""Soft parameter sharing: one tower per task, a penalty on the distance between towers.

* ``penalty="l2"``: ``sum_{i<j} |theta_i^l - theta_j^l|_2^2`` over corresponding parameters
  (Duong et al., "Low Resource Dependency Parsing: Cross-lingual Parameter Sharing", ACL 2015).
* ``penalty="trace_norm"``: for each layer, the trace (nuclear) norm of the ``[T, P]`` matrix
  stacking the towers' flattened parameters, a matrix unfolding of the tensor trace norm of
  Yang & Hospedales, "Trace Norm Regularised Deep Multi-Task Learning", ICLR-W 2017.
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

__all__ = ["SoftSharing"]


@register("mtl_architecture", "soft_sharing")
class SoftSharing(MultiTaskModel):
    """Per-task copies of ``backbone`` coupled by ``strength * penalty`` (``regularization()``).

    Args:
        penalty: ``"l2"`` or ``"trace_norm"``.
        strength: multiplier of the penalty (> 0).
        same_init: start every tower from the same weights (distance 0 at step 0).
    """

    def __init__(
        self,
        backbone: Backbone | str,
        tasks: Sequence[Task],
        penalty: str = "l2",
        strength: float = 1e-3,
        same_init: bool = True,
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if penalty not in ("l2", "trace_norm"):
            raise ConfigError(f"penalty must be 'l2' or 'trace_norm', got '{penalty}'")
        if strength <= 0:
            raise ConfigError(f"strength must be > 0, got {strength}")
        self.tasks = check_tasks(tasks)
        base = resolve_backbone(backbone, backbone_params)
        if hasattr(base, "reset_head"):
            base.reset_head(0)
        self.penalty, self.strength = penalty, float(strength)
        self.towers = nn.ModuleDict(
            {t.name: fresh_copy(base, reinit=not same_init and i > 0) for i, t in enumerate(self.tasks)}
        )
        self.heads = nn.ModuleDict({t.name: t.make_head(base.feature_dim) for t in self.tasks})

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return {n: self.heads[n](self.towers[n].features(x)) for n in self.task_names}

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return iter(())

    def task_parameters(self) -> Iterator[nn.Parameter]:
        return self.parameters()

    def last_shared_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError("soft parameter sharing has no shared layer (GradNorm needs one)")

    def distance(self) -> Tensor:
        """The un-scaled penalty between corresponding tower parameters."""
        named = [dict(t.named_parameters()) for t in self.towers.values()]
        total = torch.zeros((), device=next(self.parameters()).device)
        for key in named[0]:
            M = torch.stack([n[key].reshape(-1) for n in named])  # [T, P]
            if self.penalty == "l2":
                diff = M[:, None, :] - M[None, :, :]
                total = total + 0.5 * (diff**2).sum()  # each pair counted once
            else:
                total = total + torch.linalg.matrix_norm(M, ord="nuc")
        return total

    def regularization(self) -> Tensor:
        return self.strength * self.distance()
