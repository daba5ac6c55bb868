"""Learned bilinear compatibility ``F(x, y) = f(x)ᵀ W g(y)`` with ranking losses (torch).

* ALE: Z. Akata, F. Perronnin, Z. Harchaoui, C. Schmid, "Label-Embedding for Attribute-Based
  Classification", CVPR 2013, and "Label-Embedding for Image Classification", TPAMI 38(7),
  2016: the weighted approximate ranking (WARP) objective;
* SJE: Z. Akata, S. Reed, D. Walter, H. Lee, B. Schiele, "Evaluation of Output Embeddings for
  Fine-Grained Image Classification", CVPR 2015: the structured joint embedding hinge;
* DeViSE: A. Frome, G. S. Corrado, J. Shlens, S. Bengio, J. Dean, M. Ranzato, T. Mikolov,
  "DeViSE: A Deep Visual-Semantic Embedding Model", NIPS 2013: the hinge rank loss.

``f`` is either the identity on precomputed features or any ``nn.Module`` producing features
(a transferkit backbone's ``features``, or the module's output), trained end to end with ``W``.
``g(y)`` is the class embedding (attributes, word or description embeddings), fixed.

The losses are plain functions of a score matrix, usable in a user's own loop; the
estimators (:class:`ALE`, :class:`SJE`, :class:`DeViSE`) add a small mini-batch loop.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import ZeroShotClassifier, like_input

__all__ = [
    "ALE",
    "SJE",
    "DeViSE",
    "BilinearCompatibility",
    "ale_loss",
    "devise_loss",
    "sje_loss",
]

logger = logging.getLogger(__name__)


def _check_scores(scores: Tensor, target: Tensor) -> None:
    if scores.ndim != 2 or target.ndim != 1 or scores.shape[0] != target.shape[0]:
        raise DataError(
            f"ranking losses take scores [N, C] and targets [N], got {tuple(scores.shape)} and "
            f"{tuple(target.shape)}"
        )


def _violations(scores: Tensor, target: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """``Δ(y_n, y) + F(x_n, y) - F(x_n, y_n)`` with ``Δ = margin·[y != y_n]``, and the mask
    ``y != y_n``."""
    _check_scores(scores, target)
    true = scores.gather(1, target[:, None])
    others = torch.ones_like(scores, dtype=torch.bool).scatter_(1, target[:, None], False)
    return margin * others.to(scores.dtype) + scores - true, others


def ale_loss(scores: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    """ALE's weighted approximate-rank loss, averaged over the batch.

    Akata et al., TPAMI 2016 (the WSABIE/WARP rank weighting of Weston et al., IJCAI 2011):
    ``(β_r / r) Σ_{y≠y_n} max(0, Δ(y_n, y) + F(x_n, y) - F(x_n, y_n))`` where ``r`` is the
    number of classes that violate the margin (the rank of the true class, counted exactly
    over the candidates instead of estimated by sampling) and ``β_r = Σ_{i=1}^r 1/i``, which
    puts more weight on the top of the ranking. ``Δ`` is ``margin`` for a wrong class, 0 else.
    """
    viol, others = _violations(scores, target, margin)
    hinge = viol.clamp_min(0) * others
    rank = ((viol > 0) & others).sum(1)
    harmonic = torch.cumsum(1.0 / torch.arange(1, scores.shape[1] + 1, device=scores.device, dtype=scores.dtype), 0)
    beta = torch.where(rank > 0, harmonic[(rank - 1).clamp_min(0)], torch.zeros_like(hinge[:, 0]))
    weight = beta / rank.clamp_min(1).to(scores.dtype)
    return (weight * hinge.sum(1)).mean()


def sje_loss(scores: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    """SJE's structured hinge, averaged over the batch (Akata et al., CVPR 2015):
    ``max(0, max_y [Δ(y_n, y) + F(x_n, y)] - F(x_n, y_n))`` with ``Δ = margin·[y != y_n]``."""
    viol, _ = _violations(scores, target, margin)
    return viol.max(1).values.clamp_min(0).mean()


def devise_loss(scores: Tensor, target: Tensor, margin: float = 0.1) -> Tensor:
    """DeViSE's hinge rank loss, averaged over the batch (Frome et al., NIPS 2013):
    ``Σ_{j≠label} max(0, margin - t_labelᵀ M v(x) + t_jᵀ M v(x))``; the paper's margin is 0.1."""
    viol, others = _violations(scores, target, margin)
    return (viol.clamp_min(0) * others).sum(1).mean()


class BilinearCompatibility(nn.Module):
    """``F(x, c) = f(x)ᵀ W s_c`` for every class embedding ``s_c``: scores ``[N, C]``.

    Args:
        in_features: dimension of ``f(x)``.
        embedding_dim: dimension of the class embeddings.
        feature_extractor: ``f``; ``None`` for precomputed features (the identity). A module
            with a ``features`` method (the transferkit backbone protocol) is called through
            it, any other module directly.
        init_std: standard deviation of the Gaussian initialisation of ``W``
            (default ``1 / sqrt(in_features)``).
    """

    def __init__(self, in_features: int, embedding_dim: int, feature_extractor: nn.Module | None = None,
                 init_std: float | None = None):
        super().__init__()
        if int(in_features) <= 0 or int(embedding_dim) <= 0:
            raise ConfigError(f"in_features and embedding_dim must be > 0, got {in_features} and {embedding_dim}")
        self.feature_extractor = feature_extractor
        std = float(init_std) if init_std is not None else 1.0 / float(in_features) ** 0.5
        self.W = nn.Parameter(torch.randn(int(in_features), int(embedding_dim)) * std)

    def features(self, x: Tensor) -> Tensor:
        f = self.feature_extractor
        if f is None:
            return x
        return f.features(x) if hasattr(f, "features") else f(x)

    def forward(self, x: Tensor, class_embeddings: Tensor) -> Tensor:
        return self.features(x) @ self.W @ class_embeddings.T


def _feature_dim(extractor: nn.Module, x: Tensor) -> int:
    dim = getattr(extractor, "feature_dim", None)
    if isinstance(dim, int) and dim > 0:
        return dim
    with torch.no_grad():
        was = extractor.training
        extractor.eval()
        out = extractor.features(x[:2]) if hasattr(extractor, "features") else extractor(x[:2])
        extractor.train(was)
    return int(out.shape[1])


class _CompatibilityClassifier(ZeroShotClassifier):
    """Mini-batch training of a :class:`BilinearCompatibility` with one ranking loss."""

    _default_margin = 1.0

    def __init__(
        self,
        feature_extractor: nn.Module | None = None,
        margin: float | None = None,
        lr: float = 1e-3,
        epochs: int = 50,
        batch_size: int = 64,
        weight_decay: float = 0.0,
        optimizer: str = "adam",
        seed: int = 0,
        device: str = "cpu",
    ):
        margin = self._default_margin if margin is None else margin
        if not float(margin) > 0:
            raise ConfigError(f"margin must be > 0, got {margin}")
        if not float(lr) > 0:
            raise ConfigError(f"lr must be > 0, got {lr}")
        if int(epochs) <= 0:
            raise ConfigError(f"epochs must be > 0, got {epochs}")
        if int(batch_size) <= 0:
            raise ConfigError(f"batch_size must be > 0, got {batch_size}")
        if not float(weight_decay) >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}")
        if optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
        if feature_extractor is not None and not isinstance(feature_extractor, nn.Module):
            raise ConfigError(
                f"feature_extractor must be an nn.Module (or None for precomputed features), got "
                f"{type(feature_extractor).__name__}"
            )
        self.feature_extractor = feature_extractor
        self.margin = float(margin)
        self.lr = float(lr)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.weight_decay = float(weight_decay)
        self.optimizer = optimizer
        self.seed = int(seed)
        self.device = device

    def loss(self, scores: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def _tensor(self, X: Any) -> Tensor:
        t = X if isinstance(X, Tensor) else torch.as_tensor(np.asarray(X))
        return t.float().to(self.device) if t.is_floating_point() or t.dtype != torch.long else t.to(self.device)

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> _CompatibilityClassifier:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        Xt = self._tensor(X)
        if self.feature_extractor is not None:
            self.feature_extractor.to(self.device)
            in_features = _feature_dim(self.feature_extractor, Xt)
        else:
            Xt = Xt.reshape(len(Xt), -1)
            in_features = Xt.shape[1]
        self.model_ = BilinearCompatibility(in_features, S.shape[1], self.feature_extractor).to(self.device)
        S_seen = torch.as_tensor(S[self.seen_classes_], dtype=torch.float32, device=self.device)
        target = torch.as_tensor(self._seen_targets(y), device=self.device)
        params = [p for p in self.model_.parameters() if p.requires_grad]
        opt: torch.optim.Optimizer = (
            torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
            if self.optimizer == "adam"
            else torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay)
        )
        self.model_.train()
        self.loss_history_: list[float] = []
        n = len(Xt)
        for _ in range(self.epochs):
            order = torch.randperm(n, generator=gen).to(self.device)
            total = 0.0
            for k in range(0, n, self.batch_size):
                idx = order[k : k + self.batch_size]
                loss = self.loss(self.model_(Xt[idx], S_seen), target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            self.loss_history_.append(total / n)
        self.model_.eval()
        logger.debug("%s: final training loss %.4f", type(self).__name__, self.loss_history_[-1])
        return self

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        S, cand = self._candidates(class_embeddings, candidate_classes)
        if not hasattr(self, "model_"):
            raise ConfigError(f"{type(self).__name__} is not fitted: call fit first")
        Xt = self._tensor(X)
        if self.feature_extractor is None:
            Xt = Xt.reshape(len(Xt), -1)
        St = torch.as_tensor(S[cand], dtype=torch.float32, device=self.device)
        out = []
        with torch.no_grad():
            for k in range(0, len(Xt), 1024):
                out.append(self.model_(Xt[k : k + 1024], St).cpu())
        scores = torch.cat(out).numpy().astype(np.float64)
        return like_input(X, scores)


@register("zeroshot", "ale")
class ALE(_CompatibilityClassifier):
    """Attribute Label Embedding: ``f(x)ᵀ W g(y)`` trained with the weighted approximate
    ranking loss :func:`ale_loss` (Akata et al., CVPR 2013 / TPAMI 2016).

    Args:
        feature_extractor: ``f``, any ``nn.Module`` producing features (trained end to end),
            or ``None`` when ``X`` already holds features.
        margin: ``Δ`` for a wrong class (paper: the 0/1 loss, i.e. 1).
        lr, epochs, batch_size, weight_decay, optimizer: the mini-batch loop (the paper uses
            SGD with lr and epochs chosen on validation classes; Adam is our default).
        seed: seeds the initialisation of ``W`` and the batch order.
        device: where to train.
    """

    def loss(self, scores: Tensor, target: Tensor) -> Tensor:
        return ale_loss(scores, target, self.margin)


@register("zeroshot", "sje")
class SJE(_CompatibilityClassifier):
    """Structured Joint Embedding: ``f(x)ᵀ W g(y)`` trained with the structured SVM hinge
    :func:`sje_loss` (Akata et al., CVPR 2015), with one output embedding.

    Args: as for :class:`ALE` (``margin``: ``Δ`` for a wrong class, the 0/1 loss, i.e. 1).
    """

    def loss(self, scores: Tensor, target: Tensor) -> Tensor:
        return sje_loss(scores, target, self.margin)


@register("zeroshot", "devise")
class DeViSE(_CompatibilityClassifier):
    """DeViSE: ``v(x)ᵀ Mᵀ t_y`` trained with the hinge rank loss :func:`devise_loss`
    (Frome et al., NIPS 2013), margin 0.1 as in the paper.

    Args: as for :class:`ALE` (``margin`` default 0.1, the paper's).
    """

    _default_margin = 0.1

    def loss(self, scores: Tensor, target: Tensor) -> Tensor:
        return devise_loss(scores, target, self.margin)
