"""Sequence backbones for univariate and multivariate time series ``[N, C, T]`` of any length.

Every net here follows the backbone protocol (:mod:`transferkit.backbones._base`): the
encoder ends in a pooling over time, so ``features(x)`` is ``[N, feature_dim]`` whatever ``T``
is, and a ``[N, T]`` input is read as univariate (``C = 1``). Each is registered in the
``backbone`` family, so every fine-tuning strategy, adaptation method and multi-task
architecture takes it unchanged.

* ``fcn``: the Fully Convolutional Network of Wang, Yan & Oates, "Time series classification
  from scratch with deep neural networks: a strong baseline", IJCNN 2017 (Sec. III-B): three
  convolution blocks with 128, 256, 128 filters of lengths 8, 5, 3 (stride 1, length kept),
  batch norm and ReLU, then global average pooling (feature_dim 128).
* ``resnet1d``: the ResNet of the same paper (Sec. III-C): three residual blocks of 64, 128,
  128 filters, each three convolutions of lengths 8, 5, 3 with batch norm and ReLU, a shortcut
  (1x1 convolution + batch norm where the width changes, batch norm otherwise) added before the
  last ReLU, then global average pooling (feature_dim 128).
* ``inception_time``: one network of the InceptionTime ensemble, Ismail Fawaz et al.,
  "InceptionTime: finding AlexNet for time series classification", DMKD 34, 2020 (Sec. 3):
  six Inception modules (bottleneck of 32 channels where the input has more than one channel,
  convolutions of lengths 40, 20, 10 with 32 filters each, a max-pool of 3 followed by a 1x1
  convolution of 32 filters, concatenated to 128 channels, batch norm, ReLU) with a residual
  connection every three modules, then global average pooling (feature_dim 128).
* ``rnn``: an LSTM or GRU encoder (Hochreiter & Schmidhuber 1997; Cho et al. 2014); the
  features are the top layer's hidden state after the last time step.
* ``ts_transformer``: a small Transformer encoder (Vaswani et al. 2017) on time steps: a 1x1
  convolution to ``d_model``, sinusoidal positions (any length), ``num_layers`` encoder layers,
  mean pooling over time.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._registry import register
from ._base import Backbone

__all__ = ["SequenceBackbone", "fcn", "resnet1d", "inception_time", "rnn", "ts_transformer"]


def _as_series(x: Tensor) -> Tensor:
    """``[N, T]`` -> ``[N, 1, T]``; ``[N, C, T]`` unchanged; anything else is refused."""
    if x.dim() == 2:
        return x.unsqueeze(1)
    if x.dim() != 3:
        raise ValueError(
            f"a sequence backbone takes series [N, C, T] (or [N, T] univariate), got shape {tuple(x.shape)}"
        )
    return x


def _check_channels(x: Tensor, in_channels: int, name: str) -> None:
    if x.shape[1] != in_channels:
        raise ValueError(
            f"backbone '{name}' was built for in_channels={in_channels} but got series with "
            f"{x.shape[1]} channels (shape {tuple(x.shape)}); pass in_channels={x.shape[1]}"
        )


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if int(value) <= 0:
            raise ValueError(f"{key} must be > 0, got {value}")


def _no_pretrained(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(f"the built-in '{name}' has no pretrained weights; pretrain it on a source")


class _GlobalAvgPool(nn.Module):
    """Mean over the time axis: ``[N, C, T] -> [N, C]``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=-1)


class SequenceBackbone(Backbone):
    """Blocks applied in order to ``[N, C, T]`` series; the last block pools over time."""

    def __init__(self, name: str, groups: Sequence[nn.Module], in_channels: int, feature_dim: int,
                 num_outputs: int = 0):
        super().__init__()
        self.name = name
        self.in_channels = int(in_channels)
        self.blocks = nn.ModuleList(groups)
        self.feature_dim = int(feature_dim)
        self.reset_head(num_outputs)

    def features(self, x: Tensor) -> Tensor:
        x = _as_series(x)
        _check_channels(x, self.in_channels, self.name)
        for block in self.blocks:
            x = block(x)
        return x

    def layer_groups(self) -> list[nn.Module]:
        return list(self.blocks)


def _same_conv(cin: int, cout: int, kernel: int, bias: bool = True) -> nn.Sequential:
    """Stride-1 convolution that keeps the length ('same' padding as Keras pads it: for an even
    kernel the extra zero goes on the right). The padding is its own module, so the convolution
    is a plain ``nn.Conv1d`` (adapters such as LoRA wrap it unchanged) and torch's copy for
    ``padding='same'`` with even kernels is avoided."""
    total = kernel - 1
    return nn.Sequential(nn.ConstantPad1d((total // 2, total - total // 2), 0.0),
                         nn.Conv1d(cin, cout, kernel, bias=bias))


def _conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(_same_conv(cin, cout, kernel), nn.BatchNorm1d(cout), nn.ReLU())


@register("backbone", "fcn")
def fcn(
    in_channels: int = 1,
    num_outputs: int = 0,
    filters: Sequence[int] = (128, 256, 128),
    kernel_sizes: Sequence[int] = (8, 5, 3),
    pretrained: bool = False,
) -> SequenceBackbone:
    """FCN for time series (Wang, Yan & Oates, IJCNN 2017): conv 128/8, 256/5, 128/3 + GAP."""
    _no_pretrained("fcn", pretrained)
    _check_positive(in_channels=in_channels)
    if len(filters) != len(kernel_sizes) or not filters:
        raise ValueError(
            f"filters and kernel_sizes must be non-empty and of one length, got {list(filters)} and {list(kernel_sizes)}"
        )
    _check_positive(**{f"filters[{i}]": f for i, f in enumerate(filters)},
                    **{f"kernel_sizes[{i}]": k for i, k in enumerate(kernel_sizes)})
    groups: list[nn.Module] = []
    prev = int(in_channels)
    for f, k in zip(filters, kernel_sizes):
        groups.append(_conv_bn_relu(prev, int(f), int(k)))
        prev = int(f)
    groups[-1] = nn.Sequential(*groups[-1], _GlobalAvgPool())
    return SequenceBackbone("fcn", groups, in_channels, prev, num_outputs)


class _ResidualBlock1d(nn.Module):
    """Three convolutions (8, 5, 3) with batch norm; shortcut added before the last ReLU."""

    def __init__(self, cin: int, cout: int, kernel_sizes: Sequence[int]):
        super().__init__()
        layers: list[nn.Module] = []
        prev = cin
        for i, k in enumerate(kernel_sizes):
            layers += [_same_conv(prev, cout, int(k)), nn.BatchNorm1d(cout)]
            if i < len(kernel_sizes) - 1:
                layers.append(nn.ReLU())
            prev = cout
        self.body = nn.Sequential(*layers)
        self.shortcut = (
            nn.BatchNorm1d(cout) if cin == cout
            else nn.Sequential(nn.Conv1d(cin, cout, 1), nn.BatchNorm1d(cout))
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


@register("backbone", "resnet1d")
def resnet1d(
    in_channels: int = 1,
    num_outputs: int = 0,
    filters: Sequence[int] = (64, 128, 128),
    kernel_sizes: Sequence[int] = (8, 5, 3),
    pretrained: bool = False,
) -> SequenceBackbone:
    """ResNet for time series (Wang, Yan & Oates, IJCNN 2017): blocks of 64, 128, 128 filters."""
    _no_pretrained("resnet1d", pretrained)
    _check_positive(in_channels=in_channels, **{f"filters[{i}]": f for i, f in enumerate(filters)},
                    **{f"kernel_sizes[{i}]": k for i, k in enumerate(kernel_sizes)})
    if not filters or not kernel_sizes:
        raise ValueError("filters and kernel_sizes must be non-empty")
    groups: list[nn.Module] = []
    prev = int(in_channels)
    for f in filters:
        groups.append(_ResidualBlock1d(prev, int(f), kernel_sizes))
        prev = int(f)
    groups[-1] = nn.Sequential(groups[-1], _GlobalAvgPool())
    return SequenceBackbone("resnet1d", groups, in_channels, prev, num_outputs)


class _InceptionModule(nn.Module):
    """Bottleneck, three parallel convolutions and a max-pool branch, concatenated (Sec. 3.1)."""

    def __init__(self, cin: int, n_filters: int, kernel_sizes: Sequence[int], bottleneck: int):
        super().__init__()
        use_bottleneck = bottleneck > 0 and cin > 1
        self.bottleneck = nn.Conv1d(cin, bottleneck, 1, bias=False) if use_bottleneck else nn.Identity()
        width = bottleneck if use_bottleneck else cin
        self.convs = nn.ModuleList(
            _same_conv(width, n_filters, int(k), bias=False) for k in kernel_sizes
        )
        self.pool = nn.MaxPool1d(3, stride=1, padding=1)
        self.pool_conv = nn.Conv1d(cin, n_filters, 1, bias=False)
        out = n_filters * (len(kernel_sizes) + 1)
        self.bn = nn.BatchNorm1d(out)
        self.out_channels = out

    def forward(self, x: Tensor) -> Tensor:
        z = self.bottleneck(x)
        branches = [conv(z) for conv in self.convs] + [self.pool_conv(self.pool(x))]
        return torch.relu(self.bn(torch.cat(branches, dim=1)))


class _InceptionBlock(nn.Module):
    """``depth`` Inception modules with one residual connection around them."""

    def __init__(self, cin: int, depth: int, n_filters: int, kernel_sizes: Sequence[int], bottleneck: int):
        super().__init__()
        mods = []
        prev = cin
        for _ in range(depth):
            m = _InceptionModule(prev, n_filters, kernel_sizes, bottleneck)
            mods.append(m)
            prev = m.out_channels
        self.modules_ = nn.Sequential(*mods)
        self.shortcut = nn.Sequential(nn.Conv1d(cin, prev, 1, bias=False), nn.BatchNorm1d(prev))
        self.out_channels = prev

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.modules_(x) + self.shortcut(x))


@register("backbone", "inception_time")
def inception_time(
    in_channels: int = 1,
    num_outputs: int = 0,
    depth: int = 6,
    n_filters: int = 32,
    kernel_sizes: Sequence[int] = (40, 20, 10),
    bottleneck: int = 32,
    residual_every: int = 3,
    pretrained: bool = False,
) -> SequenceBackbone:
    """One InceptionTime network (Ismail Fawaz et al., DMKD 2020): 6 modules, residual every 3.

    Layer groups are the residual blocks (``depth / residual_every`` of them).
    """
    _no_pretrained("inception_time", pretrained)
    _check_positive(in_channels=in_channels, depth=depth, n_filters=n_filters,
                    residual_every=residual_every)
    if bottleneck < 0:
        raise ValueError(f"bottleneck must be >= 0 (0: none), got {bottleneck}")
    if depth % residual_every:
        raise ValueError(f"depth must be a multiple of residual_every, got depth={depth}, residual_every={residual_every}")
    groups: list[nn.Module] = []
    prev = int(in_channels)
    for _ in range(depth // residual_every):
        block = _InceptionBlock(prev, residual_every, n_filters, kernel_sizes, bottleneck)
        groups.append(block)
        prev = block.out_channels
    groups[-1] = nn.Sequential(groups[-1], _GlobalAvgPool())
    return SequenceBackbone("inception_time", groups, in_channels, prev, num_outputs)


class _RNNLayer(nn.Module):
    """One recurrent layer on ``[N, T, C]``; the last layer returns its final hidden state."""

    def __init__(self, cell: str, cin: int, hidden: int, dropout: float, last: bool):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(cin, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout) if dropout and not last else nn.Identity()
        self.last = last

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x)
        return out[:, -1] if self.last else self.drop(out)


class _TimeMajor(nn.Module):
    """``[N, C, T] -> [N, T, C]``, folded into the first recurrent layer group."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(1, 2)


@register("backbone", "rnn")
def rnn(
    in_channels: int = 1,
    num_outputs: int = 0,
    cell: str = "lstm",
    hidden: int = 128,
    num_layers: int = 2,
    dropout: float = 0.0,
    pretrained: bool = False,
) -> SequenceBackbone:
    """LSTM or GRU encoder; one layer group per recurrent layer; features: last hidden state."""
    _no_pretrained("rnn", pretrained)
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be 'lstm' or 'gru', got '{cell}'")
    _check_positive(in_channels=in_channels, hidden=hidden, num_layers=num_layers)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    groups: list[nn.Module] = []
    prev = int(in_channels)
    for i in range(num_layers):
        layer = _RNNLayer(cell, prev, int(hidden), dropout, last=i == num_layers - 1)
        groups.append(nn.Sequential(_TimeMajor(), layer) if i == 0 else layer)
        prev = int(hidden)
    return SequenceBackbone("rnn", groups, in_channels, hidden, num_outputs)


class _Embed(nn.Module):
    """1x1 convolution to ``d_model`` plus sinusoidal positions (Vaswani et al. 2017, Sec. 3.5)."""

    def __init__(self, cin: int, d_model: int):
        super().__init__()
        self.proj = nn.Conv1d(cin, d_model, 1)
        self.d_model = d_model

    def forward(self, x: Tensor) -> Tensor:
        z = self.proj(x).transpose(1, 2)  # [N, T, d]
        t = torch.arange(z.shape[1], device=z.device, dtype=z.dtype).unsqueeze(1)
        i = torch.arange(0, self.d_model, 2, device=z.device, dtype=z.dtype)
        angle = t / torch.pow(torch.tensor(10000.0, device=z.device, dtype=z.dtype), i / self.d_model)
        pe = torch.zeros(z.shape[1], self.d_model, device=z.device, dtype=z.dtype)
        pe[:, 0::2] = torch.sin(angle)
        pe[:, 1::2] = torch.cos(angle[:, : self.d_model // 2])
        return z + pe


class _MeanOverTime(nn.Module):
    def __init__(self, d_model: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.mean(dim=1))


@register("backbone", "ts_transformer")
def ts_transformer(
    in_channels: int = 1,
    num_outputs: int = 0,
    d_model: int = 64,
    nhead: int = 4,
    num_layers: int = 2,
    dim_feedforward: int = 128,
    dropout: float = 0.1,
    pretrained: bool = False,
) -> SequenceBackbone:
    """A small Transformer encoder over time steps; mean-pooled, layer-normed features."""
    _no_pretrained("ts_transformer", pretrained)
    _check_positive(in_channels=in_channels, d_model=d_model, nhead=nhead, num_layers=num_layers,
                    dim_feedforward=dim_feedforward)
    if d_model % nhead or d_model % 2:
        raise ValueError(f"d_model must be even and a multiple of nhead, got d_model={d_model}, nhead={nhead}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    layers = [
        nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, batch_first=True)
        for _ in range(num_layers)
    ]
    groups: list[nn.Module] = [_Embed(int(in_channels), d_model), *layers[:-1],
                               nn.Sequential(layers[-1], _MeanOverTime(d_model))]
    return SequenceBackbone("ts_transformer", groups, in_channels, d_model, num_outputs)
