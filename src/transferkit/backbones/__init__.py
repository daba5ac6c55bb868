"""Backbones behind one protocol: built-in nets, torchvision, timm, Hugging Face, packaged weights.

``create_backbone(name, pretrained=False, num_outputs=0, **params)`` resolves ``name`` in the
``backbone`` registry (``transferkit.list_methods("backbone")``).
"""

from __future__ import annotations

from typing import Any

from .._registry import get_method
from . import _builtin  # noqa: F401  (registers the built-in nets)
from ._base import Backbone, SequentialBackbone
from ._builtin import lenet, mlp, small_resnet

__all__ = ["Backbone", "SequentialBackbone", "create_backbone", "lenet", "mlp", "small_resnet"]


def create_backbone(
    name: str, pretrained: bool = False, num_outputs: int = 0, **params: Any
) -> Backbone:
    """Build the registered backbone ``name``; unknown names list the nearest valid ones."""
    info = get_method("backbone", name)
    return info.factory(pretrained=pretrained, num_outputs=num_outputs, **params)
