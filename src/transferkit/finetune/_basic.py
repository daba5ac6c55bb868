"""The three reference strategies: from scratch, linear probe, full fine-tuning."""

from __future__ import annotations

from torch import nn

from .._registry import register
from ._base import FineTuneStrategy, TrainingDefaults, check_lr_scale, freeze

__all__ = ["Scratch", "LinearProbe", "FullFineTune", "reset_parameters"]


def reset_parameters(module: nn.Module) -> None:
    """Re-initialise every sub-module that knows how (``reset_parameters``)."""
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()


@register("finetune", "scratch")
class Scratch(FineTuneStrategy):
    """Train from scratch: every weight re-initialised; the baseline every comparison carries."""

    defaults = TrainingDefaults(pretrained=False)

    def _configure(self, model) -> None:
        reset_parameters(model)


@register("finetune", "linear_probe")
class LinearProbe(FineTuneStrategy):
    """Feature extraction: freeze the whole pretrained encoder and train only a new head."""

    def _configure(self, model) -> None:
        freeze(model)
        freeze(model.head, False)


@register("finetune", "full")
class FullFineTune(FineTuneStrategy):
    """Fine-tune every weight, the pretrained ones at a smaller learning rate.

    ``backbone_lr_scale`` (default 0.1) multiplies the base rate for the pretrained encoder;
    the new head trains at the base rate. Pair it with few epochs and early stopping on a
    target validation split (trainer config).
    """

    def __init__(self, backbone_lr_scale: float = 0.1):
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)
