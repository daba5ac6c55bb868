"""Gradual unfreezing and discriminative (layer-wise) learning rates (Howard & Ruder 2018)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .._registry import register
from ..exceptions import ConfigError
from ._base import FineTuneStrategy, freeze, set_frozen_eval

__all__ = ["UnfreezeSchedule", "GradualUnfreezing", "DiscriminativeLR", "layerwise_param_groups"]


@dataclass(frozen=True)
class UnfreezeSchedule:
    """Which layer groups train at each epoch: the head first, then one more group from the top
    every ``every`` epochs. ``num_groups`` is the encoder's number of layer groups.

    ``trainable(epoch)`` is the number of encoder groups (counted from the output) that train at
    ``epoch``; ``describe()`` lists the schedule so a user can see it before training.
    """

    num_groups: int
    every: int = 1

    def trainable(self, epoch: int) -> int:
        return min(self.num_groups, max(0, epoch) // self.every)

    def describe(self) -> list[tuple[int, int]]:
        """``[(first_epoch, trainable_groups), ...]`` until everything trains."""
        return [(n * self.every, n) for n in range(self.num_groups + 1)]


def layerwise_param_groups(model: nn.Module, lr: float, decay: float) -> list[dict]:
    """One optimizer group per layer group; group ``i`` of ``n`` gets ``lr * decay**(n - i)``,
    the head gets ``lr``. Frozen parameters are included so a later unfreeze needs no new
    optimizer (optimizers skip parameters without gradients)."""
    groups = model.layer_groups()
    n = len(groups)
    out, seen = [], set()
    for i, g in enumerate(groups):
        params = [p for p in g.parameters() if id(p) not in seen]
        seen.update(id(p) for p in params)
        if params:
            out.append({"params": params, "lr": lr * decay ** (n - i), "name": f"group{i}"})
    rest = [p for p in model.parameters() if id(p) not in seen and p.requires_grad]
    out.append({"params": rest, "lr": lr, "name": "head"})
    return out


@register("finetune", "gradual_unfreezing")
class GradualUnfreezing(FineTuneStrategy):
    """Start with only the head trainable; unfreeze one layer group from the top each
    ``every`` epochs, with discriminative learning rates ``lr * decay**depth``.

    Reference: J. Howard and S. Ruder, "Universal Language Model Fine-tuning for Text
    Classification" (ULMFiT), ACL 2018 (decay 1/2.6, one group per epoch).
    """

    def __init__(self, every: int = 1, decay: float = 1 / 2.6):
        if every < 1:
            raise ConfigError(f"every must be >= 1, got {every}")
        if not 0 < decay <= 1:
            raise ConfigError(f"decay must be in (0, 1], got {decay}")
        self.every, self.decay = int(every), float(decay)
        self.schedule: UnfreezeSchedule | None = None

    def _configure(self, model) -> None:
        self.schedule = UnfreezeSchedule(len(model.layer_groups()), self.every)
        self.on_epoch_start(model, 0)

    def param_groups(self, model, lr):
        return layerwise_param_groups(model, lr, self.decay)

    def on_epoch_start(self, model, epoch: int) -> None:
        if self.schedule is None:
            raise RuntimeError("call prepare(model, num_classes) before training")
        groups = model.layer_groups()
        n_train = self.schedule.trainable(epoch)
        for i, g in enumerate(groups):
            freeze(g, frozen=i < len(groups) - n_train)
        freeze(model.head, False)
        set_frozen_eval(model)


@register("finetune", "discriminative_lr")
class DiscriminativeLR(FineTuneStrategy):
    """Everything trains, with learning rates decaying geometrically from the head down
    (``lr * decay**depth``; Howard & Ruder 2018, decay 1/2.6)."""

    def __init__(self, decay: float = 1 / 2.6):
        if not 0 < decay <= 1:
            raise ConfigError(f"decay must be in (0, 1], got {decay}")
        self.decay = float(decay)

    def param_groups(self, model, lr):
        return layerwise_param_groups(model, lr, self.decay)
