"""Task descriptions and masked losses/metrics for multi-task learning.

A sample may lack labels for some tasks, and a multi-label target may mark single labels as
unknown. The loss of a task averages over its *labelled entries only*; a task with no labelled
entry in a batch yields a finite zero loss whose gradient is exactly zero (no NaN from 0/0).

Missing labels are marked by

* classification (single-label): target ``-1`` (or any negative integer, ``ignore_index``);
* multi-label / regression / dense: ``NaN`` in a float target, or an explicit boolean ``mask``
  (``True`` = labelled) passed to :func:`masked_loss`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..exceptions import ConfigError

__all__ = ["TASK_KINDS", "Task", "label_mask", "masked_loss", "masked_metric"]

#: Loss kinds a :class:`Task` can take.
TASK_KINDS = ("classification", "multilabel", "regression", "dense_classification", "dense_regression")

_DEFAULT_METRICS = {
    "classification": ("accuracy",),
    "multilabel": ("accuracy",),
    "regression": ("mse", "mae"),
    "dense_classification": ("accuracy",),
    "dense_regression": ("mse",),
}
_HIGHER_IS_BETTER = {"accuracy": True, "mse": False, "mae": False, "rmse": False, "loss": False}


@dataclass
class Task:
    """One task of a multi-task problem.

    Args:
        name: unique task name; outputs and targets are dicts keyed by it.
        out_dim: output size of the task head (classes for classification, labels for
            multi-label, targets for regression, channels for dense tasks).
        kind: one of :data:`TASK_KINDS`. ``dense_*`` losses act per position on ``[N, C, ...]``.
        head: optional factory ``head(in_dim) -> nn.Module``; default ``nn.Linear(in_dim, out_dim)``.
        metrics: metric names reported for this task (``accuracy``, ``mse``, ``mae``, ``rmse``).
        main_metric: the metric used for model selection and Δm; default ``metrics[0]``.
        higher_is_better: direction of ``main_metric``; default from the metric name.
        auxiliary: an auxiliary task is trained but excluded from model selection and Δm and
            reported separately.
        weight: a fixed prior weight (used by :class:`~transferkit.multitask.FixedWeighting`).
    """

    name: str
    out_dim: int
    kind: str = "classification"
    head: Callable[[int], nn.Module] | None = field(default=None, repr=False)
    metrics: Sequence[str] | None = None
    main_metric: str | None = None
    higher_is_better: bool | None = None
    auxiliary: bool = False
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("task name must be a non-empty string")
        if self.kind not in TASK_KINDS:
            raise ConfigError(f"task '{self.name}': kind must be one of {TASK_KINDS}, got '{self.kind}'")
        if int(self.out_dim) <= 0:
            raise ConfigError(f"task '{self.name}': out_dim must be > 0, got {self.out_dim}")
        if self.weight < 0:
            raise ConfigError(f"task '{self.name}': weight must be >= 0, got {self.weight}")
        self.metrics = tuple(self.metrics or _DEFAULT_METRICS[self.kind])
        for m in self.metrics:
            if m not in _HIGHER_IS_BETTER:
                raise ConfigError(
                    f"task '{self.name}': unknown metric '{m}'; valid: {sorted(_HIGHER_IS_BETTER)}"
                )
        self.main_metric = self.main_metric or self.metrics[0]
        if self.higher_is_better is None:
            self.higher_is_better = _HIGHER_IS_BETTER[self.main_metric]

    def make_head(self, in_dim: int) -> nn.Module:
        return self.head(in_dim) if self.head is not None else nn.Linear(in_dim, int(self.out_dim))

    def loss(self, output: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        return masked_loss(output, target, self.kind, mask)

    def metric(self, name: str, output: Tensor, target: Tensor) -> tuple[float, int]:
        return masked_metric(name, output, target, self.kind)


def label_mask(target: Tensor, kind: str) -> Tensor:
    """Boolean mask (``True`` = labelled) of ``target``'s entries for a task of ``kind``."""
    if kind in ("classification", "dense_classification"):
        if target.is_floating_point():
            return torch.isfinite(target) & (target >= 0)
        return target >= 0
    return torch.isfinite(target) & (target >= 0 if kind == "multilabel" else True)


def _safe_mean(values: Tensor, mask: Tensor) -> Tensor:
    # masked entries are replaced (not multiplied) so NaN targets never reach the graph
    values = torch.where(mask, values, torch.zeros_like(values))
    return values.sum() / mask.sum().clamp(min=1)


def masked_loss(output: Tensor, target: Tensor, kind: str, mask: Tensor | None = None) -> Tensor:
    """Mean loss of ``kind`` over the labelled entries of ``target`` (see module docstring).

    ``classification``: cross-entropy, ``output [N, C]``, ``target [N]`` int (``<0`` = missing).
    ``multilabel``: binary cross-entropy with logits, ``output``/``target`` ``[N, L]`` in {0, 1}
    (NaN or ``-1`` = unknown). ``regression``: squared error, ``target [N]`` or ``[N, K]``
    (NaN = missing). ``dense_classification``: ``output [N, C, *S]``, ``target [N, *S]``.
    ``dense_regression``: ``output``/``target`` ``[N, C, *S]``.
    """
    if kind not in TASK_KINDS:
        raise ConfigError(f"loss kind must be one of {TASK_KINDS}, got '{kind}'")
    m = label_mask(target, kind) if mask is None else mask.to(torch.bool)
    if kind in ("classification", "dense_classification"):
        if output.shape[0] != target.shape[0] or output.shape[2:] != target.shape[1:]:
            raise ValueError(
                f"{kind} expects output [N, C, ...] and target [N, ...]; got output "
                f"{tuple(output.shape)} and target {tuple(target.shape)}"
            )
        if mask is not None:
            m = m & label_mask(target, kind)
        safe_t = torch.where(m, target, torch.zeros_like(target)).long()
        per = F.cross_entropy(output, safe_t, reduction="none")
        return _safe_mean(per, m)
    if kind == "regression" and output.dim() == 2 and output.shape[1] == 1 and target.dim() == 1:
        target = target[:, None]
        m = m.reshape(target.shape)
    if output.shape != target.shape:
        raise ValueError(
            f"{kind} expects output and target of the same shape; got output "
            f"{tuple(output.shape)} and target {tuple(target.shape)}"
        )
    if mask is not None:
        m = m & label_mask(target, kind)
    safe_t = torch.where(m, target, torch.zeros_like(target)).to(output.dtype)
    if kind == "multilabel":
        per = F.binary_cross_entropy_with_logits(output, safe_t, reduction="none")
    else:
        per = (output - safe_t) ** 2
    return _safe_mean(per, m)


def masked_metric(name: str, output: Tensor, target: Tensor, kind: str) -> tuple[float, int]:
    """``(value, count)``: metric ``name`` over labelled entries and how many there were.

    With no labelled entry the value is ``nan`` and the count 0, so callers can weight batch
    values by their counts.
    """
    with torch.no_grad():
        m = label_mask(target, kind)
        if kind == "regression" and output.dim() == 2 and output.shape[1] == 1 and target.dim() == 1:
            target, m = target[:, None], m[:, None]
        n = int(m.sum())
        if n == 0:
            return float("nan"), 0
        t = torch.where(m, target, torch.zeros_like(target))
        if name == "accuracy":
            if kind in ("classification", "dense_classification"):
                correct = output.argmax(1) == t.long()
            else:  # multilabel
                correct = (output > 0).to(t.dtype) == t
            return float(correct[m].float().mean()), n
        if name == "loss":
            return float(masked_loss(output, target, kind)), n
        err = (output - t)[m]
        if name == "mse":
            return float((err**2).mean()), n
        if name == "rmse":
            return float((err**2).mean().sqrt()), n
        if name == "mae":
            return float(err.abs().mean()), n
    raise ConfigError(f"unknown metric '{name}'; valid: {sorted(_HIGHER_IS_BETTER)}")
