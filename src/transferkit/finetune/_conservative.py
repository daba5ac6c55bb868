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
from ..exceptions import ConfigError
from ._base import FineTuneStrategy, check_lr_scale, check_state_keys, freeze

__all__ = ["L2SP", "LearningWithoutForgetting", "BSS"]


def _check_nonneg(**values: float) -> None:
    for key, value in values.items():
        if not value >= 0:
            raise ConfigError(f"{key} must be >= 0, got {value}")


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
        encoder = {n: p for n, p in model.named_parameters() if not n.startswith("head.")}
        self._start = {n: p.detach().clone() for n, p in encoder.items()}

    def state_dict(self) -> dict:
        """``{"start": {parameter name: pretrained value}}``: the point ``w_S^0`` pulled back to."""
        return {"start": dict(self._start)} if self._start else {}

    def load_state_dict(self, state: dict) -> None:
        check_state_keys(self, state)
        if not state:
            return
        start = state["start"]
        if set(start) != set(self._start):
            raise ConfigError(
                f"L2SP state names other parameters than the prepared model: missing "
                f"{sorted(set(self._start) - set(start))[:5]}, unexpected {sorted(set(start) - set(self._start))[:5]}"
            )
        self._start = {
            n: start[n].detach().clone().to(device=ref.device, dtype=ref.dtype) for n, ref in self._start.items()
        }

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


class _FrozenTeacher(nn.Module):
    """A frozen copy of the pretrained model, always in eval mode: ``train()`` keeps it in eval,
    so its batch-norm statistics never move and its dropout stays off."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        freeze(model)
        super().train(False)

    def train(self, mode: bool = True) -> _FrozenTeacher:
        return super().train(False)

    def forward(self, x) -> Tensor:
        return self.model(x)


@register("finetune", "lwf")
class LearningWithoutForgetting(FineTuneStrategy):
    """Learning without forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2017): keep the outputs of
    the old (source) task while learning the new one.

    The loss added to the new task's cross-entropy is the paper's knowledge-distillation loss
    on the old task's outputs, weighted by ``lam`` (the paper's lambda_o)::

        lam * mean_n [ - sum_i p_old(i) * log p_new(i) ]
        p_old = softmax(z_old / T),  p_new = softmax(z_new / T)

    ``z_old`` are the logits of the frozen pretrained model (its source head, in eval mode)
    and ``z_new`` those of the old-task head kept by this strategy on the current features;
    that head keeps training, as the paper's ``theta_o`` does (eq. 2, Sec. 3; T=2, lambda_o=1).
    At the start (student == teacher) the term equals the entropy of ``p_old``, its minimum;
    it is at most ``lam * log(C_old)`` there, whatever the feature dimension. The paper's
    warm-up (training the new head alone before the joint phase) is not part of this strategy.

    The backbone must carry its source head (``num_outputs > 0``: a backbone pretrained on
    the source with a head, or ``num_outputs=None`` for packaged weights); without one there
    is no old task to remember and ``prepare`` raises a :class:`ConfigError`.

    Args:
        lam: lambda_o, the weight of the old task (>= 0; paper: 1).
        temperature: T (> 0; paper: 2).
        backbone_lr_scale: multiplier of the base learning rate for the pretrained encoder and
            the old-task head (the new head trains at the base rate).
        t_squared: multiply the term by ``T**2`` (Hinton, Vinyals, Dean, "Distilling the
            Knowledge in a Neural Network", 2015, keeps gradient magnitudes independent of T).
            Off by default: LwF's loss has no such factor, and at T=2 it weighs the old task
            4x lambda_o.
    """

    def __init__(
        self,
        lam: float = 1.0,
        temperature: float = 2.0,
        backbone_lr_scale: float = 0.1,
        t_squared: bool = False,
    ):
        _check_nonneg(lam=lam)
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        if not isinstance(t_squared, bool):
            raise ConfigError(f"t_squared must be True or False, got {t_squared!r}")
        self.lam, self.temperature = float(lam), float(temperature)
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)
        self.t_squared = t_squared
        self._teacher: _FrozenTeacher | None = None
        self._source_head: nn.Module | None = None

    @property
    def teacher(self) -> nn.Module | None:
        """The frozen pretrained model (source head included), or None before ``prepare``."""
        return self._teacher.model if self._teacher is not None else None

    @property
    def source_head(self) -> nn.Module | None:
        """The old task's head that trains on the current features (``theta_o``)."""
        return self._source_head

    def prepare(self, backbone, num_classes, reuse_head=False):
        self._check_prepare(backbone, num_classes, reuse_head)
        if not backbone.num_outputs:
            raise ConfigError(
                "lwf distils the source task's outputs and needs the backbone's source head, "
                "but this backbone has none (num_outputs=0): pretrain it on the source with a "
                "head, or create a packaged one with num_outputs=None to keep its pretrained head"
            )
        self._teacher = _FrozenTeacher(copy.deepcopy(backbone))
        self._source_head = copy.deepcopy(backbone.head)
        freeze(self._source_head, False)
        return super().prepare(backbone, num_classes, reuse_head)

    def _require_prepared(self) -> tuple[_FrozenTeacher, nn.Module]:
        if self._teacher is None or self._source_head is None:
            raise RuntimeError("call prepare(model, num_classes) before training")
        return self._teacher, self._source_head

    def trainable_modules(self) -> dict[str, nn.Module]:
        return {"source_head": self._source_head} if self._source_head is not None else {}

    def param_groups(self, model, lr):
        """The base groups plus the old-task head at the encoder's rate."""
        _, head = self._require_prepared()
        ref = next(model.parameters())
        head.to(device=ref.device, dtype=ref.dtype)  # in place: the optimizer gets the parameters used
        groups = super().param_groups(model, lr)
        groups.append({
            "params": [p for p in head.parameters() if p.requires_grad],
            "lr": lr * self.backbone_lr_scale, "name": "source_head",
        })
        return [g for g in groups if g["params"]]

    def regularizer(self, model, x, features, logits) -> Tensor:
        teacher, head = self._require_prepared()
        ref = next(teacher.parameters(), None)
        if ref is not None and ref.device != features.device:
            teacher.to(features.device)
        if next(head.parameters()).device != features.device:
            head.to(features.device)
        t = self.temperature
        with torch.no_grad():
            p_old = F.softmax(teacher(x).float() / t, dim=1)
        log_p_new = F.log_softmax(head(features).float() / t, dim=1)
        distill = -(p_old * log_p_new).sum(dim=1).mean()
        return self.lam * (t * t if self.t_squared else 1.0) * distill

    def state_dict(self) -> dict:
        """``{"teacher": ..., "source_head": ...}``: the frozen pretrained model and the
        old-task head (both ``nn.Module`` state dicts); empty before ``prepare``."""
        if self._teacher is None or self._source_head is None:
            return {}
        return {"teacher": self._teacher.model.state_dict(), "source_head": self._source_head.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        check_state_keys(self, state)
        if state:
            self._teacher.model.load_state_dict(state["teacher"])
            self._source_head.load_state_dict(state["source_head"])


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
            raise ConfigError(f"k must be >= 1, got {k}")
        self.eta, self.k = float(eta), int(k)
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)

    def regularizer(self, model, x, features, logits) -> Tensor:
        s = torch.linalg.svdvals(features.float())
        k = min(self.k, s.numel())
        return self.eta * s[-k:].pow(2).sum()
