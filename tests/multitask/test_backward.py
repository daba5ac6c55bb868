"""mtl_backward: full-Jacobian and representation (UB) modes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from transferkit.multitask import MGDA, Sum, UPGrad, gramian, mtl_backward


def _model():
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh())
    heads = nn.ModuleList([nn.Linear(6, 1), nn.Linear(6, 1), nn.Linear(6, 1)])
    x = torch.randn(16, 5)
    ys = [torch.randn(16, 1) for _ in range(3)]
    return trunk, heads, x, ys


def _losses(trunk, heads, x, ys):
    z = trunk(x)
    return z, [((h(z) - y) ** 2).mean() for h, y in zip(heads, ys)]


def test_sum_aggregator_equals_plain_backward():
    trunk, heads, x, ys = _model()
    _, losses = _losses(trunk, heads, x, ys)
    sum(losses).backward()
    ref = [p.grad.clone() for p in [*trunk.parameters(), *heads.parameters()]]
    for p in [*trunk.parameters(), *heads.parameters()]:
        p.grad = None
    _, losses = _losses(trunk, heads, x, ys)
    w = mtl_backward(losses, trunk.parameters(), Sum(), heads.parameters())
    torch.testing.assert_close(w, torch.ones(3))
    for r, p in zip(ref, [*trunk.parameters(), *heads.parameters()]):
        torch.testing.assert_close(p.grad, r)


def test_full_mode_writes_aggregated_direction():
    trunk, heads, x, ys = _model()
    _, losses = _losses(trunk, heads, x, ys)
    shared = list(trunk.parameters())
    J = torch.stack(
        [torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, shared, retain_graph=True)]) for loss in losses]
    )
    expected = UPGrad()(J)
    w = mtl_backward(losses, shared, UPGrad(), heads.parameters())
    got = torch.cat([p.grad.reshape(-1) for p in shared])
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got, w @ J, atol=1e-6, rtol=1e-5)
    # a head receives only the gradient of its own loss
    (gh,) = torch.autograd.grad(_losses(trunk, heads, x, ys)[1][0], [heads[0].weight])
    torch.testing.assert_close(heads[0].weight.grad, gh)


def test_ub_mode_weights_from_representation_gramian():
    trunk, heads, x, ys = _model()
    z, losses = _losses(trunk, heads, x, ys)
    gz = torch.stack([torch.autograd.grad(loss, z, retain_graph=True)[0].reshape(-1) for loss in losses])
    w_ref = MGDA().weights(gramian(gz))
    shared = list(trunk.parameters())
    w = mtl_backward(losses, shared, MGDA(), heads.parameters(), representation=z)
    torch.testing.assert_close(w, w_ref)
    # the trunk gradient is that of sum_i w_i L_i
    _, losses2 = _losses(trunk, heads, x, ys)
    ref = torch.autograd.grad(sum(wi * loss for wi, loss in zip(w, losses2)), shared)
    for p, r in zip(shared, ref):
        torch.testing.assert_close(p.grad, r)


def test_ub_mode_gramian_is_scaled_by_the_given_world_size():
    # a custom all_reduce (here the identity: every "process" holds the same batch) with
    # world_size R: the global Gramian is mean_r(G_r) / R, whatever torch.distributed says
    class Capture(MGDA):
        def weights(self, G):
            self.seen = G.clone()
            return super().weights(G)

    trunk, heads, x, ys = _model()
    z, losses = _losses(trunk, heads, x, ys)
    gz = torch.stack([torch.autograd.grad(loss, z, retain_graph=True)[0].reshape(-1) for loss in losses])
    for R in (1, 4):
        agg = Capture()
        z, losses = _losses(trunk, heads, x, ys)
        mtl_backward(losses, trunk.parameters(), agg, heads.parameters(), representation=z,
                     all_reduce=lambda t: t, world_size=R)
        torch.testing.assert_close(agg.seen, gramian(gz) / R)
    with pytest.raises(ValueError, match="world_size must be >= 1, got 0"):
        mtl_backward(losses, trunk.parameters(), MGDA(), representation=z, world_size=0)


def test_errors():
    trunk, *_ = _model()
    with pytest.raises(ValueError, match="at least one loss"):
        mtl_backward([], trunk.parameters(), MGDA())
    with pytest.raises(ValueError, match="loss 0 must be a scalar"):
        mtl_backward([torch.zeros(2, requires_grad=True)], trunk.parameters(), MGDA())
