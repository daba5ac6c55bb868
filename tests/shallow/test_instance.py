"""KMM, KLIEP, TrAdaBoost(.R2): optimality against cvxpy, constraints, boosting rules."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import rbf_kernel

from transferkit.instance import (
    KLIEP,
    KMM,
    TrAdaBoost,
    TrAdaBoostR2,
    kliep_alpha,
    kmm_weights,
    pack_domains,
    weighted_mmd2,
)
from transferkit.instance._qp import project_box_sum


def _shifted(n_s=80, n_t=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_s, d))
    Xt = rng.normal(size=(n_t, d)) * 0.7 + 0.8
    return Xs, Xt


def _cvxpy_kmm(K, kappa, B, lo, hi):
    cp = pytest.importorskip("cvxpy")
    n = K.shape[0]
    L = np.linalg.cholesky(K + 1e-10 * np.eye(n))
    b = cp.Variable(n)
    obj = cp.Minimize(0.5 * cp.sum_squares(L.T @ b) - kappa @ b)
    cons = [b >= 0, b <= B, cp.sum(b) >= lo, cp.sum(b) <= hi]
    prob = cp.Problem(obj, cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return b.value, prob.value


@pytest.mark.parametrize("B, eps", [(1000.0, None), (2.0, None), (1000.0, 0.05), (1.5, 0.0)])
def test_kmm_reaches_the_qp_optimum_of_cvxpy(B, eps):
    """Huang et al. eq. 6 solved by cvxpy (Clarabel, interior point): same objective."""
    Xs, Xt = _shifted()
    gamma = 0.5
    beta, info = kmm_weights(Xs, Xt, gamma=gamma, B=B, eps=eps, tol=1e-9)
    ns, nt = len(Xs), len(Xt)
    K = rbf_kernel(Xs, gamma=gamma)
    kappa = ns / nt * rbf_kernel(Xs, Xt, gamma=gamma).sum(axis=1)
    e = (np.sqrt(ns) - 1) / np.sqrt(ns) if eps is None else eps
    lo, hi = ns * (1 - e), ns * (1 + e)
    _, ref = _cvxpy_kmm(K, kappa, B, lo, hi)
    ours = 0.5 * beta @ K @ beta - kappa @ beta
    assert ours == pytest.approx(info["objective"], rel=1e-10)
    assert ours <= ref + 1e-7 * abs(ref)
    assert beta.min() >= 0 and beta.max() <= B + 1e-12
    assert lo - 1e-8 <= beta.sum() <= hi + 1e-8


def test_kmm_constraints_bind_in_the_tight_cases():
    """The cases above do exercise the bounds: B=1.5, eps=0 puts weights at B and sum = n_s."""
    Xs, Xt = _shifted()
    beta, _ = kmm_weights(Xs, Xt, gamma=0.5, B=1.5, eps=0.0, tol=1e-9)
    assert beta.sum() == pytest.approx(len(Xs), rel=1e-9)
    assert np.isclose(beta, 1.5).sum() > 0 and np.isclose(beta, 0.0).sum() > 0


def test_box_sum_projection_matches_cvxpy():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(1)
    for lo, hi in [(40.0, 45.0), (1.0, 3.0), (0.0, 1e9)]:
        v = rng.normal(size=30) * 3
        x = cp.Variable(30)
        cp.Problem(cp.Minimize(cp.sum_squares(x - v)),
                   [x >= 0, x <= 2.5, cp.sum(x) >= lo, cp.sum(x) <= hi]).solve()
        np.testing.assert_allclose(project_box_sum(v, 2.5, lo, hi), x.value, atol=1e-6)


def test_kmm_lowers_the_mmd_and_the_nystroem_approximation_follows_the_exact_weights():
    Xs, Xt = _shifted(200, 120, 4, seed=2)
    g = 0.25
    w, _ = kmm_weights(Xs, Xt, gamma=g)
    wa, _ = kmm_weights(Xs, Xt, gamma=g, approximation="nystroem", n_components=200)
    base = weighted_mmd2(Xs, Xt, None, g)
    assert weighted_mmd2(Xs, Xt, w, g) < 0.2 * base
    assert weighted_mmd2(Xs, Xt, wa, g) < 0.25 * base
    # 200 landmarks of 320 rows: the kernel is nearly exact, so are the weights
    assert np.corrcoef(w, wa)[0, 1] > 0.9


def test_kmm_estimator_attributes_and_weighted_fit():
    Xs, Xt = _shifted(120, 80, 3)
    ys = (Xs[:, 0] > 0.5).astype(int)
    X, y, sd = pack_domains(Xs, ys, Xt)
    est = KMM(LogisticRegression(), gamma=0.5).fit(X, y, sample_domain=sd)
    assert est.source_weights_.shape == (120,)
    w = est.source_weights_
    assert est.effective_sample_size_ == pytest.approx(w.sum() ** 2 / (w @ w))
    ref = LogisticRegression().fit(Xs, ys, sample_weight=w)
    np.testing.assert_allclose(est.predict_proba(Xt), ref.predict_proba(Xt))


def _cvxpy_kliep(A, b):
    cp = pytest.importorskip("cvxpy")
    a = cp.Variable(A.shape[1])
    prob = cp.Problem(cp.Maximize(cp.sum(cp.log(A @ a)) / A.shape[0]), [a >= 0, b @ a == 1])
    prob.solve(solver=cp.CLARABEL)
    return prob.value


def test_kliep_solution_is_feasible_optimal_and_satisfies_kkt():
    """Sugiyama et al. eq. 9: mean_i w(xs_i) = 1, alpha >= 0, likelihood = cvxpy's optimum."""
    Xs, Xt = _shifted(150, 100, 3)
    C = Xt[:30]
    A = rbf_kernel(Xt, C, gamma=0.5)
    b = rbf_kernel(Xs, C, gamma=0.5).mean(axis=0)
    alpha, _ = kliep_alpha(A, b, tol=1e-12, max_iter=20000)
    assert alpha.min() >= 0
    assert b @ alpha == pytest.approx(1.0, abs=1e-12)
    ll = np.mean(np.log(A @ alpha))
    assert ll == pytest.approx(_cvxpy_kliep(A, b), abs=1e-6)
    # KKT: grad_l = mean_j A_jl/(A alpha)_j <= b_l (multiplier 1), equality on the support
    grad = A.T @ (1 / (A @ alpha)) / A.shape[0]
    assert np.all(grad <= b * (1 + 1e-4))
    supp = alpha > 1e-6 * alpha.max()
    np.testing.assert_allclose(grad[supp], b[supp], rtol=1e-3)


def test_kliep_estimator_weights_average_one_and_cv_picks_the_best_width():
    Xs, Xt = _shifted(200, 150, 3)
    X, _, sd = pack_domains(Xs, np.zeros(200, int), Xt)
    est = KLIEP(gamma=[0.01, 0.3, 30.0], n_centers=50).fit(X, None, sample_domain=sd)
    assert est.source_weights_.mean() == pytest.approx(1.0, abs=1e-10)
    assert est.gamma_ == max(est.cv_log_likelihood_, key=est.cv_log_likelihood_.get)
    assert est.gamma_ == 0.3  # the far-too-narrow and far-too-wide widths lose held-out likelihood
    np.testing.assert_allclose(est.importance(Xs), est.source_weights_)


def test_tradaboost_follows_dai_et_al_weight_updates():
    """One step by hand: source errors x beta, target errors x 1/beta_t, then normalise."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(60, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(size=(20, 2))
    yt = (Xt[:, 1] > 0).astype(int)
    X, y, sd = pack_domains(Xs, ys, Xt, yt)
    tb = TrAdaBoost(LogisticRegression(), n_estimators=2).fit(X, y, sample_domain=sd)
    h0 = LogisticRegression().fit(np.vstack([Xs, Xt]), np.r_[ys, yt],
                                  sample_weight=np.ones(80))
    e = (h0.predict(np.vstack([Xs, Xt])) != np.r_[ys, yt]).astype(float)
    eps = e[60:].mean()
    assert tb.target_errors_[0] == pytest.approx(eps)
    beta = 1 / (1 + np.sqrt(2 * np.log(60) / 2))
    w = np.ones(80)
    w[:60] *= beta ** e[:60]
    w[60:] *= (eps / (1 - eps)) ** (-e[60:])
    w /= w.sum()
    np.testing.assert_allclose(tb.estimators_[1].coef_, LogisticRegression().fit(
        np.vstack([Xs, Xt]), np.r_[ys, yt], sample_weight=w * 80).coef_, rtol=1e-6)


def test_tradaboost_helps_when_the_source_concept_differs():
    rng = np.random.default_rng(3)
    Xs = rng.normal(size=(300, 2))
    ys = (Xs[:, 0] + 0.2 * Xs[:, 1] > 0).astype(int)
    Xt = rng.normal(size=(300, 2))
    yt = (Xt[:, 0] + 1.0 * Xt[:, 1] > 0).astype(int)
    lab = np.full(300, -1)
    lab[:30] = yt[:30]
    X, y, sd = pack_domains(Xs, ys, Xt, lab)
    tb = TrAdaBoost(LogisticRegression(), n_estimators=10).fit(X, y, sample_domain=sd)
    src_only = LogisticRegression().fit(Xs, ys).score(Xt[30:], yt[30:])
    assert tb.score(Xt[30:], yt[30:]) > src_only + 0.03


def test_tradaboost_r2_weighted_median_and_fit():
    rng = np.random.default_rng(0)
    Xs = rng.uniform(-2, 2, size=(200, 1))
    ys = np.sin(Xs[:, 0])
    Xt = rng.uniform(-2, 2, size=(100, 1))
    yt = np.sin(Xt[:, 0]) + 0.5
    lab = np.full(100, np.nan)
    lab[:20] = yt[:20]
    X, y, sd = pack_domains(Xs, ys, Xt, lab)
    r2 = TrAdaBoostR2(n_estimators=10).fit(X, y, sample_domain=sd)
    pred = r2.predict(Xt)
    # the weighted median is one of the second-half learners' predictions
    ts = range(4, 10)
    cand = np.column_stack([r2.estimators_[t].predict(Xt) for t in ts])
    assert np.all(np.isclose(cand, pred[:, None]).any(axis=1))
    src_err = np.mean((np.sin(Xt[20:, 0]) - yt[20:]) ** 2)
    assert np.mean((pred[20:] - yt[20:]) ** 2) < src_err
    assert np.mean(pred[20:] - np.sin(Xt[20:, 0])) > 0.1  # moved towards the target's +0.5


def test_blocked_rbf_equals_scikit_learn_kernel_and_row_sums():
    from transferkit.instance._kmm import _rbf

    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(500, 4)), rng.normal(size=(300, 4))  # several row blocks
    ref = rbf_kernel(A, B, gamma=0.3)
    K32 = np.empty(ref.shape, dtype=np.float32)
    np.testing.assert_allclose(_rbf(A, B, 0.3, out32=K32), ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(K32, ref.astype(np.float32), rtol=0, atol=1e-7)
    np.testing.assert_allclose(_rbf(A, B, 0.3, row_sums=True), ref.sum(axis=1), rtol=1e-13)


def test_adaptive_step_fista_reaches_the_kkt_point_in_fewer_products():
    """The first-order phase alone: same KKT point with the adaptive step, fewer ``K b``."""
    from transferkit.instance._qp import solve_box_sum_qp

    Xs, Xt = _shifted(150, 100, 3, seed=4)
    K = rbf_kernel(Xs, gamma=0.1)
    kappa = 1.5 * rbf_kernel(Xs, Xt, gamma=0.1).sum(axis=1)
    lam = np.linalg.eigvalsh(K)[-1]
    counts = {}
    sols = {}
    for shrink in (1.0, 0.9):
        calls = []

        def mv(b, calls=calls):
            calls.append(1)
            return K @ b

        sols[shrink], _, ok = solve_box_sum_qp(mv, kappa, lam, 1000.0, 0.0, 1e9, tol=1e-6,
                                               shrink=shrink)
        assert ok
        counts[shrink] = len(calls)
    obj = {k: 0.5 * b @ K @ b - kappa @ b for k, b in sols.items()}
    _, ref = _cvxpy_kmm(K, kappa, 1000.0, 0.0, 1e9)
    for v in obj.values():
        assert v == pytest.approx(ref, rel=1e-5)
    assert counts[0.9] < 0.8 * counts[1.0]


def test_nystroem_factor_is_exact_when_every_row_is_a_landmark():
    """Williams & Seeger: with all rows as landmarks, Phi Phi' is the kernel itself."""
    from transferkit.instance._kmm import _nystroem_factor

    Xs, Xt = _shifted(40, 30, 3, seed=5)
    Ps, phi_t = _nystroem_factor(Xs, Xt, 0.3, 1000, seed=0)  # 70 rows, m capped at 70
    np.testing.assert_allclose(Ps @ Ps.T, rbf_kernel(Xs, gamma=0.3), atol=2e-4)
    np.testing.assert_allclose(Ps @ phi_t, rbf_kernel(Xs, Xt, gamma=0.3).sum(axis=1), atol=5e-3)
