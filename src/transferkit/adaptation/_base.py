"""The interface shared by every adaptation method, and its input checks.

A method is an ``nn.Module`` that turns a source batch and a target batch into one scalar
adaptation loss::

    method = transferkit.create("adaptation", "dann", feature_dim=128)
    f_s, f_t = backbone.features(x_s), backbone.features(x_t)
    logits_s, logits_t = backbone.head(f_s), backbone.head(f_t)
    loss = method.source_loss(logits_s, y_s) + method(
        f_s, f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s
    )

``source_loss`` is the source classification loss (cross-entropy; PADA re-weights it by
class). Adversarial methods hold a :class:`~transferkit.adaptation.GradientReversal` whose
coefficient the training loop sets with :meth:`AdaptationMethod.set_grl_coeff` from a
:class:`~transferkit.adaptation.GRLSchedule`; methods carry no step counter of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..exceptions import DataError

__all__ = ["AdaptationMethod", "check_nonneg", "check_positive_int", "domain_discriminator"]


def check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError(f"{name} must be an integer > 0, got {value}")
    return int(value)


def check_nonneg(name: str, value: float) -> float:
    value = float(value)
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def domain_discriminator(in_features: int, hidden: Sequence[int], out_features: int = 1,
                         dropout: float = 0.0) -> nn.Sequential:
    """An MLP ``in -> hidden... -> out`` with ReLU (and dropout) between layers."""
    layers: list[nn.Module] = []
    prev = in_features
    for i, width in enumerate(hidden):
        layers += [nn.Linear(prev, check_positive_int(f"hidden[{i}]", width)), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        prev = int(width)
    layers.append(nn.Linear(prev, out_features))
    return nn.Sequential(*layers)


class AdaptationMethod(nn.Module):
    """Base class: ``forward(f_s, f_t, *, logits_s, logits_t, y_s) -> scalar loss``.

    Class attributes tell a training loop what the method needs:

    * ``needs_logits``: ``logits_s``/``logits_t`` must be given;
    * ``needs_labels``: ``y_s`` must be given to ``forward``;
    * ``uses_grl``: the method reverses gradients; set the coefficient with
      :meth:`set_grl_coeff`;
    * ``uses_target``: ``False`` only for the source-only baseline;
    * ``has_class_weights``: call :meth:`update_class_weights` with target predictions
      (partial transfer: PADA, SAN).
    """

    needs_logits: bool = False
    needs_labels: bool = False
    uses_grl: bool = False
    uses_target: bool = True
    has_class_weights: bool = False

    def set_grl_coeff(self, coeff: float) -> None:
        """Set the gradient-reversal coefficient (no-op for non-adversarial methods)."""
        grl = getattr(self, "grl", None)
        if grl is not None:
            grl.set_coeff(coeff)

    def source_loss(self, logits_s: Tensor, y_s: Tensor) -> Tensor:
        """Source classification loss; plain cross-entropy unless a method re-weights it."""
        _check_labels(logits_s, y_s)
        return F.cross_entropy(logits_s, y_s)

    def domain_accuracy(self, f_s: Tensor, f_t: Tensor, *, logits_s: Tensor | None = None,
                        logits_t: Tensor | None = None) -> float | None:
        """Accuracy of the method's domain classifier on these batches (None if it has none)."""
        return None

    def _check(self, f_s: Tensor, f_t: Tensor, logits_s: Tensor | None,
               logits_t: Tensor | None, y_s: Tensor | None) -> None:
        name = type(self).__name__
        for label, f in (("source", f_s), ("target", f_t)):
            if not isinstance(f, Tensor) or f.dim() != 2:
                shape = tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__
                raise DataError(f"{name}: {label} features must be a 2-D tensor [N, D], got {shape}")
            if f.shape[0] == 0:
                raise DataError(f"{name}: the {label} batch is empty (0 samples)")
        if f_s.shape[1] != f_t.shape[1]:
            raise DataError(
                f"{name}: source features have dimension {f_s.shape[1]} but target features "
                f"have dimension {f_t.shape[1]}; they must come from the same encoder"
            )
        if self.needs_logits:
            if logits_s is None or logits_t is None:
                raise DataError(f"{name} needs logits_s and logits_t (the classifier outputs)")
            for label, f, lg in (("source", f_s, logits_s), ("target", f_t, logits_t)):
                if lg.dim() != 2 or lg.shape[0] != f.shape[0]:
                    raise DataError(
                        f"{name}: {label} logits have shape {tuple(lg.shape)}, expected "
                        f"[{f.shape[0]}, num_classes] to match the {label} features"
                    )
            if logits_s.shape[1] != logits_t.shape[1]:
                raise DataError(
                    f"{name}: source logits have {logits_s.shape[1]} classes, target logits "
                    f"{logits_t.shape[1]}"
                )
        if self.needs_labels:
            if y_s is None:
                raise DataError(f"{name} needs source labels y_s; the source batch has none")
            if y_s.shape[0] != f_s.shape[0]:
                raise DataError(
                    f"{name}: {y_s.shape[0]} source labels for {f_s.shape[0]} source features"
                )

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in getattr(self, "_hparams", {}).items())


def _check_labels(logits_s: Tensor, y_s: Tensor | None) -> None:
    if y_s is None:
        raise DataError("the source batch has no labels (y_s is None); source labels are required")
    if y_s.shape[0] != logits_s.shape[0]:
        raise DataError(f"{y_s.shape[0]} source labels for {logits_s.shape[0]} source logits")


def bce_domain_loss(d_s: Tensor, d_t: Tensor, w_s: Tensor | None = None,
                    w_t: Tensor | None = None) -> Tensor:
    """Binary cross-entropy with source = 1 and target = 0, each domain averaged then halved.

    Averaging per domain before summing keeps the loss balanced when the two batches have
    different sizes. Optional per-sample weights form weighted means inside each domain.
    """
    ls = F.binary_cross_entropy_with_logits(d_s, torch.ones_like(d_s), reduction="none")
    lt = F.binary_cross_entropy_with_logits(d_t, torch.zeros_like(d_t), reduction="none")
    ms = ls.mean() if w_s is None else (w_s * ls).sum() / w_s.sum().clamp_min(1e-12)
    mt = lt.mean() if w_t is None else (w_t * lt).sum() / w_t.sum().clamp_min(1e-12)
    return 0.5 * (ms + mt)


def binary_accuracy(d_s: Tensor, d_t: Tensor) -> float:
    """Balanced accuracy of a source(1)/target(0) classifier given its logits."""
    acc_s = (d_s > 0).float().mean()
    acc_t = (d_t <= 0).float().mean()
    return float(0.5 * (acc_s + acc_t))
