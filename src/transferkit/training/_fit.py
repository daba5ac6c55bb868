"""``fit_finetune``: one fine-tuning run through a Lightning Trainer, with the knobs a config sets."""

from __future__ import annotations

import logging
import resource
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch import nn

from .._utils import count_parameters
from ..data._base import Domain
from ..finetune._base import FineTuneStrategy
from ._data import encode_inputs, make_loader
from ._supervised import FineTuneModule, OptimConfig

__all__ = ["TrainerConfig", "FitResult", "fit_finetune", "quiet_lightning", "peak_memory_mb"]


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


def quiet_lightning() -> None:
    """Silence Lightning's start-up banners and CPU-only hints; keep real warnings."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in (
        ".*does not have many workers.*", ".*GPU available but not used.*",
        ".*LeafSpec.*", r".*module\(s\) in eval mode.*", ".*is deprecated.*", ".*The number of training batches.*",
        ".*Checkpoint directory.*exists and is not empty.*",
        ".*`validation_step` but have no `val_dataloader`.*", ".*precision.*is supported by.*",
    ):
        warnings.filterwarnings("ignore", pattern)


def peak_memory_mb() -> float:
    """Peak memory: CUDA's max allocated when on a GPU, else the process's peak RSS."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


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
    quiet_lightning()
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
        trainable_params=count_parameters(model),
        best_val_acc=None if module.best_val == float("-inf") else module.best_val,
    )
