"""The fine-tuning strategy contract.

A strategy is not a training loop. It prepares a pretrained backbone for a target task, says
which parameters train and at which learning rate, and adds a regulariser to the task loss.
Any loop can use it::

    strategy = transferkit.create("finetune", "l2_sp", alpha=0.01)
    model = strategy.prepare(backbone, num_classes=10)
    optimizer = torch.optim.SGD(strategy.param_groups(model, lr=0.01), momentum=0.9)
    for epoch in range(epochs):
        strategy.on_epoch_start(model, epoch)     # schedules are stepped on purpose
        for x, y in loader:
            feats = model.features(x)
            logits = model.head(feats)
            loss = F.cross_entropy(logits, y) + strategy.regularizer(model, x, feats, logits)
            ...

``prepare`` snapshots whatever the regulariser needs (the pretrained weights, a frozen copy of
the source model), resets the head to ``num_classes`` outputs, and sets ``requires_grad``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..backbones._base import Backbone

__all__ = ["FineTuneStrategy", "TrainingDefaults", "freeze", "set_frozen_eval"]


@dataclass(frozen=True)
class TrainingDefaults:
    """What a strategy recommends to the trainer; the run config may override each."""

    lr_scale: float = 1.0  # multiplies the trainer's base learning rate
    pretrained: bool = True  # False for the from-scratch baseline


def freeze(module: nn.Module, frozen: bool = True) -> None:
    for p in module.parameters():
        p.requires_grad_(not frozen)


def set_frozen_eval(model: nn.Module) -> None:
    """Put every sub-module whose parameters are all frozen in eval mode.

    Frozen layers must not drift through batch-norm running statistics or dropout: a frozen
    layer computes exactly what the pretrained one did.
    """
    for module in model.modules():
        params = list(module.parameters(recurse=True))
        if params and not any(p.requires_grad for p in params):
            module.eval()


class FineTuneStrategy:
    """Base class: full fine-tuning of every parameter with no regulariser.

    Subclasses override :meth:`_configure` (what trains), :meth:`param_groups` (learning
    rates), :meth:`regularizer` and :meth:`on_epoch_start`.
    """

    defaults = TrainingDefaults()

    def prepare(self, backbone: Backbone, num_classes: int) -> Backbone:
        """Reset the head to ``num_classes`` and configure what trains. Returns the model."""
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0, got {num_classes}")
        if backbone.num_outputs:
            # keep the source task's head: learning without forgetting and reports use it
            backbone.source_head = copy.deepcopy(backbone.head)
            freeze(backbone.source_head)
        backbone.reset_head(num_classes)
        freeze(backbone, False)
        if hasattr(backbone, "source_head"):
            freeze(backbone.source_head)
        self._configure(backbone)
        return backbone

    def _configure(self, model: Backbone) -> None:
        """Set ``requires_grad`` and snapshot state. Default: everything trains."""

    def param_groups(self, model: nn.Module, lr: float) -> list[dict]:
        """Optimizer parameter groups. Frozen parameters are left out."""
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"params": params, "lr": lr}]

    def regularizer(self, model: Backbone, x, features: Tensor, logits: Tensor) -> Tensor:
        """Extra loss added to the task loss. Default: zero."""
        return features.new_zeros(())

    def on_epoch_start(self, model: Backbone, epoch: int) -> None:
        """Step schedules (unfreezing) at the start of ``epoch`` (0-based). Default: nothing."""
        set_frozen_eval(model)

    def state_dict(self) -> dict:
        """Schedule state to checkpoint (resuming a run restores it)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        return None

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def _named_params(module: nn.Module) -> dict[str, Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def snapshot(module: nn.Module) -> dict[str, Tensor]:
    """A detached copy of ``module``'s parameters, keyed by name."""
    with torch.no_grad():
        return _named_params(module)
