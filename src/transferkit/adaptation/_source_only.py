"""Source-only baseline: no adaptation loss, the classifier trained on the source alone."""

from __future__ import annotations

from torch import Tensor

from .._registry import register
from ._base import AdaptationMethod

__all__ = ["SourceOnly"]


@register("adaptation", "source_only")
class SourceOnly(AdaptationMethod):
    """Source-only baseline (no adaptation): ``forward`` returns 0, ``source_loss`` is CE."""

    uses_target = False

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        return f_s.new_zeros(())
