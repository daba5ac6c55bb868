"""KLIEP: Kullback-Leibler Importance Estimation Procedure (Sugiyama et al., NIPS 2007)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._domains import (
    DomainEstimator,
    check_positive,
    effective_sample_size,
    fit_weighted,
    rbf_gamma,
    split_domains,
)
from .._registry import register
from ..exceptions import ConfigError

__all__ = ["KLIEP", "kliep_alpha"]

logger = logging.getLogger(__name__)

#: Multipliers of the median-heuristic width tried by the likelihood cross-validation.
DEFAULT_GAMMA_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0)


def kliep_alpha(A: np.ndarray, b: np.ndarray, *, tol: float = 1e-6, max_iter: int = 5000,
                alpha0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Solve KLIEP's problem (Sugiyama et al. 2008, eq. 9) for the basis coefficients.

    ``max_alpha mean_j log (A alpha)_j`` s.t. ``b' alpha = 1``, ``alpha >= 0``, where
    ``A_jl = k(xt_j, c_l)`` (target rows x centres) and ``b_l = mean_i k(xs_i, c_l)``.

    With ``beta_l = alpha_l b_l`` the problem is the maximum-likelihood mixing proportions of
    fixed components ``A_jl / b_l`` on the simplex, whose EM update
    ``alpha_l <- alpha_l * mean_j (A_jl / (A alpha)_j) / b_l`` keeps ``b'alpha = 1`` and
    ``alpha >= 0`` exactly and increases the objective at every step; it is accelerated by
    SQUAREM extrapolation (Varadhan & Roland 2008) with a monotone safeguard. Stops when one
    EM step gains less than ``tol`` in the objective. ``alpha0`` warm-starts the iteration.
    Returns ``(alpha, n_iter)``.
    """
    nt, m = A.shape
    if np.any(b <= 0):
        raise ConfigError("KLIEP: a basis centre has zero mean kernel value on the source rows; "
                          "increase the kernel width (smaller gamma)")
    if alpha0 is None:
        alpha = np.full(m, 1.0 / b.sum())
    else:  # warm start: any non-negative vector, rescaled onto b'alpha = 1
        alpha = np.maximum(np.asarray(alpha0, dtype=float), 0.0) + 1e-12 / b.sum()
        alpha /= b @ alpha
    tiny = np.finfo(float).tiny
    scale = 1.0 / (nt * b)

    def em(a: np.ndarray) -> tuple[np.ndarray, float]:
        """One EM step from ``a`` and the objective at ``a`` (from the same product)."""
        Aa = np.maximum(A @ a, tiny)
        return a * (A.T @ (1.0 / Aa)) * scale, float(np.log(Aa).sum() / nt)

    for it in range(1, max_iter + 1):
        a1, f0 = em(alpha)
        a2, f1 = em(a1)
        if f1 - f0 < tol:
            return a2, it
        r, v = a1 - alpha, a2 - 2 * a1 + alpha
        vn = float(np.sqrt(v @ v))
        step = -float(np.sqrt(r @ r)) / vn if vn > 0 else -1.0
        step = max(step, -1e3)
        # EM never revives a zero coefficient, so the extrapolation must stay positive:
        # halve the step towards -1 (the plain double EM step) until it does
        cand = alpha - 2 * step * r + step * step * v
        while step < -1.0 and not np.all(cand > 0):
            step = 0.5 * (step - 1.0)
            cand = alpha - 2 * step * r + step * step * v
        if step < -1.0:
            cand /= b @ cand
            cand_em, fc = em(cand)
            # monotone safeguard: keep the extrapolation only if it is no worse than a1
            alpha = cand_em if fc >= f1 else a2
        else:
            alpha = a2
    logger.warning("KLIEP: max_iter=%d reached before tol=%g", max_iter, tol)
    return alpha, max_iter


@register("instance", "kliep")
class KLIEP(DomainEstimator, BaseEstimator):
    """KLIEP: importance weights ``w(x) = sum_l alpha_l k(x, c_l)`` maximising the target likelihood.

    Sugiyama, Nakajima, Kashima, von Bünau & Kawanabe, "Direct Importance Estimation with Model
    Selection and Its Application to Covariate Shift Adaptation", NIPS 2007 (extended: Ann.
    Inst. Stat. Math. 60, 2008): Gaussian basis functions centred on ``n_centers`` target
    points (the paper's ``b = 100``), ``max sum_j log w(xt_j)`` s.t.
    ``mean_i w(xs_i) = 1``, ``alpha >= 0`` (eq. 9), kernel width chosen by likelihood
    cross-validation over the target rows (``cv`` folds; Sec. 2.4, "LCV").

    Args:
        estimator: scikit-learn estimator fitted on the source rows with the weights
            (``None``: only learn the weights).
        gamma: RBF width ``exp(-gamma ||x - c||^2)``: a float, a list of candidates for the
            cross-validation, or ``"auto"`` = the median heuristic times
            ``DEFAULT_GAMMA_FACTORS`` (our candidate grid).
        n_centers: number of basis centres drawn from the target rows.
        cv: folds of the likelihood cross-validation (used when several widths are given).
        tol, max_iter: stopping rule of the solver (:func:`kliep_alpha`); the
            cross-validation fits stop at ``10 * tol`` (they only rank the widths).
        random_state: seed of the centre draw and the folds.

    Attributes:
        source_weights_, effective_sample_size_: weights of the source rows and their Kish size.
        alpha_, centers_, gamma_: the fitted importance model ``w(x)``.
        cv_log_likelihood_: held-out mean log ``w`` of each candidate width (``{gamma: value}``).
        estimator_: the fitted base estimator.
    """

    def __init__(self, estimator: Any = None, *, gamma: float | str | list[float] = "auto",
                 n_centers: int = 100, cv: int = 5, tol: float = 1e-6, max_iter: int = 5000,
                 random_state: int = 0):
        self.estimator = estimator
        self.gamma = gamma
        self.n_centers = n_centers
        self.cv = cv
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _candidates(self, X: Any) -> list[float]:
        if isinstance(self.gamma, str):
            if self.gamma != "auto":
                raise ConfigError(f"gamma must be a float, a list of floats or 'auto', got {self.gamma!r}")
            g0 = rbf_gamma("median", X)
            return [g0 * f for f in DEFAULT_GAMMA_FACTORS]
        gammas = list(np.atleast_1d(np.asarray(self.gamma, dtype=float)))
        for g in gammas:
            check_positive("gamma", g)
        return gammas

    def _check_params(self) -> None:
        check_positive("n_centers", self.n_centers)
        check_positive("tol", self.tol)
        check_positive("max_iter", self.max_iter)

    def fit(self, X: Any, y: Any = None, sample_domain: Any = None) -> KLIEP:
        from sklearn.metrics.pairwise import euclidean_distances

        self._check_params()
        d = split_domains(X, y, sample_domain, "KLIEP",
                          need_source_labels=self.estimator is not None)
        self.n_features_in_ = d.X.shape[1]
        Xs, Xt = d.Xs, d.Xt
        nt = Xt.shape[0]
        gammas = self._candidates(d.X)
        rng = np.random.default_rng(self.random_state)
        m = min(self.n_centers, nt)
        cidx = np.sort(rng.choice(nt, size=m, replace=False))
        self.centers_ = Xt[cidx]
        self.cv_log_likelihood_ = {}
        # squared distances once; each width is then one exponential
        Dt = euclidean_distances(Xt, self.centers_, squared=True)
        Ds = euclidean_distances(Xs, self.centers_, squared=True)
        if len(gammas) > 1:
            if not (isinstance(self.cv, int) and 2 <= self.cv <= nt):
                raise ConfigError(f"cv must be an int in [2, n_target={nt}], got {self.cv!r}")
            folds = np.array_split(rng.permutation(nt), self.cv)
            fold_alpha: dict[float, np.ndarray] = {}
            for g in gammas:
                At = np.exp(-g * Dt)
                b = np.exp(-g * Ds).mean(axis=0)
                ll = []
                warm = np.zeros(m)
                for k in range(self.cv):
                    test = folds[k]
                    train = np.concatenate([folds[j] for j in range(self.cv) if j != k])
                    # centres from the training folds only: a held-out row that is also a
                    # centre would reward ever narrower kernels
                    keep = ~np.isin(cidx, test)
                    # warm start from the previous fold (the folds share most rows)
                    alpha, _ = kliep_alpha(At[np.ix_(train, keep)], b[keep], tol=10 * self.tol,
                                           max_iter=self.max_iter,
                                           alpha0=warm[keep] if k else None)
                    warm[:] = 0.0
                    warm[keep] = alpha
                    ll.append(np.mean(np.log(np.maximum(At[np.ix_(test, keep)] @ alpha, 1e-300))))
                self.cv_log_likelihood_[g] = float(np.mean(ll))
                fold_alpha[g] = warm.copy()
            self.gamma_ = max(self.cv_log_likelihood_, key=self.cv_log_likelihood_.get)
            alpha0 = fold_alpha[self.gamma_]
        else:
            self.gamma_ = gammas[0]
            alpha0 = None
        At = np.exp(-self.gamma_ * Dt)
        Ks = np.exp(-self.gamma_ * Ds)
        self.alpha_, self.n_iter_ = kliep_alpha(At, Ks.mean(axis=0), tol=self.tol,
                                                max_iter=self.max_iter, alpha0=alpha0)
        self.source_weights_ = Ks @ self.alpha_
        self.log_likelihood_ = float(np.mean(np.log(np.maximum(At @ self.alpha_, 1e-300))))
        self.effective_sample_size_ = effective_sample_size(self.source_weights_)
        self.estimator_ = None
        if self.estimator is not None:
            self.estimator_ = fit_weighted(self.estimator, Xs, d.ys, self.source_weights_, "KLIEP")
        return self

    def importance(self, X: Any) -> np.ndarray:
        """``w(x) = sum_l alpha_l k(x, c_l)`` for new rows."""
        from sklearn.metrics.pairwise import rbf_kernel

        return rbf_kernel(X, self.centers_, gamma=self.gamma_) @ self.alpha_
