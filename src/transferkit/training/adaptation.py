"""Unsupervised domain adaptation on Lightning: labelled source + unlabelled target batches.

:class:`PairedSampler` draws a source batch and a target batch for every step, with an
explicit epoch length; the shorter domain is cycled (re-shuffled each time it runs out).
:class:`AdaptationModule` composes a backbone (the transferkit protocol) with any registered
adaptation method; it holds no algorithm logic. The training loop (Lightning's hooks here)
steps the explicit schedules: the GRL coefficient is set from a
:class:`~transferkit.adaptation.GRLSchedule` before each step and the schedule advanced
after it; the learning rate follows :class:`~transferkit.adaptation.LRAnnealing`; partial
transfer methods get their class weights from target predictions at each epoch start.

:func:`fit_adaptation` runs one training and returns the model, the method and the per-epoch
history (target accuracy when target labels are given *for evaluation only*, and the domain
classifier's accuracy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from .._utils import count_parameters
from ..adaptation import AdaptationMethod, GRLSchedule, LRAnnealing
from ..data._base import Domain, check_same_input_shape
from ..exceptions import DataError
from ._fit import quietly

__all__ = [
    "AdaptFitResult",
    "AdaptOptimConfig",
    "AdaptationModule",
    "PairedDataset",
    "PairedSampler",
    "fit_adaptation",
    "paired_loader",
    "trainer_kwargs_fast",
]


class PairedSampler(Sampler):
    """Yields ``(source_indices, target_indices)`` for ``steps`` steps per epoch.

    Training (``shuffle=True``): each domain is a stream of independent random
    permutations (a pure function of ``seed`` and the epoch set by ``set_epoch``), so the
    shorter domain is cycled. Evaluation (``shuffle=False``): the target is covered once in
    order (``steps = ceil(n_t / target_batch)``) and the source cycled in order.
    """

    def __init__(self, n_source: int, n_target: int, batch_size: int,
                 target_batch_size: int | None = None, steps: int | None = None,
                 shuffle: bool = True, seed: int = 0):
        if n_source <= 0 or n_target <= 0:
            raise DataError(f"both domains need samples, got {n_source} source and {n_target} target")
        if batch_size <= 0:
            raise DataError(f"batch_size must be > 0, got {batch_size}")
        self.ns, self.nt = int(n_source), int(n_target)
        self.bs = int(batch_size)
        self.bt = int(target_batch_size or batch_size)
        if steps is None:
            steps = (max(self.ns // self.bs, self.nt // self.bt, 1) if shuffle
                     else math.ceil(self.nt / self.bt))
        if int(steps) <= 0:
            raise DataError(f"steps per epoch must be > 0, got {steps}")
        self.steps, self.shuffle, self.seed, self.epoch = int(steps), shuffle, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _stream(self, n: int, need: int, g: torch.Generator | None) -> Tensor:
        reps = math.ceil(need / n)
        parts = [torch.randperm(n, generator=g) if g is not None else torch.arange(n) for _ in range(reps)]
        return torch.cat(parts)[:need]

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            s = self._stream(self.ns, self.steps * self.bs, g)
            t = self._stream(self.nt, self.steps * self.bt, g)
            for k in range(self.steps):
                yield s[k * self.bs : (k + 1) * self.bs], t[k * self.bt : (k + 1) * self.bt]
        else:
            s = self._stream(self.ns, self.steps * self.bs, None)
            for k in range(self.steps):
                t = torch.arange(k * self.bt, min((k + 1) * self.bt, self.nt))
                yield s[k * self.bs : k * self.bs + len(t)], t

    def __len__(self) -> int:
        return self.steps


class PairedDataset(Dataset):
    """Indexed by ``(source_indices, target_indices)``: returns ``(x_s, y_s, x_t, y_t)``.

    ``y_t`` is ``-1`` everywhere when the target has no labels (it is used for evaluation
    only, never in a loss).
    """

    def __init__(self, Xs: Tensor, ys: Tensor, Xt: Tensor, yt: Tensor | None):
        self.Xs, self.ys, self.Xt = Xs, ys, Xt
        self.yt = yt if yt is not None else torch.full((len(Xt),), -1, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.Xs)

    def __getitem__(self, idx: tuple[Tensor, Tensor]):
        i, j = idx
        return self.Xs[i], self.ys[i], self.Xt[j], self.yt[j]


def _tensors(d: Domain) -> tuple[Tensor, Tensor | None]:
    if d.is_text:
        raise DataError(f"domain '{d.name}' holds text; encode it to arrays before adaptation")
    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float32))
    y = None if d.y is None else torch.as_tensor(np.asarray(d.y)).long()
    return X, y


def paired_loader(source: Domain, target: Domain, batch_size: int, *, shuffle: bool = True,
                  steps: int | None = None, seed: int = 0,
                  target_batch_size: int | None = None) -> DataLoader:
    """A DataLoader of ``(x_s, y_s, x_t, y_t)`` batches drawn together from both domains."""
    if source.y is None:
        raise DataError(f"source domain '{source.name}' has no labels; adaptation needs labelled source data")
    check_same_input_shape(source, target)
    Xs, ys = _tensors(source)
    Xt, yt = _tensors(target)
    sampler = PairedSampler(len(Xs), len(Xt), batch_size, target_batch_size, steps, shuffle, seed)
    return DataLoader(PairedDataset(Xs, ys, Xt, yt), sampler=sampler, batch_size=None)


@dataclass(frozen=True)
class AdaptOptimConfig:
    """SGD with momentum as in Ganin et al. (2016): ``mu0 = 0.01``, momentum 0.9, annealed
    by ``mu_p = mu0 / (1 + 10 p) ** 0.75``; new layers (the method's discriminators) learn
    ``discriminator_lr_mult`` times faster, as in the CDAN/PADA code."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    anneal: bool = True
    anneal_alpha: float = 10.0
    anneal_beta: float = 0.75
    discriminator_lr_mult: float = 10.0
    grl_gamma: float = 10.0  # GRL schedule steepness (Ganin et al. 2016)
    grl_max: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in ("sgd", "adam"):
            raise ValueError(f"optimizer name must be 'sgd' or 'adam', got '{self.name}'")
        for key in ("lr", "discriminator_lr_mult", "grl_gamma"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)}")


class AdaptationModule(L.LightningModule):
    """Backbone + adaptation method; source CE + adaptation loss per step.

    Args:
        backbone: a transferkit backbone (``features``, ``head``).
        method: a registered :class:`~transferkit.adaptation.AdaptationMethod`.
        optim: optimiser and schedule settings.
        max_steps: total optimisation steps (the GRL schedule and lr annealing reach p = 1).
        target_probe: target inputs whose predictions refresh partial-transfer class
            weights at each epoch start (PADA, SAN); ``None`` leaves them as they are.
    """

    def __init__(self, backbone: nn.Module, method: AdaptationMethod, optim: AdaptOptimConfig,
                 max_steps: int, target_probe: Tensor | None = None):
        super().__init__()
        self.backbone = backbone
        self.method = method
        self.optim = optim
        self.schedule = GRLSchedule(max_steps, optim.grl_gamma, optim.grl_max)
        self.annealing = LRAnnealing(max_steps, optim.anneal_alpha, optim.anneal_beta)
        self.target_probe = target_probe
        self.history: list[dict[str, float]] = []
        # one optimiser, one backward per step: stepping it ourselves avoids the closure
        # machinery of automatic optimisation (measured in benchmarks/adapt_speed.py)
        self.automatic_optimization = False
        self._reset_eval()

    # explicit schedule stepping, from the loop --------------------------------------------
    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        self.method.set_grl_coeff(self.schedule.value)

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        self.schedule.step()

    def on_train_epoch_start(self) -> None:
        if self.method.has_class_weights and self.target_probe is not None:
            self.method.update_class_weights(self.predict_proba(self.target_probe))

    @torch.no_grad()
    def predict_proba(self, X: Tensor, batch_size: int = 512) -> Tensor:
        was = self.backbone.training
        self.backbone.eval()
        out = torch.cat([self.backbone(X[i : i + batch_size].to(self.device)).softmax(1)
                         for i in range(0, len(X), batch_size)])
        self.backbone.train(was)
        return out

    # steps ----------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx: int) -> Tensor:
        xs, ys, xt, _ = batch  # target labels are never used for training
        f = self.backbone.features(torch.cat([xs, xt]))
        logits = self.backbone.head(f)
        ns = xs.shape[0]
        f_s, f_t, l_s, l_t = f[:ns], f[ns:], logits[:ns], logits[ns:]
        loss = self.method.source_loss(l_s, ys) + self.method(
            f_s, f_t, logits_s=l_s, logits_t=l_t, y_s=ys)
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        sched = self.lr_schedulers()
        if sched is not None:
            sched.step()
        return loss.detach()

    def _reset_eval(self) -> None:
        self._correct = self._total = 0
        self._dacc_sum = self._dacc_n = 0.0

    def on_validation_epoch_start(self) -> None:
        self._reset_eval()

    def validation_step(self, batch, batch_idx: int) -> None:
        xs, _, xt, yt = batch
        f_s, f_t = self.backbone.features(xs), self.backbone.features(xt)
        l_s, l_t = self.backbone.head(f_s), self.backbone.head(f_t)
        if (yt >= 0).all():
            self._correct += int((l_t.argmax(1) == yt).sum())
            self._total += int(yt.numel())
        dacc = self.method.domain_accuracy(f_s, f_t, logits_s=l_s, logits_t=l_t)
        if dacc is not None:
            self._dacc_sum += dacc * len(xt)
            self._dacc_n += len(xt)

    def on_validation_epoch_end(self) -> None:
        row: dict[str, float] = {"epoch": float(self.current_epoch), "grl_coeff": self.schedule.value}
        if self._total:
            row["target_acc"] = self._correct / self._total
            self.log("target_acc", row["target_acc"], prog_bar=False, sync_dist=True)
        if self._dacc_n:
            row["domain_acc"] = self._dacc_sum / self._dacc_n
            self.log("domain_acc", row["domain_acc"], prog_bar=False, sync_dist=True)
        self.history.append(row)

    # optimiser ------------------------------------------------------------------------------
    def configure_optimizers(self):
        o = self.optim
        groups = [{"params": [p for p in self.backbone.parameters() if p.requires_grad]}]
        mparams = [p for p in self.method.parameters() if p.requires_grad]
        if mparams:
            groups.append({"params": mparams, "lr": o.lr * o.discriminator_lr_mult})
        if o.name == "sgd":
            opt = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        else:
            opt = torch.optim.Adam(groups, lr=o.lr, weight_decay=o.weight_decay)
        if not o.anneal:
            return opt
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self.annealing.factor)
        return [opt], [sched]

    # checkpoints keep the schedule's explicit state ---------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["grl_schedule"] = self.schedule.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "grl_schedule" in checkpoint:
            self.schedule.load_state_dict(checkpoint["grl_schedule"])


def trainer_kwargs_fast() -> dict:
    """Lightning settings without the overheads a plain loop does not have."""
    return {"logger": False, "enable_progress_bar": False, "enable_model_summary": False,
            "enable_checkpointing": False, "num_sanity_val_steps": 0, "accelerator": "auto",
            "devices": 1}


@dataclass
class AdaptFitResult:
    model: nn.Module
    method: AdaptationMethod
    history: list[dict[str, float]]
    train_seconds: float
    peak_memory_mb: float
    trainable_params: int
    module: AdaptationModule | None = field(default=None, repr=False)


@quietly
def fit_adaptation(backbone: nn.Module, method: AdaptationMethod, source: Domain, target: Domain,
                   *, target_eval: Domain | None = None, source_eval: Domain | None = None,
                   epochs: int = 10, batch_size: int = 64, steps_per_epoch: int | None = None,
                   optim: AdaptOptimConfig | None = None, seed: int = 0,
                   trainer_kwargs: dict | None = None, evaluate_every_epoch: bool = True) -> AdaptFitResult:
    """Train ``backbone`` + ``method`` on labelled ``source`` and unlabelled ``target``.

    ``target`` labels, if present, are dropped for training. ``target_eval`` (labelled, for
    evaluation only) gives the per-epoch target accuracy; the domain classifier's accuracy
    is measured on ``source_eval`` (default ``source``) against ``target_eval`` (default
    ``target``).
    """
    from ._fit import peak_memory_mb

    if epochs <= 0:
        raise ValueError(f"epochs must be > 0, got {epochs}")
    optim = optim or AdaptOptimConfig()
    L.seed_everything(seed, workers=True, verbose=False)
    train_loader = paired_loader(source, target.without_labels() if target.y is not None else target,
                                 batch_size, shuffle=True, steps=steps_per_epoch, seed=seed)
    steps = len(train_loader.sampler)
    val_loader = None
    if evaluate_every_epoch:
        val_loader = paired_loader(source_eval or source, target_eval or target,
                                   max(batch_size, 256), shuffle=False)
    probe = _tensors(target)[0] if method.has_class_weights else None
    module = AdaptationModule(backbone, method, optim, max_steps=epochs * steps, target_probe=probe)
    kwargs = {**trainer_kwargs_fast(), "max_epochs": epochs, **(trainer_kwargs or {})}
    if val_loader is None:
        kwargs["limit_val_batches"] = 0
    trainer = L.Trainer(**kwargs)
    start = time.perf_counter()
    trainer.fit(module, train_loader, val_loader)
    seconds = time.perf_counter() - start
    return AdaptFitResult(backbone, method, module.history, seconds, peak_memory_mb(),
                          count_parameters(backbone) + count_parameters(method), module)
