"""Deep CORAL: align second-order statistics (Sun & Saenko, ECCV 2016 workshops)."""

from __future__ import annotations

from torch import Tensor

from .._registry import register
from ..exceptions import DataError
from ._base import AdaptationMethod, check_nonneg

__all__ = ["DeepCORAL", "coral_loss"]


def _cov(f: Tensor) -> Tensor:
    f = f - f.mean(0, keepdim=True)
    return f.T @ f / (f.shape[0] - 1)


def coral_loss(f_s: Tensor, f_t: Tensor) -> Tensor:
    """``||C_s - C_t||_F^2 / (4 d^2)`` with unbiased covariances (Sun & Saenko 2016, eq. 1-3)."""
    for label, f in (("source", f_s), ("target", f_t)):
        if f.shape[0] < 2:
            raise DataError(f"CORAL needs >= 2 {label} samples to estimate a covariance, got {f.shape[0]}")
    d = f_s.shape[1]
    return ((_cov(f_s) - _cov(f_t)) ** 2).sum() / (4.0 * d * d)


@register("adaptation", "deep_coral")
class DeepCORAL(AdaptationMethod):
    """Deep CORAL: ``trade_off * ||C_s - C_t||_F^2 / (4 d^2)`` on the features.

    Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", ECCV 2016
    Workshops, eq. 1-5. The paper picks ``lambda`` so that the CORAL and classification losses
    are of the same order at the end of training; 1.0 is the usual default.

    Args:
        trade_off: weight ``lambda`` of the CORAL loss.
    """

    def __init__(self, trade_off: float = 1.0):
        super().__init__()
        self.trade_off = check_nonneg("trade_off", trade_off)
        self._hparams = {"trade_off": self.trade_off}

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        return self.trade_off * coral_loss(f_s, f_t)
