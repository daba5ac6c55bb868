"""Multi-task training on Lightning: a module that composes an architecture and a balancer.

:class:`MultiTaskModule` holds no algorithm logic: the architecture (``forward``), the tasks'
masked losses, and a *balancer* — a loss :class:`~transferkit.multitask.Weighting`, GradNorm,
or a gradient :class:`~transferkit.multitask.Aggregator` applied by
:func:`~transferkit.multitask.mtl_backward` — do the work. Optimisation is manual (aggregators
write ``.grad`` themselves), and the task weights chosen at every step are logged
(``weight/<task>``) and kept in ``weight_history``.

Several processes (DDP, ``devices > 1``): loss-level weightings back-propagate one scalar and
DDP averages the gradients as usual. Aggregators (MGDA, PCGrad, ...) and GradNorm compute task
gradients with ``torch.autograd.grad``, which DDP's hooks do not see, so the module hands them
:func:`~transferkit.multitask.mean_over_processes`: the task Jacobians (or Gramians) are
averaged over the processes *before* aggregation and every process takes the same step. DWA's
epoch losses are averaged the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .._utils import count_parameters
from ..data.multitask import MultiTaskDataset
from ..multitask import (
    DWA,
    Aggregator,
    GradNorm,
    MultiTaskModel,
    Task,
    Weighting,
    mean_over_processes,
    mtl_backward,
)
from ..multitask._backward import reduce_grads
from ._fit import quietly

__all__ = [
    "TaskAffinityRecorder",
    "MultiTaskFitResult",
    "MultiTaskModule",
    "evaluate_multitask",
    "fit_multitask",
    "tasks_from_data",
]


class _MTDataset(Dataset):
    def __init__(self, data: MultiTaskDataset, names: Sequence[str]):
        self.X = torch.from_numpy(np.ascontiguousarray(data.X))
        self.Y = {n: torch.from_numpy(np.ascontiguousarray(data.targets[n])) for n in names}

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        return self.X[i], {n: y[i] for n, y in self.Y.items()}

    def __getitems__(self, idx: list[int]):
        t = torch.as_tensor(idx)
        return [(self.X[t], {n: y[t] for n, y in self.Y.items()})]


def _loader(data: MultiTaskDataset, names: Sequence[str], batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    return DataLoader(
        _MTDataset(data, names), batch_size=batch_size, shuffle=shuffle, generator=g,
        collate_fn=lambda b: b[0],
    )


def tasks_from_data(data: MultiTaskDataset, auxiliary: Sequence[str] = ()) -> list[Task]:
    """One :class:`Task` per target of ``data`` (``auxiliary`` names flagged auxiliary)."""
    return [
        Task(n, data.num_outputs[n], kind=data.kinds[n], auxiliary=n in auxiliary) for n in data.task_names
    ]


class MultiTaskModule(L.LightningModule):
    """LightningModule: ``model`` + ``tasks`` + a balancer (weighting or aggregator).

    Args:
        model: a :class:`~transferkit.multitask.MultiTaskModel`.
        tasks: the tasks, in the order of the balancer's weights.
        balancer: a ``Weighting`` (incl. ``GradNorm``) or an ``Aggregator``.
        representation_mode: with an aggregator, take weights from the shared representation
            (MGDA-UB style, hard sharing only) instead of the full shared-parameter Jacobian.
        lr, optimizer, weight_decay: the optimiser (``"adam"`` or ``"sgd"`` with momentum 0.9).
    """

    def __init__(
        self,
        model: MultiTaskModel,
        tasks: Sequence[Task],
        balancer: Weighting | Aggregator,
        representation_mode: bool = False,
        lr: float = 1e-3,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got '{optimizer}'")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.automatic_optimization = False
        self.model = model
        self.tasks = list(tasks)
        self.balancer = balancer
        if isinstance(balancer, Weighting):
            self.weighting = balancer  # registered as a sub-module: its parameters train
        self.representation_mode = bool(representation_mode)
        self.lr, self.optimizer_name, self.weight_decay = float(lr), optimizer, float(weight_decay)
        self.weight_history: list[list[float]] = []
        self._epoch_losses: list[list[float]] = []

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.model(x)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        if self.optimizer_name == "adam":
            return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(params, lr=self.lr, momentum=0.9, weight_decay=self.weight_decay)

    def task_losses(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> list[Tensor]:
        return [t.loss(outputs[t.name], targets[t.name]) for t in self.tasks]

    def _all_reduce(self):
        """``mean_over_processes`` when the trainer runs several processes, else ``None``."""
        trainer = self._trainer
        return mean_over_processes if trainer is not None and trainer.world_size > 1 else None

    def _backward_regularization(self, reg: Tensor, sync) -> None:
        # the regulariser depends on the parameters only, which are identical in every process:
        # a plain backward (outside DDP's hooks, like the task gradients) keeps the replicas equal
        if sync is None:
            self.manual_backward(reg)
        else:
            reg.backward()

    def training_step(self, batch, batch_idx: int) -> Tensor:
        x, targets = batch
        opt = self.optimizers()
        opt.zero_grad()
        b = self.balancer
        sync = self._all_reduce()
        if isinstance(b, Aggregator):
            if self.representation_mode:
                z, outputs = self.model.forward_with_representation(x)
            else:
                z, outputs = None, self.model(x)
            losses = self.task_losses(outputs, targets)
            reg = self.model.regularization()
            w = mtl_backward(
                losses, self.model.shared_parameters(), b, self.model.task_parameters(),
                representation=z, retain_graph=bool(reg.requires_grad), all_reduce=sync,
            )
            if reg.requires_grad:
                self._backward_regularization(reg, sync)
            total = sum(wi * loss.detach() for wi, loss in zip(w, losses))
        elif isinstance(b, GradNorm):
            outputs = self.model(x)
            losses = self.task_losses(outputs, targets)
            total = b.backward(losses, self.model.last_shared_parameters(), all_reduce=sync)
            if sync is not None:  # Tensor.backward inside GradNorm bypasses DDP's hooks
                params = [p for p in self.model.parameters() if p.requires_grad]
                for p, g in zip(params, reduce_grads(params, [p.grad for p in params], sync)):
                    p.grad = g
            reg = self.model.regularization()
            if reg.requires_grad:
                self._backward_regularization(reg, sync)
            w = b.weights
        else:
            outputs = self.model(x)
            losses = self.task_losses(outputs, targets)
            total = b(losses) + self.model.regularization()
            self.manual_backward(total)
            w = b.weights
        opt.step()
        if isinstance(b, GradNorm):
            b.renormalize()
        w_list = [float(v) for v in w.detach().cpu()]
        self.weight_history.append(w_list)
        self._epoch_losses.append([float(loss.detach()) for loss in losses])
        for t, v in zip(self.tasks, w_list):
            self.log(f"weight/{t.name}", v, on_step=True, on_epoch=False)
        for t, loss in zip(self.tasks, losses):
            self.log(f"train_loss/{t.name}", loss.detach(), on_step=False, on_epoch=True, sync_dist=True)
        return total.detach() if isinstance(total, Tensor) else torch.tensor(float(total))

    def on_train_epoch_end(self) -> None:
        if self._epoch_losses and isinstance(self.balancer, DWA):
            means = torch.tensor(np.mean(self._epoch_losses, 0), dtype=torch.float64)
            sync = self._all_reduce()
            if sync is not None:  # every process must see the same loss history
                means = sync(means)
            self.balancer.step(means.tolist())
        self._epoch_losses = []


class TaskAffinityRecorder(L.Callback):
    """Records TAG's look-ahead inter-task affinities during multi-task training.

    Every ``every`` training steps, before the step, :func:`transferkit.transferability.
    lookahead_affinity` steps the shared trunk on each task's loss alone (on copies, the model
    is untouched) and measures every task's loss change (Fifty et al., NeurIPS 2021). ``mean()``
    is the affinity matrix averaged over the recorded steps; ``seconds`` its cost. Hard sharing
    only (a trunk with one head per task).
    """

    def __init__(self, every: int, lr: float) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.every, self.lr = int(every), float(lr)
        self.matrices: list[np.ndarray] = []
        self.seconds = 0.0
        self._step = 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx: int) -> None:
        self._step += 1
        if (self._step - 1) % self.every:
            return
        from ..transferability import lookahead_affinity

        model = module.model
        if not hasattr(model, "heads") or not hasattr(model, "backbone"):
            raise ValueError("TAG affinities need a hard-sharing model (a shared backbone and one head per task)")
        x, targets = batch
        t0 = time.perf_counter()
        losses = {t.name: (lambda out, y, t=t: t.loss(out, y)) for t in module.tasks}
        heads = {t.name: model.heads[t.name] for t in module.tasks}
        self.matrices.append(lookahead_affinity(model.backbone, heads, losses, x, targets, lr=self.lr))
        self.seconds += time.perf_counter() - t0

    def mean(self) -> np.ndarray | None:
        return np.nanmean(np.stack(self.matrices), 0) if self.matrices else None


@dataclass
class MultiTaskFitResult:
    model: MultiTaskModel
    module: MultiTaskModule
    train_seconds: float
    trainable_params: int
    weight_history: list[list[float]] = field(default_factory=list)


@torch.no_grad()
def evaluate_multitask(
    model: MultiTaskModel, tasks: Sequence[Task], data: MultiTaskDataset, batch_size: int = 512
) -> dict[str, float]:
    """``{"<task>/<metric>": value}`` over the labelled entries of ``data`` (count-weighted)."""
    model.eval()
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for x, ys in _loader(data, [t.name for t in tasks], batch_size, False, 0):
        out = model(x)
        for t in tasks:
            for m in t.metrics:
                v, n = t.metric(m, out[t.name], ys[t.name])
                if n:
                    key = f"{t.name}/{m}"
                    sums[key] = sums.get(key, 0.0) + v * n
                    counts[key] = counts.get(key, 0) + n
    model.train()
    return {k: sums[k] / counts[k] for k in sums}


@quietly
def fit_multitask(
    model: MultiTaskModel,
    tasks: Sequence[Task],
    balancer: Weighting | Aggregator,
    train: MultiTaskDataset,
    *,
    representation_mode: bool = False,
    max_epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    seed: int = 0,
    accelerator: str = "cpu",
    devices: int | str = 1,
    trainer_extra: dict[str, Any] | None = None,
) -> MultiTaskFitResult:
    """Train ``model`` on ``train`` with a Lightning Trainer; returns the model and weight curve."""
    L.seed_everything(seed, workers=True, verbose=False)
    module = MultiTaskModule(model, tasks, balancer, representation_mode, lr, optimizer, weight_decay)
    kwargs: dict[str, Any] = {
        "max_epochs": max_epochs, "accelerator": accelerator, "devices": devices, "logger": False,
        "enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False,
        **(trainer_extra or {}),
    }
    trainer = L.Trainer(**kwargs)
    loader = _loader(train, [t.name for t in tasks], batch_size, True, seed)
    t0 = time.perf_counter()
    trainer.fit(module, loader)
    secs = time.perf_counter() - t0
    return MultiTaskFitResult(model, module, secs, count_parameters(module), module.weight_history)
