"""``fit_finetune``: one fine-tuning run through a Lightning Trainer, with the knobs a config sets."""

from __future__ import annotations

import contextlib
import functools
import logging
import resource
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch import nn

from .._utils import count_parameters
from ..data._base import Domain
from ..finetune._base import FineTuneStrategy
from ._data import encode_inputs, make_loader
from ._supervised import FineTuneModule, OptimConfig

__all__ = ["TrainerConfig", "FitResult", "fit_finetune", "quiet_lightning", "quietly", "peak_memory_mb"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class TrainerConfig:
    """How to train: every field maps onto a Lightning Trainer setting or a DataLoader."""

    max_epochs: int = 30
    batch_size: int = 64
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    accumulate_grad_batches: int = 1
    patience: int = 5  # early-stopping patience in epochs on target validation loss; 0 = off
    deterministic: bool = True
    progress: bool = False  # Lightning's progress bar
    logger: Any = False  # a Lightning logger (CSV, TensorBoard, MLflow) or False
    extra: dict = field(default_factory=dict)  # passed to lightning.Trainer verbatim


@dataclass
class FitResult:
    model: nn.Module
    epochs: int
    train_seconds: float
    peak_memory_mb: float
    trainable_params: int
    best_val_acc: float | None


_LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")
_NOISE = (
    ".*does not have many workers.*", ".*GPU available but not used.*",
    ".*LeafSpec.*", r".*module\(s\) in eval mode.*", ".*is deprecated.*", ".*The number of training batches.*",
    ".*Checkpoint directory.*exists and is not empty.*",
    ".*validation_step.*val_dataloader.*", ".*precision.*is supported by.*",
)


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Within the block, silence Lightning's start-up banners and CPU-only hints.

    A context manager: the warning filters are added inside :func:`warnings.catch_warnings`
    and the Lightning loggers' levels are put back on exit, so the caller's own warnings
    (a ``DeprecationWarning`` of theirs included) and logging setup are untouched after a fit::

        with quiet_lightning():
            trainer.fit(module, loader)
    """
    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", pattern)
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def quietly(fit: Callable[P, R]) -> Callable[P, R]:
    """Run ``fit`` inside :func:`quiet_lightning` (the Trainer's construction included)."""

    @functools.wraps(fit)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with quiet_lightning():
            return fit(*args, **kwargs)

    return wrapper


def peak_memory_mb() -> float:
    """Peak memory: CUDA's max allocated when on a GPU, else the process's peak RSS."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


@quietly
def fit_finetune(
    model: nn.Module,
    strategy: FineTuneStrategy,
    train: Domain,
    val: Domain | None,
    trainer: TrainerConfig,
    optim: OptimConfig,
    seed: int,
    ckpt_dir: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Fine-tune an already *prepared* ``model`` on ``train``, early-stopping on ``val``.

    With ``ckpt_dir`` a ``last.ckpt`` is written each epoch; ``resume=True`` continues from it.
    Returns the best-on-validation model (the last one when there is no validation split).
    """
    L.seed_everything(seed, workers=True, verbose=False)
    train_loader = make_loader(
        train, trainer.batch_size, shuffle=True, seed=seed, backbone=model,
        inputs=encode_inputs(train, model),
    )
    val_loader = (
        make_loader(val, max(trainer.batch_size, 256), shuffle=False, backbone=model)
        if val is not None else None
    )
    module = FineTuneModule(model, strategy, optim)
    callbacks: list = []
    if val_loader is not None and trainer.patience > 0:
        callbacks.append(EarlyStopping("val_loss", mode="min", patience=trainer.patience))
    ckpt_path = None
    if ckpt_dir is not None:
        # one rolling checkpoint, rewritten at the end of every epoch (monitor=None keeps the
        # latest); save_top_k=0 would write nothing until training ends
        callbacks.append(ModelCheckpoint(
            dirpath=ckpt_dir, filename="last", save_top_k=1, every_n_epochs=1, enable_version_counter=False,
        ))
        last = Path(ckpt_dir) / "last.ckpt"
        if resume and last.exists():
            ckpt_path = str(last)
    pl_trainer = L.Trainer(
        max_epochs=trainer.max_epochs,
        accelerator=trainer.accelerator,
        devices=trainer.devices,
        strategy=trainer.strategy,
        precision=trainer.precision,
        accumulate_grad_batches=trainer.accumulate_grad_batches,
        deterministic=trainer.deterministic,
        logger=trainer.logger,
        enable_progress_bar=trainer.progress,
        enable_model_summary=False,
        enable_checkpointing=ckpt_dir is not None,
        num_sanity_val_steps=0,
        callbacks=callbacks,
        default_root_dir=str(ckpt_dir) if ckpt_dir is not None else None,
        **trainer.extra,
    )
    start = time.perf_counter()
    pl_trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_path)
    seconds = time.perf_counter() - start
    module.restore_best()
    model = module.model.cpu() if trainer.accelerator == "cpu" else module.model
    return FitResult(
        model=model,
        epochs=int(pl_trainer.current_epoch),
        train_seconds=seconds,
        peak_memory_mb=peak_memory_mb(),
        trainable_params=count_parameters(model) + sum(count_parameters(m) for m in strategy.trainable_modules().values()),
        best_val_acc=None if module.best_val == float("-inf") else module.best_val,
    )
