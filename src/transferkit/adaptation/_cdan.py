"""CDAN and CDAN+E: conditional adversarial domain adaptation (Long et al., NeurIPS 2018)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
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
from ._grl import GradientReversal, grad_reverse

__all__ = ["CDAN", "cdan_e", "entropy", "multilinear_map"]

#: Long et al. (2018), Section 3.2: the exact multilinear map up to this many dimensions.
MAX_MULTILINEAR_DIM = 4096


def entropy(probs: Tensor) -> Tensor:
    """Per-sample Shannon entropy ``-sum_c p_c log p_c`` (natural log)."""
    return -(probs * torch.log(probs.clamp_min(1e-12))).sum(1)


def multilinear_map(f: Tensor, g: Tensor) -> Tensor:
    """Flattened outer product ``f (x) g``: ``[N, D] x [N, C] -> [N, D*C]``."""
    return torch.bmm(g.unsqueeze(2), f.unsqueeze(1)).flatten(1)


@register("adaptation", "cdan")
class CDAN(AdaptationMethod):
    """Conditional domain adversarial network: the domain classifier sees ``f (x) g``.

    Long, Cao, Wang, Jordan, "Conditional Adversarial Domain Adaptation", NeurIPS 2018.
    ``g = softmax(logits)`` (detached, as in the authors' code) conditions the classifier
    through the multilinear map ``T(f, g) = f (x) g`` (eq. 4), or, when ``D*C`` exceeds 4096 or
    ``randomized=True``, the randomized map ``(R_f f) . (R_g g) / sqrt(d)`` with fixed Gaussian
    ``R_f, R_g`` (eq. 5-6). With ``entropy_conditioning`` (CDAN+E, eq. 7-8) each sample is
    weighted by ``w = 1 + exp(-H(g))``, normalised to sum to one within each domain (the sums
    treated as constants, as in the authors' code).

    The entropy weights and the classifier: in the authors' code (github.com/thuml/CDAN,
    ``pytorch/loss.py``, ``CDAN(..., entropy, coeff)``) the entropy is *not* detached; a hook
    multiplies its gradient by ``-coeff`` (the reversal coefficient of that step), so that,
    through ``w``, the classifier is pushed to *raise* the weighted domain loss: to lower the
    entropy (raise the weight) of the samples the domain classifier finds hardest to tell
    apart. ``entropy_grad="reversed"`` (default) does the same with the current
    GRL coefficient; ``"detached"`` treats ``w`` as constants (no gradient through ``H``).

    Args:
        feature_dim: feature dimension ``D``.
        num_classes: number of classes ``C``.
        hidden: domain classifier hidden widths ((1024, 1024) in the paper).
        entropy_conditioning: CDAN+E.
        entropy_grad: CDAN+E only: ``"reversed"`` (the authors' code) or ``"detached"``.
        randomized: ``None`` chooses as the paper does (randomized iff ``D*C > 4096``).
        randomized_dim: output dimension ``d`` of the randomized map (1024 in the paper).
        dropout: dropout after each hidden layer of the domain classifier (0.5, the authors'
            ``AdversarialNetwork``).
        grl_coeff: initial reversal coefficient.
        seed: seed of the fixed random matrices.
    """

    uses_grl = True
    needs_logits = True

    def __init__(self, feature_dim: int, num_classes: int, hidden: Sequence[int] = (1024, 1024),
                 entropy_conditioning: bool = False, randomized: bool | None = None,
                 randomized_dim: int = 1024, dropout: float = 0.5, grl_coeff: float = 1.0,
                 seed: int = 0, entropy_grad: Literal["reversed", "detached"] = "reversed"):
        super().__init__()
        if entropy_grad not in ("reversed", "detached"):
            raise ValueError(f"entropy_grad must be 'reversed' or 'detached', got {entropy_grad!r}")
        feature_dim = check_positive_int("feature_dim", feature_dim)
        num_classes = check_positive_int("num_classes", num_classes)
        randomized_dim = check_positive_int("randomized_dim", randomized_dim)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if randomized is None:
            randomized = feature_dim * num_classes > MAX_MULTILINEAR_DIM
        self.entropy_conditioning = bool(entropy_conditioning)
        self.entropy_grad = entropy_grad
        self.randomized = bool(randomized)
        self.num_classes = num_classes
        self._hparams = {"feature_dim": feature_dim, "num_classes": num_classes,
                         "entropy_conditioning": self.entropy_conditioning,
                         "entropy_grad": entropy_grad, "dropout": float(dropout),
                         "randomized": self.randomized}
        self.grl = GradientReversal(check_nonneg("grl_coeff", grl_coeff))
        if self.randomized:
            gen = torch.Generator().manual_seed(int(seed))
            self.register_buffer("r_f", torch.randn(feature_dim, randomized_dim, generator=gen))
            self.register_buffer("r_g", torch.randn(num_classes, randomized_dim, generator=gen))
            in_dim = randomized_dim
        else:
            in_dim = feature_dim * num_classes
        self.discriminator = domain_discriminator(in_dim, hidden, 1, dropout)

    def _joint(self, f: Tensor, logits: Tensor) -> Tensor:
        g = logits.detach().softmax(1)
        if logits.shape[1] != self.num_classes:
            from ..exceptions import DataError

            raise DataError(f"CDAN was built for {self.num_classes} classes, logits have {logits.shape[1]}")
        if self.randomized:
            return (f @ self.r_f) * (g @ self.r_g) / math.sqrt(self.r_f.shape[1])
        return multilinear_map(f, g)

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        h = torch.cat([self._joint(f_s, logits_s), self._joint(f_t, logits_t)])
        d = self.discriminator(self.grl(h)).squeeze(1)
        ns = f_s.shape[0]
        if not self.entropy_conditioning:
            return bce_domain_loss(d[:ns], d[ns:])
        h_ent = entropy(torch.cat([logits_s, logits_t]).softmax(1))
        if self.entropy_grad == "reversed":
            h_ent = grad_reverse(h_ent, self.grl.coeff)
        else:
            h_ent = h_ent.detach()
        w = 1.0 + torch.exp(-h_ent)
        w_s, w_t = w[:ns], w[ns:]
        ls = F.binary_cross_entropy_with_logits(d[:ns], torch.ones_like(d[:ns]), reduction="none")
        lt = F.binary_cross_entropy_with_logits(d[ns:], torch.zeros_like(d[ns:]), reduction="none")
        # per-domain weighted means over constant sums, averaged (eq. 8; the authors' code)
        return 0.5 * ((w_s * ls).sum() / w_s.sum().detach() + (w_t * lt).sum() / w_t.sum().detach())

    @torch.no_grad()
    def domain_accuracy(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                        logits_t: Tensor | None = None) -> float | None:
        if logits_s is None or logits_t is None:
            return None
        d_s = self.discriminator(self._joint(f_s, logits_s)).squeeze(1)
        d_t = self.discriminator(self._joint(f_t, logits_t)).squeeze(1)
        return binary_accuracy(d_s, d_t)


@register("adaptation", "cdan_e")
def cdan_e(feature_dim: int, num_classes: int, hidden: Sequence[int] = (1024, 1024),
           randomized: bool | None = None, randomized_dim: int = 1024, dropout: float = 0.5,
           grl_coeff: float = 1.0, seed: int = 0,
           entropy_grad: Literal["reversed", "detached"] = "reversed") -> CDAN:
    """CDAN+E: CDAN with entropy conditioning (Long et al., NeurIPS 2018, eq. 8).

    ``entropy_grad="reversed"`` (default) back-propagates the reversed gradient through the
    entropy weights as the authors' code does; see :class:`CDAN`.
    """
    return CDAN(feature_dim, num_classes, hidden, True, randomized, randomized_dim, dropout,
                grl_coeff, seed, entropy_grad)
