"""Masked losses: average over labelled entries only; no labels -> finite zero, zero grad."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from transferkit.exceptions import ConfigError
from transferkit.multitask import Task, masked_loss, masked_metric


def test_classification_ignores_missing_labels():
    out = torch.randn(5, 4)
    y = torch.tensor([1, -1, 3, -1, 0])
    keep = y >= 0
    ref = F.cross_entropy(out[keep], y[keep])
    torch.testing.assert_close(masked_loss(out, y, "classification"), ref)


def test_multilabel_nan_and_mask():
    out = torch.randn(4, 3)
    y = torch.tensor([[1.0, 0.0, float("nan")], [0.0, float("nan"), 1.0], [1, 1, 0], [0, 0, 0]])
    m = torch.isfinite(y)
    ref = F.binary_cross_entropy_with_logits(out[m], y[m])
    torch.testing.assert_close(masked_loss(out, y, "multilabel"), ref)
    y2 = torch.nan_to_num(y, nan=-1.0)  # -1 also marks unknown labels
    torch.testing.assert_close(masked_loss(out, y2, "multilabel"), ref)
    mask = torch.ones_like(y, dtype=torch.bool)
    mask[0, 0] = False  # an explicit mask removes more entries
    m2 = m & mask
    torch.testing.assert_close(
        masked_loss(out, y, "multilabel", mask=mask),
        F.binary_cross_entropy_with_logits(out[m2], y[m2]),
    )


def test_regression_and_dense():
    out = torch.randn(6, 1)
    y = torch.tensor([1.0, float("nan"), 2.0, 0.5, float("nan"), 3.0])
    m = torch.isfinite(y)
    torch.testing.assert_close(masked_loss(out, y, "regression"), ((out[:, 0][m] - y[m]) ** 2).mean())
    seg = torch.randn(2, 3, 4, 4)
    lab = torch.randint(0, 3, (2, 4, 4))
    lab[0, :2] = -1
    k = lab >= 0
    ref = F.cross_entropy(seg.permute(0, 2, 3, 1)[k], lab[k])
    torch.testing.assert_close(masked_loss(seg, lab, "dense_classification"), ref)


@pytest.mark.parametrize(
    "kind,out_shape,target",
    [
        ("classification", (4, 3), torch.full((4,), -1)),
        ("multilabel", (4, 3), torch.full((4, 3), float("nan"))),
        ("regression", (4, 2), torch.full((4, 2), float("nan"))),
        ("dense_classification", (2, 3, 4, 4), torch.full((2, 4, 4), -1)),
        ("dense_regression", (2, 1, 4, 4), torch.full((2, 1, 4, 4), float("nan"))),
    ],
)
def test_no_labels_gives_finite_zero_and_zero_grad(kind, out_shape, target):
    out = torch.randn(*out_shape, requires_grad=True)
    loss = masked_loss(out, target, kind)
    assert torch.isfinite(loss) and loss.item() == 0.0
    loss.backward()
    assert torch.all(out.grad == 0) and torch.isfinite(out.grad).all()
    assert masked_metric("mse" if "regression" in kind else "accuracy", out, target, kind)[1] == 0


def test_metrics_count_labelled_only():
    out = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    acc, n = masked_metric("accuracy", out, torch.tensor([0, -1, 1]), "classification")
    assert (acc, n) == (0.5, 2)
    v, n = masked_metric("mse", torch.tensor([1.0, 2.0]), torch.tensor([0.0, float("nan")]), "regression")
    assert (v, n) == (1.0, 1)
    assert math.isnan(masked_metric("mae", torch.zeros(2), torch.full((2,), float("nan")), "regression")[0])


def test_task_validation():
    with pytest.raises(ConfigError, match="kind must be one of"):
        Task("a", 3, kind="segmentation")
    with pytest.raises(ConfigError, match="out_dim must be > 0, got 0"):
        Task("a", 0)
    t = Task("depth", 1, kind="regression")
    assert t.main_metric == "mse" and t.higher_is_better is False
    with pytest.raises(ValueError, match="same shape"):
        masked_loss(torch.zeros(3, 2), torch.zeros(3, 3), "regression")
