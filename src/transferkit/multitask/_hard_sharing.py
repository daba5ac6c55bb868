"""Hard parameter sharing: one shared encoder, one head per task (Caruana 1997)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from torch import Tensor, nn

from .._registry import register
from ..backbones._base import Backbone
from ._arch_base import MultiTaskModel, check_tasks, resolve_backbone
from ._task import Task

__all__ = ["HardSharing"]


@register("mtl_architecture", "hard_sharing")
class HardSharing(MultiTaskModel):
    """Shared backbone ``features`` + per-task heads (``Task.make_head(feature_dim)``).

    The backbone's own head is dropped. ``last_shared_parameters`` is the last layer group
    (GradNorm's ``W``); ``forward_with_representation`` returns the shared features (MGDA-UB).
    """

    def __init__(
        self,
        backbone: Backbone | str,
        tasks: Sequence[Task],
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.tasks = check_tasks(tasks)
        self.backbone = resolve_backbone(backbone, backbone_params)
        if hasattr(self.backbone, "reset_head"):
            self.backbone.reset_head(0)
        self.heads = nn.ModuleDict({t.name: t.make_head(self.backbone.feature_dim) for t in self.tasks})

    def forward_with_representation(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        z = self.backbone.features(x)
        return z, {name: head(z) for name, head in self.heads.items()}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.forward_with_representation(x)[1]

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return self.backbone.parameters()

    def task_parameters(self) -> Iterator[nn.Parameter]:
        return self.heads.parameters()

    def last_shared_parameters(self) -> list[nn.Parameter]:
        groups = self.backbone.layer_groups()
        for g in reversed(groups):
            params = [p for p in g.parameters() if p.requires_grad]
            if params:
                return params
        return list(self.backbone.parameters())
