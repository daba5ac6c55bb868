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


AGGREGATOR_NAMES = [m.name for m in transferkit.list_methods("aggregator")]


@pytest.mark.parametrize("name", AGGREGATOR_NAMES)
def test_permutation_invariance(name):
    """Permuting the task rows does not change the aggregated direction (torchjd's property)."""
    agg = transferkit.create("aggregator", name)
    # PCGrad draws random task orders: with 2 tasks the result does not depend on them
    m = 2 if name == "pcgrad" else 4
    J = random_jacobian(m, 6, 7)
    J[1] -= 0.8 * J[0]
    perm = torch.randperm(m)
    np.testing.assert_allclose(agg(J).numpy(), agg(J[perm]).numpy(), atol=1e-6)


@pytest.mark.parametrize("name", AGGREGATOR_NAMES)
def test_weights_consistent_with_direction(name):
    agg = transferkit.create("aggregator", name)
    J = random_jacobian(3, 5, 8)
    d, w = agg.aggregate(J)
    assert w.shape == (3,)
    np.testing.assert_allclose(d.numpy(), (w @ J).numpy(), atol=1e-8)


@pytest.mark.parametrize("name", ["mgda", "upgrad"])
def test_non_conflicting(name):
    agg = transferkit.create("aggregator", name)
    for seed in range(5):
        J = random_jacobian(4, 6, 100 + seed)
        J[1:] -= J[0]
        assert torch.all(J @ agg(J) >= -1e-6)


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
