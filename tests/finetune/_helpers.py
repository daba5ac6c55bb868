"""Small backbones and data shared by the fine-tuning tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from transferkit.backbones import SequentialBackbone
from transferkit.data import Domain


def bn_dropout_backbone(num_outputs: int = 4, width: int = 8, seed: int = 1) -> SequentialBackbone:
    """Three layer groups, each with batch norm and dropout, on 1 x 8 x 8 images."""
    torch.manual_seed(seed)
    groups = [
        nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3)),
        nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.3)),
        nn.Sequential(
            nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, width), nn.BatchNorm1d(width),
            nn.ReLU(), nn.Dropout(0.3),
        ),
    ]
    return SequentialBackbone(groups, width, num_outputs)


def image_domain(n: int = 24, classes: int = 3, channels: int = 1, size: int = 8, seed: int = 0) -> Domain:
    """Class ``c`` brightens rows ``2c, 2c+1``: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.random((n, channels, size, size), dtype=np.float32) * 0.3
    for c in range(classes):
        X[y == c, :, c * 2 : c * 2 + 2] += 0.7
    return Domain(X, y.astype(np.int64), "toy", classes)


def bn_buffers(module: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of every batch-norm buffer (running mean, variance, batch count) of ``module``."""
    return {
        f"{name}.{b}": buf.detach().clone()
        for name, m in module.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for b, buf in m.named_buffers(recurse=False)
    }
