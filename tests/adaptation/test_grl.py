import math

import pytest
import torch

from transferkit.adaptation import GradientReversal, GRLSchedule, LRAnnealing, grad_reverse


@pytest.mark.parametrize("coeff", [0.0, 0.3, 1.0, 2.5])
def test_grl_gradcheck(coeff):
    """gradcheck of the backward: ``u(x) = GRL(x) - x.detach() - coeff * x.detach()`` has the
    numerical Jacobian ``-coeff * I`` (its forward is ``-coeff x``) while its analytic backward
    is the GRL's alone, so gradcheck passes iff the GRL's backward is ``-coeff`` times the
    identity."""
    x = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    def u(t):
        return grad_reverse(t, coeff) - t.detach() - coeff * t.detach()
    assert torch.autograd.gradcheck(u, (x,))
    # forward identity and exact backward
    up = torch.randn(4, 3, dtype=torch.double)
    y = grad_reverse(x, coeff)
    assert torch.equal(y, x)
    (g,) = torch.autograd.grad(y, x, up)
    assert torch.allclose(g, -coeff * up)


def test_grl_gradcheck_against_reference_jacobian():
    """gradgradcheck-style: the GRL's vector-Jacobian product equals -coeff * the identity VJP."""
    x = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    layer = GradientReversal(0.7)
    jac = torch.autograd.functional.jacobian(lambda t: layer(t), x)
    ref = -0.7 * torch.eye(12, dtype=torch.double).reshape(3, 4, 3, 4)
    assert torch.allclose(jac, ref)
    # the GRL alone must fail gradcheck (analytic -I, numeric +I): gradcheck can see reversal
    def f(t):
        return grad_reverse(t, 1.0)
    with pytest.raises(RuntimeError):
        torch.autograd.gradcheck(f, (x,), raise_exception=True)


def test_grl_coeff_validation():
    with pytest.raises(ValueError, match="coeff must be"):
        GradientReversal(-1.0)


def test_schedule_matches_paper_formula():
    sched = GRLSchedule(max_steps=100)
    assert sched.value == 0.0
    values = [sched.step() for _ in range(150)]
    for k, v in enumerate(values, start=1):
        p = min(k / 100, 1.0)
        assert v == pytest.approx(2 / (1 + math.exp(-10 * p)) - 1)
    assert values[-1] == pytest.approx(2 / (1 + math.exp(-10)) - 1)  # stays at p = 1
    assert all(a <= b for a, b in zip(values, values[1:]))
    # explicit state: reading the value does not advance it
    assert sched.value == sched.value and sched.current_step == 150
    s2 = GRLSchedule(100)
    s2.load_state_dict(sched.state_dict())
    assert s2.value == sched.value


@pytest.mark.parametrize("kwargs,msg", [({"max_steps": 0}, "max_steps must be > 0"),
                                         ({"max_steps": 5, "gamma": -1}, "gamma must be > 0")])
def test_schedule_validation(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        GRLSchedule(**kwargs)


def test_lr_annealing_formula_and_lambdalr():
    ann = LRAnnealing(max_steps=10)
    assert ann.factor(0) == 1.0
    assert ann.factor(10) == pytest.approx(1 / (1 + 10) ** 0.75)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.01)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, ann.factor)
    for _ in range(5):
        opt.step()
        sch.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01 / (1 + 10 * 0.5) ** 0.75)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        LRAnnealing(10, beta=-1)
