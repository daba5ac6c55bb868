"""Adapter that plugs any ``torchjd`` aggregator into transferkit's aggregator interface."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .._registry import register
from .._utils import require
from ._aggregator_base import Aggregator

__all__ = ["TorchJDAggregator"]


@register("aggregator", "torchjd")
class TorchJDAggregator(Aggregator):
    """Any ``torchjd.aggregation`` aggregator, by instance or by class name plus parameters.

    ``TorchJDAggregator("UPGrad")`` or ``TorchJDAggregator(torchjd.aggregation.MGDA())``.
    Gramian-based torchjd aggregators (MGDA, UPGrad, PCGrad, CAGrad, IMTLG, ...) expose their
    weights, so they also work with the representation (UB) mode of ``mtl_backward``. Others
    (e.g. ConFIG, GradDrop) aggregate the Jacobian directly; their reported weights are the
    least-squares coefficients of the direction on the task gradients.
    """

    def __init__(self, aggregator: Any = "UPGrad", **params: Any) -> None:
        agg_mod = require("torchjd.aggregation", "dev")
        if isinstance(aggregator, str):
            if not hasattr(agg_mod, aggregator):
                from ..exceptions import UnknownNameError, suggest

                names = [n for n in agg_mod.__all__ if n[0].isupper()]
                raise UnknownNameError(
                    f"torchjd has no aggregator '{aggregator}'.{suggest(aggregator, names)} "
                    f"Valid: {', '.join(names)}."
                )
            aggregator = getattr(agg_mod, aggregator)(**params)
        elif params:
            raise ValueError("params are only accepted with an aggregator given by name")
        self.aggregator = aggregator

    @property
    def _gramian_weighting(self) -> Any:
        return getattr(self.aggregator, "gramian_weighting", None)

    def weights(self, gramian: Tensor) -> Tensor:
        gw = self._gramian_weighting
        if gw is None:
            raise TypeError(
                f"{self.aggregator!r} is not Gramian-based: it has no weights for a Gramian alone; "
                "call it on the Jacobian instead"
            )
        return gw(gramian)

    def aggregate(self, jacobian: Tensor) -> tuple[Tensor, Tensor]:
        if self._gramian_weighting is not None:
            return super().aggregate(jacobian)
        d = self.aggregator(jacobian)
        w = torch.linalg.lstsq(jacobian.T.double(), d.double()[:, None]).solution[:, 0]
        return d, w.to(jacobian.dtype)
