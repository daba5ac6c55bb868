"""Loss weightings: formulas and gradients against hand-written references."""

from __future__ import annotations

import math

import pytest
import torch

import transferkit
from transferkit.multitask import DWA, FixedWeighting, GradNorm, UncertaintyWeighting


def test_uncertainty_matches_kendall_formula_and_grads():
    uw = UncertaintyWeighting(3, task_types=["regression", "classification", "regression"])
    with torch.no_grad():
        uw.log_vars.copy_(torch.tensor([0.3, -0.7, 1.2]))
    L = torch.tensor([2.0, 0.5, 1.5], requires_grad=True)
    total = uw(L)
    sigma2 = torch.exp(torch.tensor([0.3, -0.7, 1.2]))
    # Kendall et al. 2018: 1/(2 s^2) L + log s (regression), 1/s^2 L + log s (classification)
    expected = sum(
        (c / s2) * loss + math.log(math.sqrt(s2))
        for c, s2, loss in zip([0.5, 1.0, 0.5], sigma2.tolist(), [2.0, 0.5, 1.5])
    )
    assert total.item() == pytest.approx(expected, rel=1e-6)
    total.backward()
    # d/ds [c e^{-s} L + s/2] = -c e^{-s} L + 1/2 ;  d/dL = c e^{-s}
    c = torch.tensor([0.5, 1.0, 0.5])
    s = torch.tensor([0.3, -0.7, 1.2])
    torch.testing.assert_close(uw.log_vars.grad, -c * torch.exp(-s) * L.detach() + 0.5)
    torch.testing.assert_close(L.grad, c * torch.exp(-s))
    torch.testing.assert_close(uw.weights, c * torch.exp(-s))


@pytest.mark.parametrize(
    "kind,paper_total",
    [
        # Kendall et al. 2018 eq. 5 (Gaussian likelihood): L / (2 sigma^2) + log sigma
        ("regression", lambda L, s2: L / (2 * s2) + math.log(math.sqrt(s2))),
        # eq. 10 (softmax likelihood): L / sigma^2 + log sigma
        ("classification", lambda L, s2: L / s2 + math.log(math.sqrt(s2))),
    ],
)
def test_uncertainty_each_task_type_against_the_papers_formula(kind, paper_total):
    sigma2 = [0.5, 2.0, 4.0]
    losses = [1.3, 0.2, 2.5]
    uw = UncertaintyWeighting(3, task_types=[kind] * 3)
    with torch.no_grad():
        uw.log_vars.copy_(torch.log(torch.tensor(sigma2)))
    total = uw(torch.tensor(losses))
    assert total.item() == pytest.approx(sum(paper_total(L, s2) for L, s2 in zip(losses, sigma2)), rel=1e-6)
    factor = 0.5 if kind == "regression" else 1.0
    torch.testing.assert_close(uw.weights, torch.tensor([factor / s2 for s2 in sigma2]))


def test_uncertainty_task_types_from_task_kinds():
    from transferkit.multitask import TASK_KINDS, Task, kendall_task_type

    assert {k: kendall_task_type(k) for k in TASK_KINDS} == {
        "classification": "classification", "multilabel": "classification",
        "dense_classification": "classification", "regression": "regression",
        "dense_regression": "regression",
    }
    tasks = [Task("depth", 1, kind="dense_regression"), Task("seg", 4, kind="dense_classification")]
    uw = transferkit.create(
        "weighting", "uncertainty", num_tasks=2, task_types=[kendall_task_type(t.kind) for t in tasks]
    )
    assert uw.task_types == ["regression", "classification"]
    torch.testing.assert_close(uw.weights, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="no uncertainty task type for task kind 'ranking'"):
        kendall_task_type("ranking")
    with pytest.raises(ValueError, match="one entry per task, got the string"):
        UncertaintyWeighting(1, task_types="regression")
    with pytest.raises(ValueError, match="must be 'regression' or 'classification', got 'regresion'"):
        UncertaintyWeighting(1, task_types=["regresion"])


def test_uncertainty_optimum_is_sigma2_equals_scaled_loss():
    # minimiser of c e^{-s} L + s/2 over s is e^{s} = 2 c L
    uw = UncertaintyWeighting(1, task_types=["regression"])
    opt = torch.optim.SGD(uw.parameters(), lr=0.5)
    for _ in range(500):
        opt.zero_grad()
        uw(torch.tensor([3.0])).backward()
        opt.step()
    assert math.exp(uw.log_vars.item()) == pytest.approx(2 * 0.5 * 3.0, rel=1e-3)


def test_dwa_formula():
    dwa = DWA(3, temperature=2.0)
    torch.testing.assert_close(dwa.weights, torch.ones(3))
    dwa.step([1.0, 2.0, 3.0])
    torch.testing.assert_close(dwa.weights, torch.ones(3))  # w = 1 for the first two epochs
    w = dwa.step([0.5, 2.0, 3.3])
    r = torch.tensor([0.5, 1.0, 1.1])
    expected = 3 * torch.exp(r / 2) / torch.exp(r / 2).sum()
    torch.testing.assert_close(w, expected)
    assert dwa(torch.tensor([1.0, 1.0, 1.0])).item() == pytest.approx(3.0, rel=1e-6)


def test_fixed_weighting():
    fw = FixedWeighting(2, [0.25, 2.0])
    assert fw(torch.tensor([4.0, 1.0])).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="weights has 3 entries but num_tasks is 2"):
        FixedWeighting(2, [1, 2, 3])


def test_gradnorm_loss_and_weight_gradient():
    torch.manual_seed(0)
    W = torch.nn.Parameter(torch.randn(4, 3))
    x = torch.randn(8, 3)
    h = x @ W.T
    L = torch.stack([(h[:, :2] ** 2).mean(), ((h[:, 2:] - 1) ** 2).mean()])
    gn = GradNorm(2, alpha=1.5)
    gn.initial_losses.copy_(L.detach() * torch.tensor([2.0, 1.0]))
    with torch.no_grad():
        gn.task_weights.copy_(torch.tensor([0.7, 1.3]))
    lg = gn.gradnorm_loss(L, [W])
    g = [torch.autograd.grad(L[i], W, retain_graph=True)[0].norm() for i in range(2)]
    G = torch.tensor([0.7, 1.3]) * torch.stack(g)
    ratio = L.detach() / gn.initial_losses
    r = ratio / ratio.mean()
    target = G.mean() * r**1.5
    assert lg.item() == pytest.approx((G - target).abs().sum().item(), rel=1e-6)
    # gradient w.r.t. w_i: sign(G_i - target_i) * |grad L_i| (target held constant)
    (gw,) = torch.autograd.grad(lg, gn.task_weights)
    torch.testing.assert_close(gw, torch.sign(G - target) * torch.stack(g))


def test_gradnorm_softmax_parametrization_follows_the_chain_rule():
    # w = m * softmax(s); dL_grad/ds = J^T dL_grad/dw with J = m (diag(p) - p p^T), and
    # dL_grad/dw is the direct parametrisation's gradient at the same weights
    torch.manual_seed(1)
    W = torch.nn.Parameter(torch.randn(5, 4))
    h = torch.randn(16, 4) @ W.T
    L = torch.stack([(h[:, :2] ** 2).mean(), ((h[:, 2:4] - 1) ** 2).mean(), h[:, 4].abs().mean()])
    soft = GradNorm(3, alpha=0.5, parametrization="softmax")
    direct = GradNorm(3, alpha=0.5)
    s = torch.tensor([0.3, -1.2, 0.5])
    p = torch.softmax(s, 0)
    with torch.no_grad():
        soft.task_logits.copy_(s)
        direct.task_weights.copy_(3 * p)
    for gn in (soft, direct):
        gn.initial_losses.copy_(L.detach() * torch.tensor([2.0, 1.0, 0.5]))
    torch.testing.assert_close(soft.weights, 3 * p)
    assert soft.weights.sum().item() == pytest.approx(3.0)
    ls = soft.gradnorm_loss(L, [W])
    ld = direct.gradnorm_loss(L, [W])
    assert ls.item() == pytest.approx(ld.item(), rel=1e-6)
    (gs,) = torch.autograd.grad(ls, soft.task_logits)
    (gd,) = torch.autograd.grad(ld, direct.task_weights)
    J = 3 * (torch.diag(p) - torch.outer(p, p))
    torch.testing.assert_close(gs, J.T @ gd)
    # backward fills the logits' gradient; renormalize leaves softmax weights alone
    soft.backward(L, [W])
    torch.testing.assert_close(soft.task_logits.grad, J.T @ gd)
    before = soft.weights.clone()
    soft.renormalize()
    torch.testing.assert_close(soft.weights, before)
    assert "task_logits" in soft.state_dict() and "task_weights" not in soft.state_dict()


def test_gradnorm_renormalize_and_validation():
    gn = GradNorm(3)
    with torch.no_grad():
        gn.task_weights.copy_(torch.tensor([1.0, 2.0, 3.0]))
    gn.renormalize()
    assert gn.weights.sum().item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="alpha must be >= 0, got -1"):
        GradNorm(2, alpha=-1)
    with pytest.raises(ValueError, match="parametrization must be one of .*'log'"):
        GradNorm(2, parametrization="log")


@pytest.mark.parametrize("name", [m.name for m in transferkit.list_methods("weighting")])
def test_every_weighting_combines_losses(name):
    w = transferkit.create("weighting", name, num_tasks=3)
    L = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = w(L)
    assert total.dim() == 0 and torch.isfinite(total)
    assert w.weights.shape == (3,)
    with pytest.raises(ValueError, match="expected 3 task losses, got 2"):
        w(torch.tensor([1.0, 2.0]))
