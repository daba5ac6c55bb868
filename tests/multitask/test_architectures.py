"""Multi-task architectures: a conformance suite over the registry plus method-specific checks."""

from __future__ import annotations

import pytest
import torch

import transferkit
from transferkit.backbones import create_backbone
from transferkit.multitask import CrossStitch, SoftSharing, Task

TASKS = [Task("a", 3), Task("b", 1, kind="regression")]


def _make(name, backbone="mlp"):
    bb = (
        create_backbone("mlp", in_features=12, hidden=(10, 8))
        if backbone == "mlp"
        else create_backbone("lenet", in_channels=1, input_size=12, widths=(4, 6), feature_dim=16)
    )
    extra = {
        "mmoe": {"input_dim": 12 if backbone == "mlp" else 144, "num_experts": 3},
        "progressive": {"input_shape": (12,) if backbone == "mlp" else (1, 12, 12)},
    }.get(name, {})
    return transferkit.create("mtl_architecture", name, backbone=bb, tasks=TASKS, **extra)


ARCHS = [m.name for m in transferkit.list_methods("mtl_architecture")]


@pytest.mark.parametrize("backbone", ["mlp", "lenet"])
@pytest.mark.parametrize("name", ARCHS)
def test_conformance(name, backbone):
    model = _make(name, backbone)
    x = torch.randn(5, 12) if backbone == "mlp" else torch.randn(5, 1, 12, 12)
    out = model(x)
    assert set(out) == {"a", "b"}
    assert out["a"].shape == (5, 3) and out["b"].shape == (5, 1)
    loss = sum(t.loss(out[t.name], y) for t, y in zip(TASKS, [torch.randint(0, 3, (5,)), torch.randn(5)]))
    (loss + model.regularization()).backward()
    shared = {id(p) for p in model.shared_parameters()}
    task = {id(p) for p in model.task_parameters()}
    assert not shared & task, "a parameter is both shared and task-specific"
    assert shared | task == {id(p) for p in model.parameters()}
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_hard_sharing_representation():
    model = _make("hard_sharing")
    x = torch.randn(4, 12)
    z, out = model.forward_with_representation(x)
    assert z.shape == (4, 8)
    torch.testing.assert_close(out["a"], model.heads["a"](z))
    assert model.last_shared_parameters() == list(model.backbone.layer_groups()[-1].parameters())


def test_cross_stitch_identity_alphas_give_independent_towers():
    torch.manual_seed(0)
    model = _make("cross_stitch", "lenet")
    with torch.no_grad():
        for a in model.alphas:
            a.copy_(torch.eye(2))
    x = torch.randn(3, 1, 12, 12)
    out = model(x)
    h = x
    for g in model.columns[1]:
        h = g(h)
    torch.testing.assert_close(out["b"], model.heads["b"](torch.flatten(h, 1)))
    # default init of Misra et al.: 0.9 on the diagonal, 0.1 off it
    fresh = _make("cross_stitch")
    torch.testing.assert_close(fresh.alphas[0].data, torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    with pytest.raises(transferkit.ConfigError, match="stitch_after index 7"):
        CrossStitch(create_backbone("mlp", in_features=12, hidden=(10, 8)), TASKS, stitch_after=[7])


def test_soft_sharing_penalties():
    bb = create_backbone("mlp", in_features=4, hidden=(3,))
    m = SoftSharing(bb, TASKS, penalty="l2", strength=2.0)
    assert m.regularization().item() == 0.0  # same init
    with torch.no_grad():
        for p in m.towers["b"].parameters():
            p.add_(1.0)
    n = sum(p.numel() for p in m.towers["a"].parameters())
    assert m.distance().item() == pytest.approx(n, rel=1e-6)
    assert m.regularization().item() == pytest.approx(2 * n, rel=1e-6)
    t = SoftSharing(bb, TASKS, penalty="trace_norm")
    ref = sum(
        torch.linalg.svdvals(torch.stack([pa.reshape(-1), pb.reshape(-1)])).sum()
        for pa, pb in zip(t.towers["a"].parameters(), t.towers["b"].parameters())
    )
    assert t.distance().item() == pytest.approx(ref.item(), rel=1e-5)
    with pytest.raises(transferkit.ConfigError, match="strength must be > 0, got 0"):
        SoftSharing(bb, TASKS, strength=0)


def test_progressive_freezes_earlier_columns():
    torch.manual_seed(0)
    model = _make("progressive", "lenet")
    model.start_task(1)
    x = torch.randn(6, 1, 12, 12)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out0 = model(x)["a"].detach()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(x)["b"].pow(2).mean().backward()
        opt.step()
    after = model.state_dict()
    for k in before:
        changed = not torch.equal(before[k], after[k])
        if k.startswith(("columns.0.", "heads.a.")):
            assert not changed, f"frozen {k} changed"
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("columns.1."))
    assert torch.equal(model(x)["a"], out0)  # task a is never forgotten
    assert len(model.laterals[1][0]) == 1  # column 1 reads column 0
