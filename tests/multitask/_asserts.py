"""A bank of property checks for gradient aggregators (after torchjd's tests/unit/aggregation).

Each check takes an aggregator (``Jacobian [m, n] -> direction [n]``) and a Jacobian and fails
with a message naming the property. ``test_aggregator_properties.py`` applies them to every
registered aggregator through a table of the properties each one claims.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from transferkit.multitask import gramian


def _call(agg, J: Tensor) -> Tensor:
    """``agg(J)``; an aggregator with its own random stream (PCGrad) is rewound first, so that
    every call of a check sees the same draws and only the property under test varies."""
    if hasattr(agg, "reset"):
        agg.reset()
    return agg(J)


def assert_expected_structure(agg, J: Tensor) -> None:
    """One finite direction of the Jacobian's width, and weights with ``d = J^T w``."""
    d, w = agg.aggregate(J)
    assert d.shape == J.shape[1:] and torch.isfinite(d).all(), f"{agg!r}: direction {d}"
    assert w.shape == (J.shape[0],) and torch.isfinite(w).all(), f"{agg!r}: weights {w}"
    torch.testing.assert_close(d, w @ J, atol=1e-8, rtol=1e-8, msg=f"{agg!r}: d != J^T w")


def assert_permutation_invariant(agg, J: Tensor, n_runs: int = 3, atol: float = 1e-6) -> None:
    """Permuting the tasks (rows of J) leaves the direction unchanged."""
    g = torch.Generator().manual_seed(0)
    d = _call(agg, J)
    for _ in range(n_runs):
        perm = torch.randperm(J.shape[0], generator=g)
        torch.testing.assert_close(_call(agg, J[perm]), d, atol=atol, rtol=1e-6,
                                   msg=f"{agg!r} is not permutation invariant (perm {perm.tolist()})")


def assert_non_conflicting(agg, J: Tensor, atol: float = 1e-7) -> None:
    """No task's loss goes up to first order: ``J d >= 0`` (up to round-off)."""
    d = _call(agg, J)
    proj = J @ d
    tol = atol * float(J.norm() * d.norm() + 1)
    assert torch.all(proj >= -tol), f"{agg!r} conflicts with a task: J d = {proj.tolist()}"


def assert_linear_under_scaling(agg, J: Tensor, n_runs: int = 3, atol: float = 1e-6) -> None:
    """``A(diag(a c1 + b c2) J) = a A(diag(c1) J) + b A(diag(c2) J)`` for ``c1, c2 > 0``, ``a, b >= 0``."""
    g = torch.Generator().manual_seed(1)
    m = J.shape[0]
    for _ in range(n_runs):
        c1, c2 = (torch.rand(m, generator=g, dtype=J.dtype) + 0.1 for _ in range(2))
        a, b = (float(torch.rand((), generator=g)) + 0.1 for _ in range(2))
        lhs = _call(agg, torch.diag(a * c1 + b * c2) @ J)
        rhs = a * _call(agg, torch.diag(c1) @ J) + b * _call(agg, torch.diag(c2) @ J)
        torch.testing.assert_close(lhs, rhs, atol=atol, rtol=1e-5,
                                   msg=f"{agg!r} is not linear under scaling")


def assert_positively_homogeneous(agg, J: Tensor, scales=(0.01, 3.0, 1e3)) -> None:
    """``A(s J) = s A(J)`` for ``s > 0``: the update follows the gradients' scale."""
    d = _call(agg, J)
    for s in scales:
        torch.testing.assert_close(_call(agg, s * J), s * d, atol=1e-6 * s, rtol=1e-5,
                                   msg=f"{agg!r}: A({s} J) != {s} A(J)")


def assert_min_norm_kkt(agg, J: Tensor, tol: float = 1e-9) -> None:
    """KKT of ``min_{w in simplex} w^T G w`` (MGDA): ``w >= 0``, ``sum w = 1``,
    ``(G w)_i >= w^T G w`` for every i, with equality where ``w_i > 0``."""
    _, w_t = agg.aggregate(J)
    G = gramian(J).numpy()
    w = w_t.numpy()
    scale = np.abs(G).max()
    Gw = G @ w
    lam = float(w @ Gw)
    assert np.all(w >= -tol) and abs(w.sum() - 1) < 1e-9, f"{agg!r}: w = {w} is not in the simplex"
    assert np.all(Gw >= lam - tol * scale), f"{agg!r}: (Gw) = {Gw} < w'Gw = {lam}"
    active = w > 1e-9
    assert np.allclose(Gw[active], lam, atol=tol * scale), f"{agg!r}: complementary slackness fails"


def assert_pure(agg, J: Tensor) -> None:
    """The same answer twice, and torch's global RNG neither read nor advanced."""
    state = torch.random.get_rng_state()
    a, b = agg(J), agg(J)
    assert torch.equal(torch.random.get_rng_state(), state), f"{agg!r} touched the global RNG"
    assert torch.equal(a, b), f"{agg!r} gave two answers for one Jacobian"


def assert_leaves_global_rng_alone(agg, J: Tensor) -> None:
    """Torch's global RNG neither read nor advanced (aggregators with their own generator)."""
    state = torch.random.get_rng_state()
    agg(J)
    assert torch.equal(torch.random.get_rng_state(), state), f"{agg!r} touched the global RNG"
