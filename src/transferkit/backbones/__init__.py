"""Backbones behind one protocol: built-in nets, torchvision, timm, Hugging Face, packaged weights.

``create_backbone(name, pretrained=False, num_outputs=0, **params)`` resolves ``name`` in the
``backbone`` registry (``transferkit.list_methods("backbone")``); names with a ``torchvision/``,
``timm/`` or ``hf/`` prefix resolve to any model of that library (``torchvision/resnet50``,
``timm/convnext_tiny``, ``hf/<model id or local folder>``); the registry lists each prefix as one
entry (``timm/<name>``, ...), and ``transferkit.create("backbone", name, **params)`` is this same
function, so both accept the same names and reject the others with the same message.

``num_outputs``: ``None`` keeps the model's own (pretrained) head where it has one, ``0`` no
head, ``n > 0`` a fresh ``Linear(feature_dim, n)``. ``checkpoint="path.pt"`` loads a state dict
saved from the same backbone.
"""

from __future__ import annotations

from typing import Any

from .._registry import check_params, get_method, register_builder
from . import (  # noqa: F401  (importing them registers the nets and the name prefixes)
    _builtin,
    _external,
    _sequence,
)
from ._base import Backbone, SequentialBackbone
from ._builtin import lenet, mlp, small_resnet
from ._external import (
    EFFICIENTNET_LITE0_NORMALIZATION,
    HFTextBackbone,
    PretrainedWeightsUnavailable,
    TimmBackbone,
    TorchvisionBackbone,
    load_checkpoint,
)
from ._forecast import ForecastPretext, pretrain_forecasting
from ._sequence import SequenceBackbone, fcn, inception_time, resnet1d, rnn, ts_transformer

__all__ = [
    "EFFICIENTNET_LITE0_NORMALIZATION",
    "ForecastPretext",
    "Backbone",
    "HFTextBackbone",
    "PretrainedWeightsUnavailable",
    "SequenceBackbone",
    "SequentialBackbone",
    "TimmBackbone",
    "TorchvisionBackbone",
    "create_backbone",
    "fcn",
    "inception_time",
    "lenet",
    "load_checkpoint",
    "mlp",
    "pretrain_forecasting",
    "resnet1d",
    "rnn",
    "small_resnet",
    "ts_transformer",
]


def create_backbone(
    name: str, pretrained: bool = False, num_outputs: int | None = 0, **params: Any
) -> Backbone:
    """Build the backbone ``name``: a registered name or a ``torchvision/``, ``timm/`` or ``hf/``
    prefixed one. Unknown names list the nearest valid ones.

    ``transferkit.create("backbone", name, **params)`` is this same function.
    """
    info = get_method("backbone", name)  # resolves the prefixes; unknown names fail here
    factory = info.factory
    if num_outputs is None and not getattr(factory, "keeps_pretrained_head", False):
        num_outputs = 0  # built-in nets have no pretrained head to keep
    checkpoint = None
    if "checkpoint" in params and "checkpoint" not in _accepted(factory):
        checkpoint = params.pop("checkpoint")
    check_params(info, {"pretrained": pretrained, "num_outputs": num_outputs, **params})
    backbone = factory(pretrained=pretrained, num_outputs=num_outputs, **params)
    if checkpoint is not None:
        load_checkpoint(backbone, checkpoint)
    return backbone


def _accepted(factory: Any) -> set[str]:
    import inspect

    return set(inspect.signature(factory).parameters)


register_builder("backbone", create_backbone)
