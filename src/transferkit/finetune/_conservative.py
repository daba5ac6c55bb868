"""Conservative training: keep the fine-tuned model close to the pretrained one.

* :class:`L2SP` keeps the *parameters* close (Li, Grandvalet, Davoine, ICML 2018).
* :class:`LearningWithoutForgetting` keeps the *outputs* close (Li & Hoiem, TPAMI 2017).
* :class:`BSS` shrinks the smallest singular values of the features (Chen et al., NeurIPS 2019).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register
from ._base import FineTuneStrategy, check_lr_scale, freeze

__all__ = ["L2SP", "LearningWithoutForgetting", "BSS"]


def _check_nonneg(**values: float) -> None:
    for key, value in values.items():
        if not value >= 0:
            raise ValueError(f"{key} must be >= 0, got {value}")


@register("finetune", "l2_sp")
class L2SP(FineTuneStrategy):
    """L2-SP: ``alpha/2 * ||w_S - w_S^0||^2 + beta/2 * ||w_head||^2``.

    The first term pulls the shared (pretrained) weights back to their starting point
    ``w_S^0``; the second is plain weight decay on the new head. Defaults follow the paper's
    image-classification setting (alpha=0.1, beta=0.01). Li, Grandvalet, Davoine, "Explicit
    inductive bias for transfer learning with convolutional networks", ICML 2018, eq. (3).
    """

    def __init__(self, alpha: float = 0.1, beta: float = 0.01, backbone_lr_scale: float = 0.1):
        _check_nonneg(alpha=alpha, beta=beta)
        self.alpha, self.beta = float(alpha), float(beta)
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)
        self._start: dict[str, Tensor] = {}

    def _configure(self, model) -> None:
        encoder = {n: p for n, p in model.named_parameters() if not n.startswith(("head.", "source_head."))}
        self._start = {n: p.detach().clone() for n, p in encoder.items()}

    def penalty_sp(self, model: nn.Module) -> Tensor:
        """``1/2 * ||w_S - w_S^0||^2`` over the pretrained parameters (without alpha)."""
        total = None
        for name, p in model.named_parameters():
            ref = self._start.get(name)
            if ref is None:
                continue
            if ref.device != p.device:
                ref = self._start[name] = ref.to(p.device)
            term = (p - ref).pow(2).sum()
            total = term if total is None else total + term
        if total is None:
            raise RuntimeError("call prepare(model, num_classes) before computing the penalty")
        return 0.5 * total

    def regularizer(self, model, x, features, logits) -> Tensor:
        head = sum(p.pow(2).sum() for p in model.head.parameters())
        return self.alpha * self.penalty_sp(model) + 0.5 * self.beta * head


@register("finetune", "lwf")
class LearningWithoutForgetting(FineTuneStrategy):
    """Learning without forgetting: distil the pretrained model's outputs while fine-tuning.

    With a source head (the backbone was pretrained with ``num_outputs > 0``), the loss adds
    ``lam * T^2 * KL(softmax(z_old / T) || softmax(z_new / T))`` where ``z_old`` are the frozen
    pretrained model's source logits and ``z_new`` the current model's source-head logits on the
    same target batch; the source head keeps training, as in the paper (T=2, lam=1). Without a
    source head it distils features instead: ``lam * mean ||f_new - f_old||^2``.
    Li & Hoiem, "Learning without Forgetting", TPAMI 2017, eq. (2).
    """

    def __init__(self, lam: float = 1.0, temperature: float = 2.0, backbone_lr_scale: float = 0.1):
        _check_nonneg(lam=lam)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.lam, self.temperature = float(lam), float(temperature)
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)
        self._teacher: nn.Module | None = None

    def prepare(self, backbone, num_classes, reuse_head=False):
        teacher = copy.deepcopy(backbone)
        freeze(teacher)
        self._teacher = teacher.eval()
        model = super().prepare(backbone, num_classes, reuse_head)
        if hasattr(model, "source_head"):
            freeze(model.source_head, False)  # the old task's head keeps learning
        return model

    def regularizer(self, model, x, features, logits) -> Tensor:
        if self._teacher is None:
            raise RuntimeError("call prepare(model, num_classes) before training")
        ref = next(self._teacher.parameters(), None)
        if ref is not None and ref.device != features.device:
            self._teacher.to(features.device)
        self._teacher.eval()
        with torch.no_grad():
            old_feats = self._teacher.features(x)
            old_logits = self._teacher.head(old_feats) if hasattr(model, "source_head") else None
        if old_logits is None:
            return self.lam * (features - old_feats).pow(2).sum(1).mean()
        t = self.temperature
        new_logits = model.source_head(features)
        kl = F.kl_div(
            F.log_softmax(new_logits / t, 1), F.log_softmax(old_logits / t, 1),
            reduction="batchmean", log_target=True,
        )
        return self.lam * t * t * kl


@register("finetune", "bss")
class BSS(FineTuneStrategy):
    """Batch spectral shrinkage: ``eta * sum of the k smallest squared singular values`` of the
    batch feature matrix, suppressing the untransferable spectral components while all weights
    fine-tune. Chen, Wang, Fu, Long, Wang, "Catastrophic Forgetting Meets Negative Transfer",
    NeurIPS 2019, eq. (5) (eta=0.001, k=1).
    """

    def __init__(self, eta: float = 0.001, k: int = 1, backbone_lr_scale: float = 0.1):
        _check_nonneg(eta=eta)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.eta, self.k = float(eta), int(k)
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)

    def regularizer(self, model, x, features, logits) -> Tensor:
        s = torch.linalg.svdvals(features.float())
        k = min(self.k, s.numel())
        return self.eta * s[-k:].pow(2).sum()




