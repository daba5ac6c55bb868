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

``prepare`` resets the head to ``num_classes`` outputs and sets ``requires_grad``. Whatever the
regulariser needs (the pretrained weights, a frozen copy of the source model, the old task's
head) lives in the *strategy*, never in the model: a fine-tuned model's ``state_dict()`` loads
into a fresh backbone of the same name, and ``strategy.state_dict()`` /
``strategy.load_state_dict()`` save and restore the strategy's own state.

Train/eval mode follows one rule, applied by ``prepare``, by ``on_epoch_start`` (whenever the
trainable set changes) and by ``Backbone.train()``: a sub-module is in eval mode iff all its
parameters are frozen. Frozen layers keep their batch-norm statistics and run without dropout;
layers that train do so in train mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from ..backbones._base import Backbone, eval_frozen_modules
from ..exceptions import ConfigError

__all__ = ["FineTuneStrategy", "TrainingDefaults", "freeze", "set_frozen_eval"]


@dataclass(frozen=True)
class TrainingDefaults:
    """What a strategy recommends to the trainer."""

    pretrained: bool = True  # False for the from-scratch baseline


def freeze(module: nn.Module, frozen: bool = True) -> None:
    for p in module.parameters():
        p.requires_grad_(not frozen)


def set_frozen_eval(model: nn.Module) -> None:
    """Apply the mode rule to ``model``: a sub-module is in eval mode iff all its parameters
    are frozen.

    In train mode, every sub-module with a trainable parameter is put (back) in train mode
    and every fully frozen one in eval mode, so a layer group that was just unfrozen trains
    with batch-norm statistics and dropout, and a frozen one computes exactly what the
    pretrained one did. A model in eval mode stays in eval mode.
    """
    if model.training:
        model.train()
    eval_frozen_modules(model)


class FineTuneStrategy:
    """Base class: full fine-tuning of every parameter with no regulariser.

    Subclasses override :meth:`_configure` (what trains), :meth:`param_groups` (learning
    rates), :meth:`regularizer`, :meth:`on_epoch_start`, and, when they hold state,
    :meth:`state_dict` / :meth:`load_state_dict` (and :meth:`trainable_modules` for modules
    they train beside the model).
    """

    defaults = TrainingDefaults()
    #: multiplies the base learning rate for the pretrained encoder; the new head always
    #: trains at the base rate (a fresh head at a tiny rate barely moves in few steps)
    backbone_lr_scale: float = 1.0

    def prepare(self, backbone: Backbone, num_classes: int, reuse_head: bool = False) -> Backbone:
        """Give the backbone a ``num_classes`` head and configure what trains. Returns the model.

        The head is new unless ``reuse_head`` is set, in which case the source head is kept as
        the starting point: right when source and target share their label set (MNIST ->
        USPS), where a fresh head would have to be re-learnt from a few labels. The model
        gains no attribute: its ``state_dict()`` has the keys of a fresh backbone.
        """
        self._check_prepare(backbone, num_classes, reuse_head)
        if not reuse_head:
            backbone.reset_head(num_classes)
        freeze(backbone, False)
        self._configure(backbone)
        set_frozen_eval(backbone)
        return backbone

    @staticmethod
    def _check_prepare(backbone: Backbone, num_classes: int, reuse_head: bool) -> None:
        if num_classes <= 0:
            raise ConfigError(f"num_classes must be > 0, got {num_classes}")
        if reuse_head and backbone.num_outputs != num_classes:
            raise ConfigError(
                f"reuse_head needs a source head with {num_classes} outputs, "
                f"the backbone's head has {backbone.num_outputs}"
            )

    def _configure(self, model: Backbone) -> None:
        """Set ``requires_grad`` and snapshot state. Default: everything trains."""

    def trainable_modules(self) -> dict[str, nn.Module]:
        """Modules the strategy trains beside the model (LwF's old-task head). Default: none.

        :meth:`param_groups` includes their parameters; a trainer that wraps the model
        (Lightning's ``FineTuneModule``) registers them so that they follow the model's
        device and their gradients are synchronised under DDP.
        """
        return {}

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
        """Step schedules (unfreezing) at the start of ``epoch`` (0-based), then re-apply the
        mode rule (:func:`set_frozen_eval`). Default: only the mode rule."""
        set_frozen_eval(model)

    def state_dict(self) -> dict[str, Any]:
        """The strategy's own state (tensors, nested dicts): what its regulariser compares
        against. Restore it with :meth:`load_state_dict` on a strategy of the same kind
        prepared on the same backbone (as with ``torch.nn.Module``: build, then load)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; the keys must match exactly."""
        check_state_keys(self, state)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def check_state_keys(strategy: FineTuneStrategy, state: dict[str, Any]) -> None:
    """Raise a ``ValueError`` naming missing and unexpected keys of a strategy state."""
    expected, got = set(strategy.state_dict()), set(state)
    if expected != got:
        missing, unexpected = sorted(expected - got), sorted(got - expected)
        hint = (
            "; prepare the strategy on the same backbone before loading its state"
            if not expected else ""
        )
        raise ConfigError(
            f"{type(strategy).__name__} state does not match: missing keys {missing}, "
            f"unexpected keys {unexpected}{hint}"
        )


def check_lr_scale(value: float, key: str = "backbone_lr_scale") -> float:
    if not value > 0:
        raise ConfigError(f"{key} must be > 0, got {value}")
    return float(value)
