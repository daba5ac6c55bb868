"""LogME against the ICML 2021 algorithm written out in feature space, and its edge cases."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from transferkit.exceptions import DataError
from transferkit.transferability import logme


def icml_reference(
    f: np.ndarray, targets: np.ndarray, eps: float = 1e-5, tol: float = 1e-12
) -> float:
    """You et al. (ICML 2021), Algorithm 1, done literally in D dimensions for each target column.

    Eigen-decomposition of F'F (all D eigenvalues, zeros included), then per column MacKay's
    updates with A = alpha I + beta F'F, m = beta A^-1 F'y, iterated to a tight tolerance.
    """
    n, d = f.shape
    sigma, v = np.linalg.eigh(f.T @ f)
    sigma = np.clip(sigma, 0.0, None)
    out = []
    for y in targets.T:
        alpha, beta = 1.0, 1.0
        fty = f.T @ y
        for _ in range(100_000):
            gamma = np.sum(beta * sigma / (alpha + beta * sigma))
            a_inv = (v / (alpha + beta * sigma)) @ v.T
            m = beta * a_inv @ fty
            new_alpha = gamma / (m @ m + eps)
            new_beta = (n - gamma) / (np.sum((f @ m - y) ** 2) + eps)
            done = abs(new_alpha / new_beta - alpha / beta) <= tol * alpha / beta
            alpha, beta = new_alpha, new_beta
            if done:
                break
        # the log evidence at the final alpha, beta
        m = beta * ((v / (alpha + beta * sigma)) @ v.T) @ fty
        ev = (
            d / 2 * np.log(alpha)
            + n / 2 * np.log(beta)
            - 0.5 * np.sum(np.log(alpha + beta * sigma))
            - beta / 2 * np.sum((f @ m - y) ** 2)
            - alpha / 2 * (m @ m)
            - n / 2 * np.log(2 * np.pi)
        )
        out.append(ev / n)
    return float(np.mean(out))


def _data(n, d, c, quality=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)  # every class present
    centres = rng.standard_normal((c, d))
    return quality * centres[y] + rng.standard_normal((n, d)), y


@pytest.mark.parametrize("n,d,c", [(300, 20, 4), (120, 50, 7)])
def test_equals_icml_algorithm_when_more_samples_than_dimensions(n, d, c):
    f, y = _data(n, d, c)
    onehot = np.eye(c)[y]
    assert logme(f, y) == pytest.approx(icml_reference(f, onehot), abs=1e-6)


def test_equals_icml_algorithm_in_feature_space_when_fewer_samples_than_dimensions():
    f, y = _data(25, 80, 3)
    score = logme(f, y)
    assert np.isfinite(score)
    assert score == pytest.approx(icml_reference(f, np.eye(3)[y]), abs=1e-6)


def test_fewer_samples_than_dimensions_reaches_the_maximum_of_the_marginal_likelihood():
    """With N < D the evidence is largest as beta -> inf; LogME must stay just below that sup."""
    from scipy.optimize import minimize

    f, y = _data(30, 90, 3, seed=5)
    w, u = np.linalg.eigh(f @ f.T)  # y ~ N(0, I / beta + F F' / alpha), computed in N dimensions
    w = np.clip(w, 0.0, None)

    def log_lik(log_ab, target):
        lam = np.exp(-log_ab[1]) + w * np.exp(-log_ab[0])
        return -0.5 * (
            len(target) * np.log(2 * np.pi) + np.log(lam).sum() + ((u.T @ target) ** 2 / lam).sum()
        )

    best = []
    for c in range(3):
        target = (y == c).astype(float)
        runs = [
            minimize(
                lambda v, target=target: -log_lik(v, target),
                x0,
                method="Nelder-Mead",
                options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000},
            )
            for x0 in ([0, 0], [5, 15])
        ]
        best.append(max(-r.fun for r in runs) / len(target))
    score = logme(f, y)
    assert score <= np.mean(best) + 1e-6
    assert score >= np.mean(best) - 5e-3


def test_rank_deficient_features_equal_icml_algorithm():
    f, y = _data(200, 10, 3)
    f = np.hstack([f, f[:, :6], np.zeros((200, 4))])  # repeated and constant-zero columns
    assert logme(f, y) == pytest.approx(icml_reference(f, np.eye(3)[y]), abs=1e-6)
    assert logme(f[:12], y[:12]) == pytest.approx(
        icml_reference(f[:12], np.eye(3)[y[:12]]), abs=1e-6
    )


def test_regression_targets_equal_icml_algorithm():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((200, 15))
    targets = f @ rng.standard_normal((15, 2)) + 0.3 * rng.standard_normal((200, 2))
    assert logme(f, targets, regression=True) == pytest.approx(icml_reference(f, targets), abs=1e-6)
    one = logme(f, targets[:, 0], regression=True)
    assert one == pytest.approx(icml_reference(f, targets[:, :1]), abs=1e-6)
    few = logme(f[:10], targets[:10], regression=True)  # N < D
    assert few == pytest.approx(icml_reference(f[:10], targets[:10]), abs=1e-6)


def test_ranking_agrees_on_nested_subsets_including_fewer_samples_than_dimensions():
    qualities = [0.3, 0.6, 1.0, 2.0]
    d = 64
    ranks = []
    for n in (40, 120, 600):  # nested: each set is the first n rows of the largest
        scores = []
        for q in qualities:
            f, y = _data(600, d, 5, quality=q, seed=3)
            scores.append(logme(f[:n], y[:n]))
        assert np.all(np.isfinite(scores))
        ranks.append(list(np.argsort(scores)))
    assert ranks[0] == ranks[1] == ranks[2] == [0, 1, 2, 3]


def test_class_ids_with_gaps_and_permuted_ids_give_the_same_score():
    f, y = _data(150, 12, 4)
    gapped = np.array([3, 10, 11, 40])[y]
    assert logme(f, gapped) == pytest.approx(logme(f, y), abs=1e-12)


def test_torch_inputs_and_float32():
    f, y = _data(100, 10, 3)
    ref = logme(f, y)
    assert logme(torch.from_numpy(f).float(), torch.from_numpy(y)) == pytest.approx(ref, abs=1e-5)


def test_bad_inputs_are_reported():
    f, y = _data(50, 5, 2)
    with pytest.raises(DataError, match="integer class ids"):
        logme(f, y + 0.5)
    with pytest.raises(DataError, match=r"50 rows"):
        logme(f, y[:10])
    with pytest.raises(DataError, match="all zero"):
        logme(np.zeros((10, 3)), np.arange(10) % 2)


def _authors_logme():
    """The authors' LogME.py from a checkout given by $TRANSFERKIT_LOGME_REPO (never committed)."""
    path = os.environ.get("TRANSFERKIT_LOGME_REPO")
    if not path or not (Path(path) / "LogME.py").is_file():
        pytest.skip("set TRANSFERKIT_LOGME_REPO to a checkout of thuml/LogME to run this check")
    if "numba" not in sys.modules:
        try:
            import numba  # noqa: F401
        except ImportError:  # run their numba functions as plain python
            stub = types.ModuleType("numba")
            stub.njit = lambda fn=None, **_: fn if fn is not None else (lambda g: g)
            sys.modules["numba"] = stub
    sys.path.insert(0, path)
    try:
        import LogME as authors  # noqa: N813
    finally:
        sys.path.remove(path)
    return authors.LogME


def test_against_the_authors_code():
    authors = _authors_logme()
    f, y = _data(300, 20, 4)
    # N > D: their fixed-point routine returns the log evidence at its final alpha, beta, as we
    # do; their ICML routine stops at a 1e-2 relative change and adds eps to the fit terms
    assert authors().fit(f, y) == pytest.approx(logme(f, y), abs=1e-6)
    assert authors()._fit_icml(f, y) == pytest.approx(logme(f, y), abs=1e-3)
    # with fewer samples than dimensions their fixed-point routine drops (D - N) log(alpha) / 2
    f, y = _data(25, 80, 3)
    ours, ref = logme(f, y), icml_reference(f, np.eye(3)[y])
    theirs = authors().fit(f, y)
    assert ours == pytest.approx(ref, abs=1e-6)
    assert abs(theirs - ref) > 100 * abs(ours - ref)


@pytest.mark.parametrize("n,d", [(50, 1), (50, 2), (2, 5), (3, 5)])
def test_tiny_gram_matrices_and_memory_orders_equal_icml_algorithm(n, d):
    """One- and two-dimensional Gram matrices (no or a single Householder reflector), and
    C-ordered, Fortran-ordered and strided features, which take different BLAS calls."""
    f, y = _data(n, d, 2)
    ref = icml_reference(f, np.eye(2)[y])
    assert logme(f, y) == pytest.approx(ref, abs=1e-6)
    assert logme(np.asfortranarray(f), y) == pytest.approx(ref, abs=1e-6)
    wide = np.repeat(f, 2, axis=1)[:, ::2]  # a non-contiguous view of the same values
    assert logme(wide, y) == pytest.approx(ref, abs=1e-6)


def test_shifted_tridiagonal_solve_falls_back_when_not_positive_definite():
    """The per-step solves use LAPACK's positive definite dptsv; a shifted matrix that is not
    numerically positive definite must still be solved exactly (pivoted banded LU)."""
    from transferkit.transferability._logme import _shifted_solve

    diag, off = np.array([1.0, -3.0, 2.0, 0.5]), np.array([0.5, 0.25, -1.0])
    rhs = np.random.default_rng(0).standard_normal((4, 2))
    shifts = np.array([0.1, 5.0])  # the first leaves T + tI indefinite, the second makes it SPD
    out = _shifted_solve(diag, off, shifts, rhs, np.empty_like(rhs))
    t_full = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    for j, shift in enumerate(shifts):
        assert np.allclose(out[:, j], np.linalg.solve(t_full + shift * np.eye(4), rhs[:, j]))
