"""Base of multi-task architectures: ``forward(x) -> {task name: output}``.

Every architecture exposes ``shared_parameters()`` (what gradient aggregators act on),
``task_parameters()``, ``last_shared_parameters()`` (GradNorm's ``W``) and
``regularization()`` (a scalar added to the loss; zero unless the architecture couples towers).
Hard sharing additionally gives ``forward_with_representation`` for MGDA-UB.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..backbones._base import Backbone
from ..exceptions import ConfigError
from ._task import Task

__all__ = ["MultiTaskModel", "fresh_copy", "resolve_backbone"]


def resolve_backbone(backbone: Backbone | str, backbone_params: dict[str, Any] | None) -> Backbone:
    if isinstance(backbone, str):
        from ..backbones import create_backbone

        return create_backbone(backbone, num_outputs=0, **(backbone_params or {}))
    if backbone_params:
        raise ConfigError("backbone_params is only accepted with a backbone given by name")
    if not all(hasattr(backbone, a) for a in ("features", "layer_groups", "feature_dim")):
        raise ConfigError(
            f"{type(backbone).__name__} does not follow the backbone protocol "
            "(features, layer_groups, feature_dim)"
        )
    return backbone


def fresh_copy(module: nn.Module, reinit: bool = True) -> nn.Module:
    """A deep copy of ``module``, with freshly initialised parameters if ``reinit``."""
    new = copy.deepcopy(module)
    if reinit:
        for m in new.modules():
            if hasattr(m, "reset_parameters") and m is not new:
                m.reset_parameters()
    return new


def check_tasks(tasks: Sequence[Task]) -> list[Task]:
    tasks = list(tasks)
    if not tasks:
        raise ConfigError("a multi-task model needs at least one task")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError(f"task names must be unique, got {names}")
    return tasks


class MultiTaskModel(nn.Module):
    """Abstract multi-task model (see the module docstring)."""

    tasks: list[Task]

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def forward(self, x: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def shared_parameters(self) -> Iterator[nn.Parameter]:  # pragma: no cover - abstract
        raise NotImplementedError

    def task_parameters(self) -> Iterator[nn.Parameter]:
        shared = {id(p) for p in self.shared_parameters()}
        return (p for p in self.parameters() if id(p) not in shared)

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.shared_parameters())

    def regularization(self) -> Tensor:
        p = next(self.parameters())
        return torch.zeros((), device=p.device, dtype=p.dtype)

    def forward_with_representation(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        raise NotImplementedError(
            f"{type(self).__name__} has no single shared representation; the representation "
            "(MGDA-UB) mode needs hard parameter sharing"
        )
