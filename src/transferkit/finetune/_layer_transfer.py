"""Layer transfer: copy the pretrained layers and freeze some of them (Yosinski et al. 2014)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from .._registry import register
from ..exceptions import ConfigError
from ._base import FineTuneStrategy, check_lr_scale, freeze

__all__ = ["LayerTransfer"]


@register("finetune", "layer_transfer")
class LayerTransfer(FineTuneStrategy):
    """Freeze the first ``k`` layer groups (or the last ``k``, or those matching name patterns).

    Args:
        k: number of layer groups to freeze, counted from the input (``which="first"``) or
            from the output (``which="last"``). Ignored when ``patterns`` is given.
        which: ``"first"`` (the usual choice: generic low-level features stay fixed) or
            ``"last"`` (keep the task-specific top fixed, re-learn the input layers, as in
            speech where the input domain shifts).
        patterns: ``fnmatch`` patterns over parameter names (``"blocks.0.*"``); matching
            parameters are frozen.
        backbone_lr_scale: multiplier of the base learning rate for the pretrained layers
            that still train (the new head trains at the base rate).

    Reference: J. Yosinski et al., "How transferable are features in deep neural networks?",
    NeurIPS 2014.
    """

    def __init__(
        self,
        k: int = 1,
        which: str = "first",
        patterns: Sequence[str] | None = None,
        backbone_lr_scale: float = 1.0,
    ):
        if which not in ("first", "last"):
            raise ConfigError(f"which must be 'first' or 'last', got '{which}'")
        if patterns is None and k < 0:
            raise ConfigError(f"k must be >= 0, got {k}")
        self.k = int(k)
        self.which = which
        self.patterns = list(patterns) if patterns is not None else None
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)

    def _configure(self, model) -> None:
        if self.patterns is not None:
            matched = 0
            for name, p in model.named_parameters():
                if any(fnmatch.fnmatch(name, pat) for pat in self.patterns):
                    p.requires_grad_(False)
                    matched += 1
            if matched == 0:
                names = [n for n, _ in model.named_parameters()][:8]
                raise ConfigError(
                    f"no parameter name matches patterns {self.patterns}; names look like {names}"
                )
            return
        groups = model.layer_groups()
        if self.k > len(groups):
            raise ConfigError(
                f"k={self.k} exceeds the backbone's {len(groups)} layer groups"
            )
        chosen = groups[: self.k] if self.which == "first" else groups[len(groups) - self.k :]
        for g in chosen:
            freeze(g)
