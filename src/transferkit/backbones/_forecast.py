"""Self-supervised pretraining of a sequence encoder by forecasting, for task transfer from
prediction to classification.

:class:`ForecastPretext` puts a linear head on any backbone's features and scores how well the
encoder's summary of a series' past predicts its next ``horizon`` values (mean squared error
on every channel). Forecasting needs no labels, so any unlabelled series can pretrain the
encoder; the next values act as the pretext task's targets. Only the encoder is kept: after pretraining, the backbone goes to any fine-tuning strategy with a fresh
classification head.

Usable in a plain loop::

    pretext = ForecastPretext(backbone, horizon=8)
    opt = torch.optim.Adam(pretext.parameters(), lr=1e-3)
    for x in loader:                       # unlabelled [N, C, T] series
        loss = pretext.loss(x, generator=g)
        opt.zero_grad(); loss.backward(); opt.step()

or through :func:`pretrain_forecasting`, which runs that loop.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._base import Backbone

__all__ = ["ForecastPretext", "pretrain_forecasting"]


class ForecastPretext(nn.Module):
    """Forecast the next ``horizon`` values of every channel from the features of the past.

    Args:
        backbone: a sequence backbone (``features([N, C, T]) -> [N, D]``); its head is unused.
        in_channels: channels of the series (the forecast covers each of them).
        horizon: number of future values predicted (> 0).
        min_context: the shortest past a cut may leave, as a fraction of ``T - horizon``; each
            call of :meth:`loss` with a generator draws one cut point uniformly between it and
            ``T - horizon`` (1.0: always forecast the last ``horizon`` values).
    """

    def __init__(self, backbone: Backbone, in_channels: int = 1, horizon: int = 8, min_context: float = 0.5):
        super().__init__()
        if int(horizon) <= 0:
            raise ValueError(f"horizon must be > 0, got {horizon}")
        if int(in_channels) <= 0:
            raise ValueError(f"in_channels must be > 0, got {in_channels}")
        if not 0.0 < min_context <= 1.0:
            raise ValueError(f"min_context must be in (0, 1], got {min_context}")
        self.backbone = backbone
        self.horizon = int(horizon)
        self.in_channels = int(in_channels)
        self.min_context = float(min_context)
        self.forecast = nn.Linear(backbone.feature_dim, self.in_channels * self.horizon)

    def cut(self, length: int, generator: torch.Generator | None = None) -> int:
        """The cut point: the past is ``x[..., :cut]``, the future ``x[..., cut:cut + horizon]``."""
        last = length - self.horizon
        if last < 1:
            raise ValueError(f"series of length {length} leave no past before a horizon of {self.horizon}")
        if generator is None:
            return last
        first = max(1, int(np.ceil(self.min_context * last)))
        return int(torch.randint(first, last + 1, (1,), generator=generator).item())

    def forward(self, past: Tensor) -> Tensor:
        """Predicted future ``[N, C, horizon]`` from the past ``[N, C, t]``."""
        n = past.shape[0]
        return self.forecast(self.backbone.features(past)).view(n, self.in_channels, self.horizon)

    def loss(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Mean squared error of the forecast at one cut point (the last one without a generator)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        c = self.cut(x.shape[-1], generator)
        return F.mse_loss(self(x[..., :c]), x[..., c : c + self.horizon])


def pretrain_forecasting(
    backbone: Backbone,
    X: np.ndarray | Tensor,
    horizon: int = 8,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    min_context: float = 0.5,
    seed: int = 0,
) -> list[float]:
    """Pretrain ``backbone``'s encoder in place by forecasting on unlabelled series ``X``
    ``[N, C, T]`` (Adam; one random cut point per batch). Returns the mean loss of each epoch."""
    if epochs <= 0 or batch_size <= 0 or lr <= 0:
        raise ValueError(f"epochs, batch_size and lr must be > 0, got {epochs}, {batch_size}, {lr}")
    x = torch.as_tensor(np.asarray(X) if not isinstance(X, Tensor) else X, dtype=torch.float32)
    if x.dim() == 2:
        x = x.unsqueeze(1)
    torch.manual_seed(seed)
    pretext = ForecastPretext(backbone, x.shape[1], horizon, min_context)
    opt = torch.optim.Adam(pretext.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    pretext.train()
    history = []
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        total, count = 0.0, 0
        for i in range(0, len(x), batch_size):
            xb = x[perm[i : i + batch_size]]
            if len(xb) < 2:  # batch norm needs two samples
                continue
            loss = pretext.loss(xb, generator=g)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(xb)
            count += len(xb)
        history.append(total / max(count, 1))
    return history
