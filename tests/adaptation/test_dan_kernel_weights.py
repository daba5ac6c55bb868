"""DAN's test-power kernel weights (Long et al., ICML 2015, eq. 5-7) against hand computations."""

import math

import numpy as np
import pytest
import torch

from transferkit.adaptation import (
    DAN,
    kernel_weights_from_statistics,
    linear_time_mmd_statistics,
    mk_mmd,
    optimal_kernel_weights,
)

# Rows with orthogonal centred patterns: cov(h) is diagonal, diag = (4/3) * amplitude^2.
ALT, HALF, MIX = np.array([1, -1, 1, -1.0]), np.array([1, 1, -1, -1.0]), np.array([1, -1, -1, 1.0])


def test_weights_diagonal_covariance_by_hand():
    # d = (0.3, 0.2), var = (0.01, 0.04) * 4/3; beta_u ∝ d_u / var_u = (22.5, 3.75) -> (6/7, 1/7)
    h = np.stack([0.3 + 0.1 * ALT, 0.2 + 0.2 * HALF])
    assert kernel_weights_from_statistics(h, ridge=0.0) == pytest.approx([6 / 7, 1 / 7], rel=1e-9)


def test_kernel_with_negative_discrepancy_gets_zero_weight():
    h = np.stack([0.3 + 0.1 * ALT, 0.2 + 0.2 * HALF, -0.1 + 0.1 * MIX])
    assert kernel_weights_from_statistics(h, ridge=0.0) == pytest.approx([6 / 7, 1 / 7, 0.0], abs=1e-12)


def test_ridge_is_relative_to_mean_variance():
    # mean diag Q = (0.01 + 0.04 + 0.01) * 4/3 / 3 = 0.02667; ridge 0.5 adds eps = 0.01333:
    # beta ∝ (0.3 / 0.02667, 0.2 / 0.06667, 0) = (11.25, 3, 0) -> (15/19, 4/19, 0)
    h = np.stack([0.3 + 0.1 * ALT, 0.2 + 0.2 * HALF, -0.1 + 0.1 * MIX])
    assert kernel_weights_from_statistics(h, ridge=0.5) == pytest.approx([15 / 19, 4 / 19, 0.0], abs=1e-12)


def test_no_positive_discrepancy_gives_equal_weights():
    h = np.stack([-0.1 + 0.1 * ALT, -0.2 + 0.2 * HALF])
    assert kernel_weights_from_statistics(h).tolist() == [0.5, 0.5]


def test_weights_solve_the_qp_kkt():
    """beta / (d^T beta) minimises b^T A b s.t. d^T b = 1, b >= 0: check the KKT conditions."""
    rng = np.random.default_rng(0)
    # correlated kernels, one with a negative discrepancy
    h = rng.normal(size=(5, 5)) @ rng.normal(size=(5, 40)) * 0.1 + np.array([[0.2], [0.1], [0.05], [-0.1], [0.3]])
    ridge = 1e-2
    beta = kernel_weights_from_statistics(h, ridge=ridge)
    assert beta.min() >= 0 and beta.sum() == pytest.approx(1.0)
    d, Q = h.mean(1), np.cov(h)
    A = Q + ridge * np.mean(np.diag(Q)) * np.eye(5)
    b = beta / (d @ beta)
    grad = 2 * A @ b
    mu = (b @ grad) / (b @ d)  # stationarity on the support: grad = mu d
    nu = grad - mu * d  # multipliers of b >= 0
    assert nu.min() > -1e-9
    assert np.abs(nu[b > 1e-12]).max() < 1e-9
    # and it is better than any other feasible point we try
    obj = b @ A @ b
    for _ in range(200):
        c = rng.random(5)
        if d @ c > 0:
            c = c / (d @ c)
            assert c @ A @ c >= obj - 1e-12


def test_weights_match_cvxpy():
    cp = pytest.importorskip("cvxpy", reason="cvxpy (dev extra) not installed")
    rng = np.random.default_rng(3)
    h = rng.normal(size=(6, 50)) * 0.2 + rng.normal(size=(6, 1)) * 0.3
    beta = kernel_weights_from_statistics(h, ridge=1e-2)
    d, Q = h.mean(1), np.cov(h)
    A = Q + 1e-2 * np.mean(np.diag(Q)) * np.eye(6)
    b = cp.Variable(6)
    cp.Problem(cp.Minimize(cp.quad_form(b, cp.psd_wrap(A))), [d @ b == 1, b >= 0]).solve()
    ref = np.clip(b.value, 0, None)
    assert beta == pytest.approx(ref / ref.sum(), abs=1e-5)


def test_learned_weights_raise_test_power_over_equal_weights():
    """beta maximises d^T b / sqrt(b^T Q b) (Long et al., eq. 6) over b >= 0."""
    g = torch.Generator().manual_seed(0)
    f_s = torch.randn(64, 3, generator=g, dtype=torch.double)
    f_t = torch.randn(64, 3, generator=g, dtype=torch.double) * 1.5 + 0.3
    mults = (0.125, 1.0, 8.0)
    h = linear_time_mmd_statistics(f_s, f_t, mults)
    d, Q = h.mean(1), np.cov(h)

    def power(b):
        return (d @ b) / math.sqrt(b @ Q @ b)

    beta = kernel_weights_from_statistics(h, ridge=0.0)
    assert power(beta) >= power(np.full(3, 1 / 3)) - 1e-12
    for e in np.eye(3):
        assert power(beta) >= power(e) - 1e-12
    assert not np.allclose(beta, 1 / 3)


def test_linear_time_statistics_by_hand():
    f_s = torch.tensor([[0.0], [1.0], [2.0], [3.0], [9.0]])  # the odd fifth sample is unused
    f_t = torch.tensor([[0.5], [1.5], [2.5], [4.0]])
    h = linear_time_mmd_statistics(f_s, f_t, (1.0,), bandwidth=1.0)  # k = exp(-(x-y)^2)
    e = math.exp
    # z_1 = (0, 1, 0.5, 1.5): k(x,x') + k(y,y') - k(x,y') - k(x',y)
    h1 = e(-1) + e(-1) - e(-2.25) - e(-0.25)
    h2 = e(-1) + e(-2.25) - e(-4) - e(-0.25)  # z_2 = (2, 3, 2.5, 4)
    assert h.shape == (1, 2)
    assert h[0] == pytest.approx([h1, h2], rel=1e-12)


def test_mk_mmd_kernel_weights():
    a = torch.randn(10, 4, dtype=torch.double)
    b = torch.randn(7, 4, dtype=torch.double) + 1
    mults = (0.5, 1.0, 2.0)
    assert mk_mmd(a, b, mults, kernel_weights=[1 / 3] * 3).item() == pytest.approx(mk_mmd(a, b, mults).item())
    single = mk_mmd(a, b, (2.0,), bandwidth=1.3).item()
    assert mk_mmd(a, b, mults, bandwidth=1.3, kernel_weights=[0, 0, 1]).item() == pytest.approx(single)
    with pytest.raises(ValueError, match="kernel_weights has 2 entries for 3 kernels"):
        mk_mmd(a, b, mults, kernel_weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="kernel_weights must be finite and >= 0"):
        mk_mmd(a, b, mults, kernel_weights=[1.5, -0.5, 0.0])


def test_optimal_weights_small_batch_falls_back_to_equal():
    beta = optimal_kernel_weights(torch.randn(3, 2), torch.randn(8, 2), (1.0, 2.0))
    assert beta.tolist() == [0.5, 0.5]


def test_dan_learns_weights_and_trains_features():
    torch.manual_seed(0)
    f_s = torch.randn(32, 5, requires_grad=True)
    f_t = (torch.randn(32, 5) * 2 + 1).requires_grad_()
    plain = DAN()
    loss = plain(f_s, f_t)
    assert plain.kernel_weights_ is None
    assert loss.item() == pytest.approx(mk_mmd(f_s, f_t).item())
    dan = DAN(learn_kernel_weights=True)
    loss = dan(f_s, f_t)
    beta = dan.kernel_weights_
    assert beta.shape == (33,) and beta.min() >= 0 and beta.sum().item() == pytest.approx(1.0)
    assert not beta.requires_grad
    assert loss.item() == pytest.approx(mk_mmd(f_s, f_t, kernel_weights=beta).item())
    loss.backward()
    assert f_s.grad.abs().sum() > 0 and f_t.grad.abs().sum() > 0


def test_dan_kernel_ridge_validated():
    with pytest.raises(ValueError, match="kernel_ridge must be >= 0, got -1.0"):
        DAN(kernel_ridge=-1)
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        kernel_weights_from_statistics(np.ones((2, 3)), ridge=-0.1)
