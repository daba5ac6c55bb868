"""Build a registered adaptation method from the dimensions a training loop knows."""

from __future__ import annotations

import inspect
from typing import Any

from .._registry import get_method
from ._base import AdaptationMethod

__all__ = ["build_method"]


def build_method(name: str, feature_dim: int, num_classes: int, **params: Any) -> AdaptationMethod:
    """``create("adaptation", name, **params)``, passing ``feature_dim``/``num_classes`` to
    the methods whose constructor takes them (a discriminator's input size, CDAN's map)."""
    info = get_method("adaptation", name)
    accepted = inspect.signature(info.factory).parameters
    dims = {"feature_dim": feature_dim, "num_classes": num_classes}
    kwargs = {k: v for k, v in dims.items() if k in accepted and k not in params}
    from .._registry import create

    return create("adaptation", name, **kwargs, **params)
