"""Small built-in backbones for CPU work: an MLP, a LeNet-style CNN and a small ResNet."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._registry import register
from ._base import SequentialBackbone

__all__ = ["mlp", "lenet", "small_resnet"]


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if int(value) <= 0:
            raise ValueError(f"{key} must be > 0, got {value}")


@register("backbone", "mlp")
def mlp(
    in_features: int = 64,
    hidden: Sequence[int] = (256, 128),
    num_outputs: int = 0,
    dropout: float = 0.0,
    pretrained: bool = False,
) -> SequentialBackbone:
    """Multi-layer perceptron on flat features; one layer group per hidden layer."""
    if pretrained:
        raise ValueError("the built-in 'mlp' has no pretrained weights; pretrain it on a source")
    _check_positive(in_features=in_features, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    groups: list[nn.Module] = [nn.Flatten()]
    prev = int(in_features)
    for width in hidden:
        layers: list[nn.Module] = [nn.Linear(prev, int(width)), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        groups.append(nn.Sequential(*layers))
        prev = int(width)
    # the flatten is folded into the first group so that layer groups hold parameters
    groups = [nn.Sequential(groups[0], *groups[1])] + groups[2:]
    return SequentialBackbone(groups, prev, num_outputs)


def _conv_out_dim(groups: Sequence[nn.Module], in_channels: int, input_size: int) -> int:
    with torch.no_grad():
        x = torch.zeros(1, in_channels, input_size, input_size)
        for g in groups:
            x = g(x)
    return int(x.flatten(1).shape[1])


@register("backbone", "lenet")
def lenet(
    in_channels: int = 1,
    input_size: int = 28,
    num_outputs: int = 0,
    widths: Sequence[int] = (32, 64),
    feature_dim: int = 128,
    pretrained: bool = False,
) -> SequentialBackbone:
    """LeNet-style CNN: two conv-relu-pool blocks and a fully connected feature layer."""
    if pretrained:
        raise ValueError("the built-in 'lenet' has no pretrained weights; pretrain it on a source")
    _check_positive(in_channels=in_channels, input_size=input_size, feature_dim=feature_dim)
    c1, c2 = (int(w) for w in widths)
    conv1 = nn.Sequential(nn.Conv2d(in_channels, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    conv2 = nn.Sequential(nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    flat = _conv_out_dim([conv1, conv2], in_channels, input_size)
    fc = nn.Sequential(nn.Flatten(), nn.Linear(flat, feature_dim), nn.ReLU())
    return SequentialBackbone([conv1, conv2, fc], feature_dim, num_outputs)


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.short(x))


@register("backbone", "small_resnet")
def small_resnet(
    in_channels: int = 3,
    num_outputs: int = 0,
    widths: Sequence[int] = (16, 32, 64),
    pretrained: bool = False,
) -> SequentialBackbone:
    """A small ResNet (stem + one basic block per stage + global pooling) for CPU work."""
    if pretrained:
        raise ValueError(
            "the built-in 'small_resnet' has no pretrained weights; pretrain it on a source"
        )
    _check_positive(in_channels=in_channels)
    widths = [int(w) for w in widths]
    stem = nn.Sequential(
        nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
    )
    stages: list[nn.Module] = []
    prev = widths[0]
    for i, w in enumerate(widths):
        stages.append(_BasicBlock(prev, w, 1 if i == 0 else 2))
        prev = w
    stages[-1] = nn.Sequential(stages[-1], nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return SequentialBackbone([stem, *stages], prev, num_outputs)
