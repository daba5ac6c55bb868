"""Supervised fine-tuning as a LightningModule that composes a backbone and a strategy.

The module holds no algorithm logic: the strategy says what trains, at which learning rate,
and which penalty joins the cross-entropy; the module wires them into Lightning so that
devices, DDP, precision, accumulation, checkpoints and early stopping come from the Trainer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from ..finetune._base import FineTuneStrategy, set_frozen_eval

__all__ = ["FineTuneModule", "OptimConfig", "build_optimizer"]


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer settings; ``lr`` is the base rate (the strategy may scale it per group)."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9


def build_optimizer(groups: list[dict], cfg: OptimConfig) -> torch.optim.Optimizer:
    if cfg.name == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer '{cfg.name}'; choose adam, adamw or sgd")


class FineTuneModule(L.LightningModule):
    """Cross-entropy + ``strategy.regularizer`` on a prepared backbone.

    Keeps the weights of the best validation epoch (restored by :meth:`restore_best`), so
    early stopping returns the best model, not the last. "Best" is the highest accuracy,
    ties broken by the lower loss: few-shot validation sets are small and accuracy ties are
    common, and keeping the first of equal epochs would keep an untrained head.

    Train/eval mode follows the strategy's rule (``set_frozen_eval``): whenever the module is
    put in train mode and at every epoch start, a part of the model is in eval mode iff all
    its parameters are frozen. Modules the strategy trains beside the model (LwF's old-task
    head) are registered here, so they follow the device and are synchronised under DDP.
    """

    def __init__(self, model: nn.Module, strategy: FineTuneStrategy, optim: OptimConfig):
        super().__init__()
        self.model = model
        self.strategy = strategy
        self.strategy_modules = nn.ModuleDict(strategy.trainable_modules())
        self.optim = optim
        self.best_val: float = float("-inf")
        self.best_val_loss: float = float("inf")
        self.best_state: dict[str, torch.Tensor] | None = None
        self._val_stats = torch.zeros(3, dtype=torch.float64)

    # -- training -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> FineTuneModule:
        super().train(mode)
        if mode:
            set_frozen_eval(self.model)
        return self

    def on_train_epoch_start(self) -> None:
        self.train()  # Lightning trains the model in whatever mode it was handed over
        self.strategy.on_epoch_start(self.model, self.current_epoch)

    def training_step(self, batch, batch_idx):
        x, y = batch
        feats = self.model.features(x)
        logits = self.model.head(feats)
        loss = F.cross_entropy(logits, y)
        reg = self.strategy.regularizer(self.model, x, feats, logits)
        total = loss + reg
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        return total

    def configure_optimizers(self):
        groups = [g for g in self.strategy.param_groups(self.model, self.optim.lr) if g["params"]]
        return build_optimizer(groups, self.optim)

    # -- validation -----------------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self._val_stats = torch.zeros(3, dtype=torch.float64)  # correct, loss sum, count

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.model(x)
        self._val_stats += torch.tensor([
            float((logits.argmax(1) == y).sum()),
            float(F.cross_entropy(logits, y, reduction="sum")),
            len(y),
        ], dtype=torch.float64)

    def on_validation_epoch_end(self) -> None:
        stats = self.trainer.strategy.reduce(self._val_stats.to(self.device), reduce_op="sum").cpu()
        count = float(stats[2].clamp_min(1))
        acc, loss = float(stats[0]) / count, float(stats[1]) / count
        self.log("val_acc", acc, prog_bar=True, sync_dist=True)  # already reduced: the same on every process
        self.log("val_loss", loss, sync_dist=True)
        if self.trainer.sanity_checking:
            return
        if acc > self.best_val or (acc == self.best_val and loss < self.best_val_loss):
            self.best_val, self.best_val_loss = acc, loss
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    # -- checkpoints: everything a resumed run needs to continue bit for bit -----------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["transferkit"] = {
            "strategy": self.strategy.state_dict(),
            "best_val": self.best_val,
            "best_val_loss": self.best_val_loss,
            "best_state": self.best_state,
            "torch_rng": torch.get_rng_state(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("transferkit", {})
        self.strategy.load_state_dict(state.get("strategy", {}))
        self.best_val = state.get("best_val", float("-inf"))
        self.best_val_loss = state.get("best_val_loss", float("inf"))
        self.best_state = state.get("best_state")
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"])


@torch.no_grad()
def predict(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """``(predictions, labels)`` of ``model`` over ``loader``, in eval mode, on CPU; every
    sub-module's mode is restored afterwards (frozen parts stay in eval mode)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    device = next(model.parameters()).device
    preds, labels = [], []
    for x, y in loader:
        x = {k: v.to(device) for k, v in x.items()} if isinstance(x, dict) else x.to(device)
        preds.append(model(x).argmax(1).cpu())
        labels.append(y)
    for m, mode in modes:
        m.training = mode
    return torch.cat(preds), torch.cat(labels)


def clone_model(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model)
