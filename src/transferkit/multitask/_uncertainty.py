"""Homoscedastic uncertainty weighting.

Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene
Geometry and Semantics", CVPR 2018. With learnable ``s_i = log sigma_i^2``:

* regression task (Eq. 5 with the Gaussian likelihood): ``1/(2 sigma_i^2) L_i + log sigma_i``
  ``= 0.5 exp(-s_i) L_i + 0.5 s_i``;
* classification task (Eq. 10, softmax with temperature): ``1/sigma_i^2 L_i + log sigma_i``
  ``= exp(-s_i) L_i + 0.5 s_i``.

``weights`` is the loss multiplier (``0.5 exp(-s)`` or ``exp(-s)``). A task's type follows its
loss: :func:`kendall_task_type` maps a :class:`~transferkit.multitask.Task` kind to it::

    UncertaintyWeighting(len(tasks), task_types=[kendall_task_type(t.kind) for t in tasks])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from .._registry import register
from ._weighting_base import Weighting, stack_losses

__all__ = ["TaskType", "UncertaintyWeighting", "kendall_task_type"]

TaskType = Literal["regression", "classification"]

#: Task kinds (:data:`~transferkit.multitask.TASK_KINDS`) by the likelihood of their loss:
#: squared error = Gaussian (eq. 5, factor 1/2); cross-entropy = softmax/sigmoid (eq. 10, 1).
_KIND_TO_TYPE: dict[str, TaskType] = {
    "regression": "regression",
    "dense_regression": "regression",
    "classification": "classification",
    "dense_classification": "classification",
    "multilabel": "classification",
}


def kendall_task_type(kind: str) -> TaskType:
    """The Kendall et al. task type of a :class:`~transferkit.multitask.Task` kind."""
    try:
        return _KIND_TO_TYPE[kind]
    except KeyError:
        raise ValueError(
            f"no uncertainty task type for task kind '{kind}'; known kinds: "
            f"{', '.join(_KIND_TO_TYPE)}"
        ) from None


@register("weighting", "uncertainty")
class UncertaintyWeighting(Weighting):
    """Kendall et al. 2018 uncertainty weighting; ``log_vars`` are learnable (init ``init``).

    Args:
        num_tasks: number of tasks ``m``.
        task_types: per task ``"regression"`` (Gaussian likelihood, eq. 5: factor 1/2) or
            ``"classification"`` (softmax likelihood, eq. 10: factor 1); default all
            ``"classification"``. :func:`kendall_task_type` gives it from a task's kind.
        init: initial ``log sigma^2`` (0: unit variance).
    """

    def __init__(
        self, num_tasks: int, task_types: Sequence[TaskType] | None = None, init: float = 0.0
    ) -> None:
        super().__init__()
        if num_tasks <= 0:
            raise ValueError(f"num_tasks must be > 0, got {num_tasks}")
        if isinstance(task_types, str):
            raise ValueError(
                f"task_types must be a sequence with one entry per task, got the string '{task_types}'"
            )
        types = list(task_types) if task_types is not None else ["classification"] * num_tasks
        if len(types) != num_tasks:
            raise ValueError(f"task_types has {len(types)} entries but num_tasks is {num_tasks}")
        for t in types:
            if t not in ("regression", "classification"):
                raise ValueError(f"task_types entries must be 'regression' or 'classification', got '{t}'")
        self.num_tasks = num_tasks
        self.task_types = types
        self.log_vars = nn.Parameter(torch.full((num_tasks,), float(init)))
        self.register_buffer(
            "_factor", torch.tensor([0.5 if t == "regression" else 1.0 for t in types])
        )

    @property
    def weights(self) -> Tensor:
        return (self._factor * torch.exp(-self.log_vars)).detach()

    def forward(self, losses: Sequence[Tensor] | Tensor) -> Tensor:
        L = stack_losses(losses, self.num_tasks)
        s = self.log_vars.to(L.dtype)
        return (self._factor.to(L.dtype) * torch.exp(-s) * L + 0.5 * s).sum()
