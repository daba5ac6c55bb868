"""Small shared helpers: optional imports, data root, seeding, parameter counts."""

from __future__ import annotations

import importlib
import os
import random
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from .exceptions import DataError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["require", "default_data_root", "seed_everything", "count_parameters"]


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or raise one clear error naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"'{module}' is needed for this feature but is not installed: "
            f'pip install "transferkit[{extra}]"  ({err})'
        ) from None


def default_data_root() -> Path:
    """``$TRANSFERKIT_DATA`` if set, else ``../shared/data`` next to the working directory."""
    env = os.environ.get("TRANSFERKIT_DATA")
    if env:
        return Path(env).expanduser()
    for base in (Path.cwd(), *Path.cwd().parents):
        cand = base.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return Path.cwd().parent / "shared" / "data"


def resolve_root(root: str | os.PathLike | None, subdir: str, what: str) -> Path:
    """The directory ``root/subdir`` (``root`` defaulting to :func:`default_data_root`), checked."""
    base = Path(root).expanduser() if root is not None else default_data_root()
    path = base / subdir if subdir and (base / subdir).is_dir() else base
    if not path.is_dir():
        raise DataError(
            f"{what}: data root '{path}' does not exist. Pass root=... or set TRANSFERKIT_DATA "
            "to the folder that holds the data sets."
        )
    return path


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch Generator seeded the same way."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
