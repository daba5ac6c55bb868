"""DANN: domain-adversarial neural network (Ganin & Lempitsky 2015; Ganin et al. 2016)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .._registry import register
from ._base import (
    AdaptationMethod,
    bce_domain_loss,
    binary_accuracy,
    check_nonneg,
    check_positive_int,
    domain_discriminator,
)
from ._grl import GradientReversal

__all__ = ["DANN"]


@register("adaptation", "dann")
class DANN(AdaptationMethod):
    """Domain-adversarial training: a domain classifier behind a gradient reversal layer.

    The loss is the domain classifier's binary cross-entropy (source = 1, target = 0) on
    ``GRL(f)``: minimising it trains the classifier to tell the domains apart while the
    reversed gradient trains the encoder to confuse it (Ganin & Lempitsky, "Unsupervised
    Domain Adaptation by Backpropagation", ICML 2015, eq. 9-13; Ganin et al.,
    "Domain-Adversarial Training of Neural Networks", JMLR 17(59), 2016, Algorithm 1).
    Each domain's loss is averaged separately so unequal batch sizes stay balanced.

    Args:
        feature_dim: dimension ``D`` of the features fed in.
        hidden: the domain classifier's hidden widths; (1024, 1024) is the paper's
            Office/SVHN classifier, (100,) its MNIST one, () a logistic regressor (the
            shallow DANN of JMLR 2016, Section 5.1).
        dropout: dropout between hidden layers (0.5 in the paper's Office classifier).
        grl_coeff: initial reversal coefficient; a loop sets it with ``set_grl_coeff``.
    """

    uses_grl = True

    def __init__(self, feature_dim: int, hidden: Sequence[int] = (1024, 1024),
                 dropout: float = 0.0, grl_coeff: float = 1.0):
        super().__init__()
        feature_dim = check_positive_int("feature_dim", feature_dim)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self._hparams = {"feature_dim": feature_dim, "hidden": tuple(hidden), "dropout": dropout}
        self.grl = GradientReversal(check_nonneg("grl_coeff", grl_coeff))
        self.discriminator = domain_discriminator(feature_dim, hidden, 1, dropout)

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        d = self.discriminator(self.grl(torch.cat([f_s, f_t]))).squeeze(1)
        return bce_domain_loss(d[: len(f_s)], d[len(f_s):])

    @torch.no_grad()
    def domain_accuracy(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                        logits_t: Tensor | None = None) -> float:
        d = self.discriminator(torch.cat([f_s, f_t])).squeeze(1)
        return binary_accuracy(d[: len(f_s)], d[len(f_s):])
