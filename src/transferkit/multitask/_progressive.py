"""Progressive neural networks.

Rusu et al., "Progressive Neural Networks", 2016, Eq. 1: a new column per task;
``h_i^(k) = f(W_i^(k) h_{i-1}^(k) + sum_{j<k} U_i^(k:j) h_{i-1}^(j))``. Earlier columns are
frozen when a later task is trained (:meth:`ProgressiveNet.start_task`), so old tasks are
never forgotten, and lateral adapters ``U`` reuse their features.

Here layer ``i`` is the backbone's ``i``-th layer group; the lateral contribution is added to the
group's output (after its non-linearity, a simplification for arbitrary groups). Adapters map
``[N, C, H, W]`` sources by a 1x1 convolution plus adaptive average pooling, and flat sources by
a linear layer; ``input_shape`` (one sample's shape) is used to size them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register
from ..backbones._base import Backbone
from ..exceptions import ConfigError
from ._arch_base import MultiTaskModel, check_tasks, fresh_copy, resolve_backbone
from ._task import Task

__all__ = ["ProgressiveNet"]


class _Lateral(nn.Module):
    def __init__(self, src: torch.Size, dst: torch.Size):
        super().__init__()
        self.dst = tuple(dst)
        if len(src) == 3 and len(dst) == 3:
            self.op: nn.Module = nn.Conv2d(src[0], dst[0], 1)
        else:
            self.op = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(src).prod()), int(torch.tensor(dst).prod())))

    def forward(self, h: Tensor) -> Tensor:
        out = self.op(h)
        if out.dim() == 4:
            return F.adaptive_avg_pool2d(out, self.dst[1:])
        return out.reshape(out.shape[0], *self.dst)


@register("mtl_architecture", "progressive")
class ProgressiveNet(MultiTaskModel):
    """Progressive nets (Rusu et al. 2016): one column per task, lateral connections.

    Args:
        input_shape: one input sample's shape (e.g. ``(1, 28, 28)``), to size the adapters.
    """

    def __init__(
        self,
        backbone: Backbone | str,
        tasks: Sequence[Task],
        input_shape: Sequence[int],
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.tasks = check_tasks(tasks)
        base = resolve_backbone(backbone, backbone_params)
        self.columns = nn.ModuleList(
            [nn.ModuleList(fresh_copy(base, reinit=i > 0).layer_groups()) for i in range(len(self.tasks))]
        )
        with torch.no_grad():
            h = torch.zeros(2, *input_shape)
            shapes = [h.shape[1:]]
            for g in self.columns[0]:
                h = g(h)
                shapes.append(h.shape[1:])
        self.shapes = shapes
        # laterals[k][i-1][j]: from column j's output of group i-1 into column k's group i
        self.laterals = nn.ModuleList(
            [
                nn.ModuleList(
                    [
                        nn.ModuleList([_Lateral(shapes[i], shapes[i + 1]) for _ in range(k)])
                        for i in range(1, len(self.columns[0]))
                    ]
                )
                for k in range(len(self.tasks))
            ]
        )
        self.heads = nn.ModuleDict({t.name: t.make_head(base.feature_dim) for t in self.tasks})
        self.active_task = len(self.tasks) - 1

    def start_task(self, k: int) -> None:
        """Train column ``k``: freeze columns, laterals and heads of tasks ``< k``."""
        if not 0 <= k < len(self.tasks):
            raise ConfigError(f"task index must be in [0, {len(self.tasks) - 1}], got {k}")
        for j, t in enumerate(self.tasks):
            trainable = j >= k
            for mod in (self.columns[j], self.laterals[j], self.heads[t.name]):
                for p in mod.parameters():
                    p.requires_grad_(trainable)
        self.active_task = k

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        acts: list[list[Tensor]] = []  # acts[k][i] = column k's output of group i
        out = {}
        for k, (col, t) in enumerate(zip(self.columns, self.tasks)):
            h, mine = x, []
            for i, g in enumerate(col):
                y = g(h)
                if i >= 1:
                    for j in range(k):
                        y = y + self.laterals[k][i - 1][j](acts[j][i - 1])
                mine.append(y)
                h = y
            acts.append(mine)
            out[t.name] = self.heads[t.name](torch.flatten(h, 1))
        return out

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return iter(())

    def task_parameters(self) -> Iterator[nn.Parameter]:
        return self.parameters()

    def last_shared_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError("progressive nets share no layer (GradNorm needs one)")
