"""Aggregators: exact references (QP solver, torchjd), KKT, permutation invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import transferkit
from transferkit.multitask import (
    IMTLG,
    MGDA,
    CAGrad,
    PCGrad,
    UPGrad,
    gramian,
    min_norm_weights,
)

from .conftest import random_jacobian

J_BASE = torch.tensor([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]], dtype=torch.float64)
# (m, n, seed): wide, square, more tasks than dimensions (linearly dependent), conflicting
SHAPES = [(2, 5, 1), (3, 7, 2), (5, 3, 3), (4, 10, 4), (6, 4, 5)]


def _qp_min_norm(J: np.ndarray) -> np.ndarray:
    cp = pytest.importorskip("cvxpy")
    m = J.shape[0]
    w = cp.Variable(m)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(J.T @ w)), [w >= 0, cp.sum(w) == 1])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return J.T @ w.value


@pytest.mark.parametrize("m,n,seed", SHAPES)
def test_mgda_matches_exact_qp(m, n, seed):
    J = random_jacobian(m, n, seed)
    J[1:] -= 0.5 * J[0]  # add conflict
    d = MGDA()(J).numpy()
    ref = _qp_min_norm(J.numpy())
    np.testing.assert_allclose(d, ref, atol=1e-5)


def test_mgda_on_zero_in_hull_gives_zero():
    J = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(MGDA()(J), torch.zeros(2, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize("m,n,seed", SHAPES)
def test_mgda_kkt(m, n, seed):
    """KKT of min w'Gw on the simplex: w >= 0, sum 1, (Gw)_i >= w'Gw with equality on w_i > 0."""
    J = random_jacobian(m, n, seed)
    G = gramian(J).numpy()
    w = min_norm_weights(G)
    Gw = G @ w
    lam = w @ Gw
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    assert np.all(Gw >= lam - 1e-9 * np.abs(G).max())
    assert np.allclose(Gw[w > 1e-9], lam, atol=1e-9 * np.abs(G).max())
    # MGDA's direction does not conflict with any task gradient (J d >= 0)
    d = MGDA()(J)
    assert torch.all(J @ d >= -1e-9)


def _tj():
    return pytest.importorskip("torchjd.aggregation")


def _pairs():
    tj = pytest.importorskip("torchjd.aggregation")
    return [
        (MGDA(solver="frank_wolfe", epsilon=1e-3, max_iters=100), tj.MGDA(epsilon=1e-3, max_iters=100)),
        (CAGrad(c=0.5), tj.CAGrad(c=0.5)),
        (CAGrad(c=0.4), tj.CAGrad(c=0.4)),
        (UPGrad(), tj.UPGrad()),
        (IMTLG(), tj.IMTLG()),
    ]


@pytest.mark.parametrize("m,n,seed", [(2, 3, -1)] + SHAPES)
def test_reproduce_torchjd_values(m, n, seed):
    # random matrices are scaled to unit Frobenius norm: torchjd's CAGrad solves its cone
    # program with CLARABEL's default tolerances, accurate to ~1e-4 *relative* to |J|
    J = J_BASE if seed < 0 else random_jacobian(m, n, seed)
    if seed >= 0:
        J = J / J.norm()
    for ours, theirs in _pairs():
        np.testing.assert_allclose(
            ours(J).numpy(), theirs(J).numpy(), atol=1e-4, err_msg=f"{ours!r} vs {theirs!r}"
        )


@pytest.mark.parametrize("m,n,seed", [(2, 3, -1)] + SHAPES)
def test_pcgrad_reproduces_torchjd_with_same_random_orders(m, n, seed):
    tj = _tj()
    J = J_BASE if seed < 0 else random_jacobian(m, n, seed)
    ours = PCGrad(seed=123)(J)  # its own generator seeded 123 draws what torch's global one
    torch.manual_seed(123)  # draws after manual_seed(123): the same task orders as torchjd's
    theirs = tj.PCGrad()(J)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-4)


def test_pcgrad_owns_its_generator_and_never_touches_the_global_rng():
    J = random_jacobian(5, 8, 3)
    J[1:] -= 0.7 * J[0]  # conflicts, so the task order matters
    state = torch.random.get_rng_state()
    agg = PCGrad(seed=7)
    first = [agg(J) for _ in range(4)]
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG neither read nor advanced
    # reproducible: a second aggregator with the same seed gives the same sequence, and so does
    # the first one once rewound; the stream moves on between calls (a fresh order every step)
    again = PCGrad(seed=7)
    assert all(torch.equal(a, again(J)) for a in first)
    agg.reset()
    assert all(torch.equal(a, agg(J)) for a in first)
    assert any(not torch.equal(first[0], d) for d in first[1:])
    # the global seed has no effect on it
    torch.manual_seed(999)
    assert torch.equal(PCGrad(seed=7)(J), first[0])
    with pytest.raises(TypeError, match="seed must be an int"):
        PCGrad(seed=1.5)


def test_published_torchjd_table_values():
    """The values pinned in torchjd's own test table for J = [[-4,1,1],[6,1,1]]."""
    expected = {
        "mgda": [0.0, 1.0, 1.0],
        "pcgrad": [0.5848, 3.8012, 3.8012],
        "upgrad": [0.2929, 1.9004, 1.9004],
        "imtl_g": [0.0767, 1.0, 1.0],
        "mean": [1.0, 1.0, 1.0],
        "sum": [2.0, 2.0, 2.0],
    }
    for name, exp in expected.items():
        out = transferkit.create("aggregator", name)(J_BASE)
        np.testing.assert_allclose(out.numpy(), exp, atol=1e-4, err_msg=name)
    np.testing.assert_allclose(CAGrad(c=0.5)(J_BASE).numpy(), [0.1835, 1.2041, 1.2041], atol=1e-4)


def test_exact_mgda_close_to_long_frank_wolfe():
    J = random_jacobian(4, 6, 11)
    fw = MGDA(solver="frank_wolfe", epsilon=1e-12, max_iters=200000)(J)
    np.testing.assert_allclose(MGDA()(J).numpy(), fw.numpy(), atol=1e-3)


# permutation invariance, d = J^T w, non-conflicting ... for every registered aggregator:
# test_aggregator_properties.py (the property bank in _asserts.py)


def test_bad_parameters_raise_precise_messages():
    with pytest.raises(ValueError, match="c must be >= 0, got -1"):
        CAGrad(c=-1)
    with pytest.raises(ValueError, match="solver must be 'exact' or 'frank_wolfe'"):
        MGDA(solver="nope")
    with pytest.raises(ValueError, match=r"\[m, n\] Jacobian"):
        MGDA()(torch.zeros(3))
    with pytest.raises(transferkit.UnknownNameError, match="UPGrad"):
        transferkit.create("aggregator", "torchjd", aggregator="UPGrd")


def test_torchjd_adapter_matches_native():
    tj = _tj()
    J = random_jacobian(3, 5, 9)
    adapter = transferkit.create("aggregator", "torchjd", aggregator="UPGrad")
    np.testing.assert_allclose(adapter(J).numpy(), tj.UPGrad()(J).numpy(), atol=1e-12)
    d, w = transferkit.create("aggregator", "torchjd", aggregator="ConFIG").aggregate(J)
    assert w.shape == (3,)
    np.testing.assert_allclose(d.numpy(), tj.ConFIG()(J).numpy(), atol=1e-12)


# --- MGDA gradient normalisation (S&K's released code) and solver convergence


def _qp_weights(J: np.ndarray) -> np.ndarray:
    """argmin_{w in simplex} |J^T w|^2 by an independent QP solver."""
    cp = pytest.importorskip("cvxpy")
    w = cp.Variable(J.shape[0])
    prob = cp.Problem(cp.Minimize(cp.sum_squares(J.T @ w)), [w >= 0, cp.sum(w) == 1])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return np.asarray(w.value)


@pytest.mark.parametrize("m,n,seed", SHAPES)
@pytest.mark.parametrize("solver", ["exact", "frank_wolfe"])
def test_mgda_l2_is_the_released_code_weights_on_raw_gradients(m, n, seed, solver):
    """S&K's train_multi_task.py: grads / gn (gn = |g|, 'l2'), min-norm weights w on those,
    then backward of sum_t w_t L_t, i.e. the update sum_t w_t g_t on the raw gradients."""
    J = random_jacobian(m, n, seed) * torch.tensor([10.0**k for k in range(m)], dtype=torch.float64)[:, None]
    unit = J / J.norm(dim=1, keepdim=True)
    w_ref = _qp_weights(unit.numpy())
    agg = MGDA(solver=solver, normalization="l2", epsilon=1e-4, max_iters=20000)
    d, w = agg.aggregate(J)
    atol = 1e-6 if solver == "exact" else 1e-3
    # the weights are only unique up to the null space; compare the min-norm points they give
    np.testing.assert_allclose(w.numpy() @ unit.numpy(), w_ref @ unit.numpy(), atol=atol)
    torch.testing.assert_close(d, w @ J)  # applied to the raw gradients


def test_mgda_two_task_l2_against_the_closed_form():
    """Two unit gradients u1, u2: S&K Algorithm 1 gives gamma = (1 - u1.u2) / (2 - 2 u1.u2) = 1/2
    for any angle; 'l2' applies (1/2, 1/2) to the raw gradients, 'l2_unit' to the unit ones."""
    theta = np.deg2rad(100.0)
    g1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    g2 = 100.0 * torch.tensor([np.cos(theta), np.sin(theta)], dtype=torch.float64)
    J = torch.stack([g1, g2])
    d_l2, w_l2 = MGDA(normalization="l2").aggregate(J)
    torch.testing.assert_close(w_l2, torch.tensor([0.5, 0.5], dtype=torch.float64))
    torch.testing.assert_close(d_l2, 0.5 * g1 + 0.5 * g2)
    # its effect: the large task dominates and the small task's loss goes up (g1 . d < 0)
    assert float(g1 @ d_l2) == pytest.approx(0.5 + 50.0 * np.cos(theta)) and float(g1 @ d_l2) < 0
    d_unit, w_unit = MGDA(normalization="l2_unit").aggregate(J)
    torch.testing.assert_close(d_unit, 0.5 * g1 + 0.5 * g2 / 100.0)
    torch.testing.assert_close(w_unit, torch.tensor([0.5, 0.005], dtype=torch.float64))
    assert torch.all(J @ d_unit >= 0)  # a common descent direction
    with pytest.raises(ValueError, match="normalization must be 'none', 'l2' or 'l2_unit', got 'loss'"):
        MGDA(normalization="loss")


@pytest.mark.parametrize("solver", ["exact", "frank_wolfe"])
def test_mgda_reports_a_solver_stopped_by_max_iters(solver, caplog):
    J = random_jacobian(6, 8, 2)
    J[1:] -= 0.6 * J[0]
    agg = MGDA(solver=solver, max_iters=1, epsilon=1e-12)
    if solver == "exact":  # the exact solver's cap is at least 4 m; make it smaller on purpose
        from transferkit.multitask import _mgda

        w, it, ok = _mgda._wolfe(gramian(J).numpy(), 1e-12, 1)
        assert (it, ok) == (1, False)
        agg = MGDA(solver=solver)
    with caplog.at_level("WARNING", logger="transferkit.multitask._mgda"):
        agg(J)
        agg(J)
    if solver == "frank_wolfe":
        assert agg.converged_ is False and agg.n_iter_ == 1 and agg.n_unconverged_ == 2
        assert len(caplog.records) == 1 and "max_iters=1" in caplog.records[0].getMessage()
    else:
        assert agg.converged_ is True and agg.n_iter_ <= 4 * 6 and not caplog.records
    caplog.clear()
    ok = MGDA(solver=solver, max_iters=100000, epsilon=1e-4)
    with caplog.at_level("WARNING", logger="transferkit.multitask._mgda"):
        ok(J)
    assert ok.converged_ is True and 0 < ok.n_iter_ < 100000 and not caplog.records
    assert "converged_" not in repr(ok) and "n_iter_" not in repr(ok)
