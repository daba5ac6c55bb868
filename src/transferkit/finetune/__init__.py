"""Fine-tuning strategies (family ``finetune``): what trains, at which rate, with which penalty.

``transferkit.list_methods("finetune")`` lists them; ``transferkit.create("finetune", name)``
builds one. Each is usable in a plain PyTorch loop (see :class:`FineTuneStrategy`).
"""

from . import _basic, _conservative, _layer_transfer, _unfreezing  # noqa: F401  (registration)
from ._base import FineTuneStrategy, TrainingDefaults, freeze, set_frozen_eval
from ._basic import FullFineTune, LinearProbe, Scratch
from ._conservative import BSS, L2SP, LearningWithoutForgetting
from ._layer_transfer import LayerTransfer
from ._unfreezing import DiscriminativeLR, GradualUnfreezing, UnfreezeSchedule

try:  # LoRA needs peft (extra "adapters"); the strategy module raises a clear error on use
    from . import _lora  # noqa: F401
except ImportError:  # pragma: no cover - module not written yet or peft missing at import
    pass

__all__ = [
    "BSS",
    "DiscriminativeLR",
    "FineTuneStrategy",
    "FullFineTune",
    "GradualUnfreezing",
    "L2SP",
    "LayerTransfer",
    "LearningWithoutForgetting",
    "LinearProbe",
    "Scratch",
    "TrainingDefaults",
    "UnfreezeSchedule",
    "freeze",
    "set_frozen_eval",
]
