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

from torch import Tensor, nn

from ..backbones._base import Backbone

__all__ = ["FineTuneStrategy", "TrainingDefaults", "freeze", "set_frozen_eval"]


@dataclass(frozen=True)
class TrainingDefaults:
    """What a strategy recommends to the trainer."""

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
    #: multiplies the base learning rate for the pretrained encoder; the new head always
    #: trains at the base rate (a fresh head at a tiny rate barely moves in few steps)
    backbone_lr_scale: float = 1.0

    def prepare(self, backbone: Backbone, num_classes: int, reuse_head: bool = False) -> Backbone:
        """Give the backbone a ``num_classes`` head and configure what trains. Returns the model.

        The head is new unless ``reuse_head`` is set, in which case the source head is kept as
        the starting point: right when source and target share their label set (MNIST ->
        USPS), where a fresh head would have to be re-learnt from a few labels.
        """
        if num_classes <= 0:
            raise ValueError(f"num_classes must be > 0, got {num_classes}")
        if reuse_head and backbone.num_outputs != num_classes:
            raise ValueError(
                f"reuse_head needs a source head with {num_classes} outputs, "
                f"the backbone's head has {backbone.num_outputs}"
            )
        if backbone.num_outputs:
            # keep the source task's head: learning without forgetting and reports use it
            backbone.source_head = copy.deepcopy(backbone.head)
            freeze(backbone.source_head)
        if not reuse_head:
            backbone.reset_head(num_classes)
        freeze(backbone, False)
        if hasattr(backbone, "source_head"):
            freeze(backbone.source_head)
        self._configure(backbone)
        return backbone

    def _configure(self, model: Backbone) -> None:
        """Set ``requires_grad`` and snapshot state. Default: everything trains."""

    def param_groups(self, model: nn.Module, lr: float) -> list[dict]:
        """Optimizer groups: the head at ``lr``, the rest at ``lr * backbone_lr_scale``.

        Frozen parameters are left out; empty groups are dropped.
        """
        head_ids = {id(p) for p in model.head.parameters()}
        head = [p for p in model.head.parameters() if p.requires_grad]
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [
            {"params": rest, "lr": lr * self.backbone_lr_scale, "name": "backbone"},
            {"params": head, "lr": lr, "name": "head"},
        ]
        return [g for g in groups if g["params"]]

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


def check_lr_scale(value: float, key: str = "backbone_lr_scale") -> float:
    if not value > 0:
        raise ValueError(f"{key} must be > 0, got {value}")
    return float(value)
