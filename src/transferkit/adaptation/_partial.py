"""Partial transfer (target classes a subset of the source's): SAN and PADA.

Both estimate how much each source class is present in the target from the classifier's
averaged target predictions, ``gamma = mean_j softmax(logits_t[j])`` normalised by its
maximum. That estimate is explicit state: a training loop calls
:meth:`update_class_weights` with target predictions (PADA's authors refresh it every few
hundred steps over the whole target set); until then every class weighs 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register
from ..exceptions import DataError
from ._base import (
    AdaptationMethod,
    _check_labels,
    binary_accuracy,
    check_nonneg,
    check_positive_int,
    domain_discriminator,
)
from ._cdan import entropy
from ._grl import GradientReversal

__all__ = ["PADA", "SAN", "class_weights_from_predictions"]


def class_weights_from_predictions(probs_t: Tensor) -> Tensor:
    """``gamma = mean_j probs_t[j]``, divided by its maximum (Cao et al. 2018, eq. 6)."""
    if probs_t.dim() != 2 or probs_t.shape[0] == 0:
        raise DataError(f"target predictions must be a non-empty [N, C] tensor, got {tuple(probs_t.shape)}")
    gamma = probs_t.detach().float().mean(0)
    return gamma / gamma.max().clamp_min(1e-12)


class _ClassWeighted(AdaptationMethod):
    has_class_weights = True
    needs_logits = True

    def _init_weights(self, num_classes: int) -> None:
        self.register_buffer("class_weights", torch.ones(num_classes))

    @torch.no_grad()
    def update_class_weights(self, probs_t: Tensor) -> Tensor:
        """Set ``class_weights`` from target class probabilities ``[N, C]``; return them."""
        gamma = class_weights_from_predictions(probs_t)
        if gamma.shape[0] != self.class_weights.shape[0]:
            raise DataError(
                f"{type(self).__name__} was built for {self.class_weights.shape[0]} classes, "
                f"target predictions have {gamma.shape[0]}"
            )
        self.class_weights.copy_(gamma.to(self.class_weights))
        return self.class_weights.clone()


class _GroupedMLP(nn.Module):
    """``K`` independent MLPs ``D -> hidden -> 1`` evaluated together: ``[N, D] -> [N, K]``."""

    def __init__(self, in_features: int, hidden: Sequence[int], groups: int):
        super().__init__()
        dims = [in_features, *[check_positive_int(f"hidden[{i}]", h) for i, h in enumerate(hidden)], 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(a)  # nn.Linear's default initialisation range
            self.weights.append(nn.Parameter(torch.empty(groups, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(groups, b).uniform_(-bound, bound)))

    def forward(self, x: Tensor) -> Tensor:
        h = torch.einsum("nd,kdh->nkh", x, self.weights[0]) + self.biases[0]
        for w, b in zip(self.weights[1:], self.biases[1:]):
            h = torch.einsum("nkd,kdh->nkh", torch.relu(h), w) + b
        return h.squeeze(2)


@register("adaptation", "san")
class SAN(_ClassWeighted):
    """Selective adversarial network: one domain discriminator per source class.

    Cao, Long, Wang, Jordan, "Partial Transfer Learning with Selective Adversarial
    Networks", CVPR 2018, eq. 4-7. Discriminator ``k`` sees every sample weighted by its
    predicted probability of class ``k`` (probability-weighted instance selection), its loss
    is weighted by the class-level weight ``gamma_k`` (averaged target predictions, see
    :meth:`update_class_weights`), and the target prediction entropy is minimised::

        loss = entropy_weight * mean_t H(p_t)
               + 1/(n_s+n_t) sum_k gamma_k sum_i p_i^k BCE(D_k(GRL(f_i)), d_i)

    Two estimates of the class weights ``gamma`` (``class_weighting``):

    * ``"target_max"`` (default): the authors' code (github.com/thuml/SAN,
      ``pytorch/src/train_san_w_t.py``): the training loop refreshes ``gamma`` over the *whole*
      target set (:meth:`update_class_weights`, once per epoch in
      :func:`~transferkit.training.adaptation.fit_adaptation`) and divides it by its maximum;
    * ``"batch_mean"``: the paper's eq. 6, ``gamma_k = 1/n_t sum_j p_j^k`` over the current
      target mini-batch (predictions held constant), not renormalised.

    ``"target_max"`` is the default because it is what produced the paper's reported results,
    because dividing by the maximum keeps the weights of the present classes near 1 (so the
    adversarial term has DANN's scale and the trade-off ``lambda`` keeps its meaning whatever
    the number of classes, while batch means sum to 1 and shrink it by about ``C``), and
    because a whole-target estimate does not swing with a mini-batch that misses a class.

    Args:
        feature_dim: feature dimension.
        num_classes: number of source classes (= discriminators).
        hidden: hidden widths of each discriminator ((1024, 1024) in the paper).
        entropy_weight: weight of the target entropy term (1 in eq. 7).
        grl_coeff: initial reversal coefficient (the paper's lambda, scheduled).
        class_weighting: ``"target_max"`` (authors' code) or ``"batch_mean"`` (paper's eq. 6).
    """

    uses_grl = True

    def __init__(self, feature_dim: int, num_classes: int, hidden: Sequence[int] = (1024, 1024),
                 entropy_weight: float = 1.0, grl_coeff: float = 1.0,
                 class_weighting: Literal["target_max", "batch_mean"] = "target_max"):
        super().__init__()
        if class_weighting not in ("target_max", "batch_mean"):
            raise ValueError(
                f"class_weighting must be 'target_max' or 'batch_mean', got {class_weighting!r}"
            )
        self.class_weighting = class_weighting
        # batch_mean computes gamma inside forward: nothing for a training loop to refresh
        self.has_class_weights = class_weighting == "target_max"
        feature_dim = check_positive_int("feature_dim", feature_dim)
        num_classes = check_positive_int("num_classes", num_classes)
        self.entropy_weight = check_nonneg("entropy_weight", entropy_weight)
        self._hparams = {"feature_dim": feature_dim, "num_classes": num_classes,
                         "hidden": tuple(hidden), "entropy_weight": self.entropy_weight,
                         "class_weighting": class_weighting}
        self.grl = GradientReversal(check_nonneg("grl_coeff", grl_coeff))
        self.discriminators = _GroupedMLP(feature_dim, hidden, num_classes)
        self._init_weights(num_classes)

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        if logits_s.shape[1] != self.class_weights.shape[0]:
            raise DataError(f"SAN was built for {self.class_weights.shape[0]} classes, logits have {logits_s.shape[1]}")
        ns = f_s.shape[0]
        d = self.discriminators(self.grl(torch.cat([f_s, f_t])))  # [N, K]
        labels = torch.cat([d.new_ones(ns), d.new_zeros(f_t.shape[0])])[:, None].expand_as(d)
        bce = F.binary_cross_entropy_with_logits(d, labels, reduction="none")
        probs = torch.cat([logits_s, logits_t]).detach().softmax(1)
        if self.class_weighting == "batch_mean":  # eq. 6: the target batch's mean prediction
            gamma = probs[ns:].mean(0)
        else:
            gamma = self.class_weights
        adv = (bce * probs * gamma).sum() / d.shape[0]
        ent = entropy(logits_t.softmax(1)).mean()
        return adv + self.entropy_weight * ent

    @torch.no_grad()
    def domain_accuracy(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                        logits_t: Tensor | None = None) -> float | None:
        if logits_s is None or logits_t is None:
            return None
        def pick(f, lg):
            return self.discriminators(f).gather(1, lg.argmax(1, keepdim=True)).squeeze(1)
        return binary_accuracy(pick(f_s, logits_s), pick(f_t, logits_t))


@register("adaptation", "pada")
class PADA(_ClassWeighted):
    """Partial adversarial domain adaptation: class weights on the source side of DANN.

    Cao, Ma, Long, Wang, "Partial Adversarial Domain Adaptation", ECCV 2018, eq. 3-4. With
    ``gamma`` the class weights (:meth:`update_class_weights`), the source classification loss
    becomes ``1/n_s sum_i gamma_{y_i} CE_i`` (:meth:`source_loss`) and the adversarial loss
    ``1/2 (1/n_s sum_i gamma_{y_i} BCE(D(GRL f_i), 1) + 1/n_t sum_j BCE(D(GRL f_j), 0))``
    (halved per domain as in :class:`~transferkit.adaptation.DANN`).

    Args:
        feature_dim: feature dimension.
        num_classes: number of source classes.
        hidden: domain classifier hidden widths ((1024, 1024) in the paper).
        dropout: dropout in the domain classifier.
        grl_coeff: initial reversal coefficient (scheduled).
    """

    uses_grl = True
    needs_labels = True
    needs_logits = False

    def __init__(self, feature_dim: int, num_classes: int, hidden: Sequence[int] = (1024, 1024),
                 dropout: float = 0.0, grl_coeff: float = 1.0):
        super().__init__()
        feature_dim = check_positive_int("feature_dim", feature_dim)
        num_classes = check_positive_int("num_classes", num_classes)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self._hparams = {"feature_dim": feature_dim, "num_classes": num_classes, "hidden": tuple(hidden)}
        self.grl = GradientReversal(check_nonneg("grl_coeff", grl_coeff))
        self.discriminator = domain_discriminator(feature_dim, hidden, 1, dropout)
        self._init_weights(num_classes)

    def source_loss(self, logits_s: Tensor, y_s: Tensor) -> Tensor:
        _check_labels(logits_s, y_s)
        return (self.class_weights[y_s] * F.cross_entropy(logits_s, y_s, reduction="none")).mean()

    def forward(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                logits_t: Tensor | None = None, y_s: Tensor | None = None) -> Tensor:
        self._check(f_s, f_t, logits_s, logits_t, y_s)
        ns = f_s.shape[0]
        d = self.discriminator(self.grl(torch.cat([f_s, f_t]))).squeeze(1)
        ls = F.binary_cross_entropy_with_logits(d[:ns], torch.ones_like(d[:ns]), reduction="none")
        lt = F.binary_cross_entropy_with_logits(d[ns:], torch.zeros_like(d[ns:]))
        return 0.5 * ((self.class_weights[y_s] * ls).mean() + lt)

    @torch.no_grad()
    def domain_accuracy(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                        logits_t: Tensor | None = None) -> float:
        d = self.discriminator(torch.cat([f_s, f_t])).squeeze(1)
        return binary_accuracy(d[: len(f_s)], d[len(f_s):])
