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

How it is computed here. Everything the iteration needs is a function of the eigenvalues
``s_i`` of ``F'F`` and of the projections ``z = V' F' y`` on its eigenvectors, so one
eigen-decomposition serves every class and every iteration, and the iteration runs on all
classes at once. The decomposition is that of the *smaller* Gram matrix: ``F'F`` (D x D) when
``N >= D``, ``F F'`` (N x N) when ``N < D`` — both give the non-zero squared singular values of
``F``, i.e. its SVD. When ``N < D`` the remaining ``D - N`` eigenvalues of ``F'F`` are zero and
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
from scipy.linalg import lapack

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._common import as_features, as_labels, class_sums, one_hot

__all__ = ["logme"]

log = logging.getLogger(__name__)


def _eigh_projected(gram: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``s`` of the symmetric ``gram`` and ``V' rhs`` for its eigenvectors ``V``.

    ``V`` is never formed: ``gram = Q T Q'`` (Householder tridiagonalisation, LAPACK
    ``dsytrd``), ``Q' rhs`` applies the reflectors (``dormqr``), and ``T = W diag(s) W'`` is
    solved by MRRR (``dstemr``), so ``V' rhs = W' Q' rhs``. This skips the back-transformation
    that forms ``V`` in a full eigen-decomposition. Falls back to ``eigh`` if MRRR fails.
    """
    k = gram.shape[0]
    if k < 3:
        s, v = scipy.linalg.eigh(gram)
        return s, v.T @ rhs
    try:
        lwork = int(lapack.dsytrd_lwork(k, lower=1)[0])
        a, diag, off, tau, info = lapack.dsytrd(gram, lower=1, lwork=lwork, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"dsytrd info={info}")
        q_rhs = np.array(rhs, dtype=np.float64, order="F", copy=True)
        refl = a[1:, : k - 1]
        lwork = int(lapack.dormqr("L", "T", refl, tau, q_rhs[1:], -1)[1][0])
        applied, _, info = lapack.dormqr("L", "T", refl, tau, q_rhs[1:], lwork)
        if info != 0:
            raise np.linalg.LinAlgError(f"dormqr info={info}")
        q_rhs[1:] = applied
        s, w = scipy.linalg.eigh_tridiagonal(diag, off, lapack_driver="stemr", check_finite=False)
        return s, w.T @ q_rhs
    except np.linalg.LinAlgError as err:  # pragma: no cover - MRRR failures are rare
        log.debug("LogME: tridiagonal route failed (%s); using a full eigen-decomposition", err)
        s, v = scipy.linalg.eigh(gram, driver="evd", check_finite=False)
        return s, v.T @ rhs


def _spectrum(f: np.ndarray, labels: np.ndarray | None, targets: np.ndarray | None):
    """Eigenvalues ``s`` of the smaller Gram matrix and squared projections ``z**2`` [k, C]."""
    n, d = f.shape
    if n >= d:
        ft_y = class_sums(labels, f).T if labels is not None else f.T @ targets  # [D, C]
        s, z = _eigh_projected(f.T @ f, ft_y)
        z2 = z**2
    else:  # F F' = U diag(s) U', and V' F' y = diag(sqrt(s)) U' y
        rhs = one_hot(labels, int(labels.max()) + 1) if labels is not None else targets  # [N, C]
        s, ut_y = _eigh_projected(f @ f.T, rhs)
        s = np.clip(s, 0.0, None)
        z2 = s[:, None] * ut_y**2
    return np.clip(s, 0.0, None), z2


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
        s, z2 = _spectrum(f, None, y)
        yy = (y**2).sum(axis=0)
    else:
        lab, _ = as_labels("labels", labels, n)
        s, z2 = _spectrum(f, lab, None)
        yy = np.bincount(lab).astype(np.float64)
    if s.max() <= 0:
        raise DataError("features are all zero: LogME is undefined")
    return float(np.mean(_max_evidence(s, z2, yy, n, d, tol, max_iter, eps)))


def _max_evidence(s, z2, yy, n, d, tol, max_iter, eps) -> np.ndarray:
    """Fixed-point evidence maximisation for every column at once; log evidence / N per column."""
    k = s.shape[0]
    sc = s[:, None]

    def fit_terms(t):
        denom = sc + t
        m2 = (z2 / denom**2).sum(axis=0)  # m'm
        res2 = np.maximum(yy - (z2 * (sc + 2.0 * t) / denom**2).sum(axis=0), 0.0)  # ||F m - y||^2
        return denom, m2, res2

    t = np.ones(z2.shape[1])  # alpha / beta, starting from alpha = beta = 1 as the authors do
    for _ in range(max_iter):
        denom, m2, res2 = fit_terms(t)
        gamma = (sc / denom).sum(axis=0)
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
    _, m2, res2 = fit_terms(t)
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
