"""LogME: the log of the maximum marginal evidence of a Bayesian linear model on the features.

You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models for Transfer
Learning", ICML 2021 (Algorithm 1), and "Ranking and Tuning Pre-trained Models: A New Paradigm
for Exploiting Model Hubs", JMLR 2022.

For each target column ``y`` (a one-hot class indicator, or a regression target) the model is
``w ~ N(0, alpha^-1 I_D)``, ``y | F, w ~ N(F w, beta^-1 I_N)``. ``alpha`` and ``beta`` are set to
maximise the evidence ``p(y | F, alpha, beta)`` by MacKay's fixed-point updates
``gamma = sum_i beta s_i / (alpha + beta s_i)``, ``alpha = gamma / m'm``,
``beta = (N - gamma) / ||F m - y||^2`` (ICML 2021, Algorithm 1), and the score is the maximised
log evidence divided by ``N``, averaged over the target columns.

How it is computed here. The iteration needs the eigenvalues ``s_i`` of the Gram matrix
(for ``gamma`` and ``log |A|``) and, per column and step, one solve with the shifted Gram
matrix (for ``m'm`` and ``||F m - y||^2``). One Householder tridiagonalisation ``Q T Q'`` of the
*smaller* Gram matrix — ``F'F`` (D x D) when ``N >= D``, ``F F'`` (N x N) when ``N < D``, formed
by a half-product ``dsyrk`` — serves every class and every step: the eigenvalues of ``T`` come
without eigenvectors (``dsterf``), the right-hand sides are rotated once by ``Q'``, and each
step's solves are ``O(k)`` tridiagonal solves, all classes iterated at once. Both Gram matrices
give the non-zero squared singular values of ``F``.
When ``N < D`` the remaining ``D - N`` eigenvalues of ``F'F`` are zero and
still count in ``log |alpha I + beta F'F|`` as ``(D - N) log alpha``; the JMLR fixed-point
code of the authors drops that term and over-scores models with wide features on small data.
Here the evidence is always the one of the D-dimensional model, equal to the ICML algorithm
run on ``F'F`` (tests/transferability/test_logme.py).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.linalg
from scipy.linalg import blas, lapack

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._common import as_features, as_labels, class_sums, one_hot

__all__ = ["logme"]

log = logging.getLogger(__name__)


def _gram(f: np.ndarray, transpose: bool) -> np.ndarray:
    """``F'F`` (``transpose``) or ``F F'``, lower triangle only, by one BLAS ``dsyrk`` call.

    ``dsyrk`` computes half of the symmetric product, and it is fed whichever of ``F`` and ``F'``
    is already in Fortran order, so nothing is copied.
    """
    if f.flags.c_contiguous:  # F' is in Fortran order: F'F = F' (F')', F F' = (F')' F'
        return blas.dsyrk(1.0, f.T, trans=0 if transpose else 1, lower=1)
    return blas.dsyrk(1.0, f, trans=1 if transpose else 0, lower=1)


def _tridiagonal(gram: np.ndarray, rhs: np.ndarray):
    """``gram = Q T Q'``, ``T`` tridiagonal: its diagonal, off-diagonal, eigenvalues, and ``Q' rhs``.

    Householder tridiagonalisation (LAPACK ``dsytrd`` on the lower triangle of ``gram``), the
    reflectors applied to the ``C`` right-hand sides (``dormqr``), and the eigenvalues of ``T``
    by the root-free QL/QR algorithm (``dsterf``). No eigenvector is formed: the iteration
    uses shifted solves with ``T`` instead (``_shifted_solve``).
    """
    k = gram.shape[0]
    q_rhs = np.array(rhs, dtype=np.float64, order="F", copy=True)
    if k == 1:
        diag = gram[0].copy()
        return diag, np.zeros(0), np.clip(diag, 0.0, None), q_rhs
    lwork = int(lapack.dsytrd_lwork(k, lower=1)[0])
    a, diag, off, tau, info = lapack.dsytrd(gram, lower=1, lwork=lwork, overwrite_a=1)
    if info != 0:  # pragma: no cover - dsytrd fails only on invalid arguments
        raise np.linalg.LinAlgError(f"LAPACK dsytrd failed: info={info}")
    refl = a[1:, : k - 1]
    lwork = int(lapack.dormqr("L", "T", refl, tau, q_rhs[1:], -1)[1][0])
    applied, _, info = lapack.dormqr("L", "T", refl, tau, q_rhs[1:], lwork)
    if info != 0:  # pragma: no cover
        raise np.linalg.LinAlgError(f"LAPACK dormqr failed: info={info}")
    q_rhs[1:] = applied
    s, info = lapack.dsterf(diag, off)
    if info != 0:  # pragma: no cover - dsterf fails only when QL/QR does not converge
        s = scipy.linalg.eigvalsh_tridiagonal(diag, off, lapack_driver="stebz")
    return diag, off, np.clip(s, 0.0, None), q_rhs


def _shifted_solve(diag, off, shifts, rhs, out) -> np.ndarray:
    """``out[:, j] = (T + shifts[j] I)^-1 rhs[:, j]`` for the positive semi-definite tridiagonal ``T``.

    LAPACK ``dptsv`` (``L D L'`` of a positive definite tridiagonal matrix, ``O(k)`` per column);
    a pivoted banded LU if a shifted matrix is not numerically positive definite.
    """
    if diag.shape[0] == 1:
        out[:] = rhs / (diag[0] + shifts)
        return out
    for j, shift in enumerate(shifts):
        _, _, x, info = lapack.dptsv(diag + shift, off, rhs[:, j])
        if info != 0:
            banded = np.zeros((3, diag.shape[0]))
            banded[0, 1:], banded[1], banded[2, :-1] = off, diag + shift, off
            x = scipy.linalg.solve_banded((1, 1), banded, rhs[:, j])
        out[:, j] = x
    return out


@register("transferability", "logme")
def logme(
    features: Any,
    labels: Any,
    *,
    regression: bool = False,
    tol: float = 1e-8,
    max_iter: int = 1000,
    eps: float = 1e-5,
) -> float:
    """LogME (You et al., ICML 2021): maximum log evidence per sample of a linear model on features.

    Args:
        features: [N, D] features of the target data from the pre-trained model.
        labels: [N] class ids (any integers; gaps are closed), or with ``regression=True`` a
            [N] or [N, C] array of real targets.
        regression: score real-valued targets, one evidence per target column.
        tol: stop when ``alpha / beta`` changes by less than this fraction for every column
            (the authors' ICML routine stops at 1e-2 after at most 11 steps; the evidence is
            flat at the optimum, so a tight tolerance costs little).
        max_iter: maximum fixed-point steps.
        eps: added to ``m'm`` and ``||F m - y||^2`` in the updates, as in the authors' code; it
            keeps ``alpha`` and ``beta`` finite when the features fit ``y`` exactly (``N <= D``,
            where the evidence keeps rising as ``beta`` grows). The returned value is the exact
            log evidence at the final ``alpha, beta``, as the authors' fixed-point routine
            returns (their ICML routine also adds ``eps`` to the two fit terms of the evidence,
            which lowers it by ``(alpha + beta) eps / 2N``).

    Returns:
        The evidence divided by ``N``, averaged over classes (or target columns); higher means
        the features should transfer better.
    """
    if tol <= 0:
        raise ConfigError(f"tol must be > 0, got {tol}")
    if max_iter < 1:
        raise ConfigError(f"max_iter must be >= 1, got {max_iter}")
    if eps < 0:
        raise ConfigError(f"eps must be >= 0, got {eps}")
    f = as_features("features", features)
    n, d = f.shape
    if regression:
        y = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
        y = y.astype(np.float64)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[0] != n:
            raise DataError(f"regression targets must have shape [{n}] or [{n}, C], got {y.shape}")
        if not np.isfinite(y).all():
            raise DataError("regression targets contain NaN or inf")
        yy = (y**2).sum(axis=0)
        rhs = (f.T @ y) if n >= d else y  # F'y [D, C] or y [N, C]
    else:
        lab, _ = as_labels("labels", labels, n)
        yy = np.bincount(lab).astype(np.float64)
        rhs = class_sums(lab, f).T if n >= d else one_hot(lab, yy.shape[0])
    diag, off, s, q = _tridiagonal(_gram(f, transpose=n >= d), rhs)
    if s.max() <= 0:
        raise DataError("features are all zero: LogME is undefined")
    return float(np.mean(_max_evidence(diag, off, s, q, yy, n, d, tol, max_iter, eps)))


def _max_evidence(diag, off, s, q, yy, n, d, tol, max_iter, eps) -> np.ndarray:
    """Fixed-point evidence maximisation for every column at once; log evidence / N per column.

    With ``t = alpha / beta`` the posterior mean is ``m = (F'F + t I)^-1 F'y``. When ``N >= D``
    the Gram matrix is ``F'F = Q T Q'`` and ``q = Q'F'y``; with ``x = (T + t I)^-1 q``,
    ``m'm = x'x`` and ``||F m - y||^2 = y'y - q'x - t x'x``. When ``N < D`` it is
    ``F F' = Q T Q'`` and ``q = Q'y``; ``m = F'Q x``, so ``m'm = q'x - t x'x`` and
    ``F m - y = -t Q x``, ``||F m - y||^2 = t^2 x'x``. ``gamma`` and ``log |A|`` need only the
    eigenvalues ``s`` of ``T``.
    """
    k = s.shape[0]
    sc = s[:, None]
    x = np.empty_like(q)

    def fit_terms(t):
        _shifted_solve(diag, off, t, q, x)
        xx = np.einsum("ij,ij->j", x, x)
        qx = np.einsum("ij,ij->j", q, x)
        if n >= d:
            return xx, np.maximum(yy - qx - t * xx, 0.0)
        return np.maximum(qx - t * xx, 0.0), t**2 * xx

    t = np.ones(q.shape[1])  # alpha / beta, starting from alpha = beta = 1 as the authors do
    for _ in range(max_iter):
        m2, res2 = fit_terms(t)
        gamma = (sc / (sc + t)).sum(axis=0)
        alpha = gamma / (m2 + eps)
        beta = (n - gamma) / (res2 + eps)
        t_new = alpha / beta
        converged = np.all(np.abs(t_new - t) <= tol * t)
        t = t_new
        if converged:
            break
    else:
        log.warning("LogME: the evidence iteration did not converge in %d steps", max_iter)
    # the log evidence at the final (alpha, beta), with m the posterior mean for them
    m2, res2 = fit_terms(t)
    logdet_a = np.log(alpha[None, :] + beta[None, :] * sc).sum(axis=0) + (d - k) * np.log(alpha)
    evidence = (
        d / 2.0 * np.log(alpha)
        + n / 2.0 * np.log(beta)
        - 0.5 * logdet_a
        - beta / 2.0 * res2
        - alpha / 2.0 * m2
        - n / 2.0 * np.log(2.0 * np.pi)
    )
    return evidence / n
