"""Kernel Mean Matching (Huang et al., NIPS 2006)."""

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
from ._qp import polish_active_set, solve_box_sum_qp

__all__ = ["KMM", "kmm_weights"]

logger = logging.getLogger(__name__)


def _nystroem_factor(Xs: Any, Xt: Any, gamma: float, n_components: int,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Nyström factor of the source rows and the target rows' summed features.

    ``m = n_components`` landmarks ``L`` are drawn without replacement from the stacked rows;
    ``k(x, x') ~ phi(x)'phi(x')`` with ``phi(x) = W^{-1/2} k(L, x)``, ``W = k(L, L)``
    (Williams & Seeger, NIPS 2001; eigenvalues of ``W`` below ``1e-12 max`` are dropped, as
    scikit-learn's ``Nystroem`` does). Returns ``Phi_s`` (``n_s x m``, float32) and
    ``sum_j phi(xt_j)`` (float64); the target features are only summed, never stored.
    """
    import scipy.sparse as sp

    ns, nt = Xs.shape[0], Xt.shape[0]
    m = min(n_components, ns + nt)
    idx = np.random.default_rng(seed).choice(ns + nt, size=m, replace=False)
    src, tgt = idx[idx < ns], idx[idx >= ns] - ns
    parts = [Xs[src], Xt[tgt]]
    L = sp.vstack(parts, format="csr") if sp.issparse(Xs) else np.vstack(parts)
    vals, vecs = np.linalg.eigh(_rbf(L, L, gamma))
    keep = vals > 1e-12 * vals[-1]
    w_isqrt = vecs[:, keep] / np.sqrt(vals[keep])
    Ps = _rbf(Xs, L, gamma).astype(np.float32) @ w_isqrt.astype(np.float32)
    return Ps, _rbf(L, Xt, gamma, row_sums=True) @ w_isqrt


def _rbf(A: Any, B: Any, gamma: float, *, row_sums: bool = False,
         out32: np.ndarray | None = None) -> np.ndarray:
    """``exp(-gamma ||a - b||^2)`` for every row pair, or only its row sums (``row_sums=True``).

    Dense rows are done in row blocks of about 64k entries, so the product, the shifts and the
    exponential of a block happen while it sits in cache (one pass over the output instead of
    five); ``out32`` receives a float32 copy block by block. ``row_sums`` never stores more
    than one block.
    """
    import scipy.sparse as sp

    if sp.issparse(A) or sp.issparse(B):
        from sklearn.metrics.pairwise import rbf_kernel

        K = rbf_kernel(A, B, gamma=gamma)
        if out32 is not None:
            out32[...] = K
        return K.sum(axis=1) if row_sums else K
    na, nb = A.shape[0], B.shape[0]
    sa = gamma * np.einsum("ij,ij->i", A, A)
    sb = gamma * np.einsum("ij,ij->i", B, B)
    B2 = (2.0 * gamma) * np.ascontiguousarray(B.T)
    bs = max(1, (1 << 16) // max(nb, 1))
    out = np.empty((min(bs, na), nb)) if row_sums else np.empty((na, nb))
    sums = np.empty(na) if row_sums else None
    for i in range(0, na, bs):
        j = min(i + bs, na)
        blk = out[: j - i] if row_sums else out[i:j]
        np.matmul(A[i:j], B2, out=blk)
        blk -= sa[i:j, None]
        blk -= sb[None, :]
        np.minimum(blk, 0.0, out=blk)
        np.exp(blk, out=blk)
        if row_sums:
            sums[i:j] = blk.sum(axis=1)
        elif out32 is not None:
            out32[i:j] = blk
    return sums if row_sums else out


def kmm_weights(
    Xs: Any,
    Xt: Any,
    *,
    gamma: float,
    B: float = 1000.0,
    eps: float | None = None,
    tol: float = 1e-7,
    max_iter: int = 5000,
    approximation: str | None = None,
    n_components: int = 1000,
    random_state: int = 0,
    polish_from: float = 3e-5,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Solve KMM's QP (Huang et al. 2006, eq. 6) for the source weights ``beta``.

    ``min_beta 1/2 beta'K beta - kappa'beta`` s.t. ``0 <= beta_i <= B`` and
    ``|sum_i beta_i - n_s| <= n_s eps``, with ``K_ij = k(xs_i, xs_j)`` and
    ``kappa_i = n_s/n_t sum_j k(xs_i, xt_j)`` (RBF kernel ``exp(-gamma ||x - x'||^2)``).

    The QP is solved by accelerated projected gradient with an exact projection onto the
    box-and-sum set. ``approximation="nystroem"`` replaces ``K`` by a rank-``n_components``
    Nyström factor ``Phi Phi'`` (landmarks drawn from both domains, see
    :func:`_nystroem_factor`; ``Phi`` kept in float32), so one gradient costs
    ``O(n n_components)`` instead of ``O(n^2)`` and nothing of size ``n x n`` is stored; that
    path stops at the first-order tolerance ``tol`` (no exact polish: there is no ``K``).
    With the exact kernel the first-order phase runs in float32 to a KKT residual of
    ``polish_from``, then :func:`polish_active_set` takes exact float64 Newton steps to
    ``tol``; the step bound is ``K``'s largest row sum (Gershgorin: ``K >= 0`` entrywise).
    Returns the weights and ``info`` (objective, iterations, convergence, lipschitz).
    """
    from scipy.linalg.blas import dsymv, ssymv

    ns, nt = Xs.shape[0], Xt.shape[0]
    eps_ = (np.sqrt(ns) - 1.0) / np.sqrt(ns) if eps is None else float(eps)
    lo, hi = ns * (1.0 - eps_), ns * (1.0 + eps_)
    if approximation is None:
        K32 = np.empty((ns, ns), dtype=np.float32)
        K = _rbf(Xs, Xs, gamma, out32=K32)
        np.fill_diagonal(K, 1.0)
        np.fill_diagonal(K32, 1.0)
        kappa = (ns / nt) * _rbf(Xs, Xt, gamma, row_sums=True)

        # K is symmetric: BLAS symv reads one triangle, half the memory traffic of gemv
        K32f, Kf = K32.T, K.T  # Fortran-ordered views, no copy

        def matvec(b: np.ndarray) -> np.ndarray:  # the first-order phase runs in float32
            if ns < 1024:  # OpenBLAS threads ssymv at every size; small gemv stays serial
                return (K32 @ b.astype(np.float32)).astype(np.float64)
            return ssymv(1.0, K32f, b.astype(np.float32)).astype(np.float64)

        def matvec64(b: np.ndarray) -> np.ndarray:
            return dsymv(1.0, Kf, b)

        # K >= 0 entrywise, so its largest row sum bounds lambda_max (Gershgorin); the
        # solver's adaptive step shrinks from there to the curvature it meets
        lam = float(matvec64(np.ones(ns)).max())
    elif approximation == "nystroem":
        Ps32, phi_t = _nystroem_factor(Xs, Xt, gamma, n_components, random_state)
        kappa = (ns / nt) * (Ps32 @ phi_t.astype(np.float32)).astype(np.float64)

        def matvec(b: np.ndarray) -> np.ndarray:  # float32 products, float64 iterates
            return (Ps32 @ (Ps32.T @ b.astype(np.float32))).astype(np.float64)

        # lambda_max(Phi Phi') = lambda_max(Phi'Phi), padded for the float32 Gram matrix
        lam = 1.001 * float(np.linalg.eigvalsh((Ps32.T @ Ps32).astype(np.float64))[-1])
    else:
        raise ConfigError(f"approximation must be None or 'nystroem', got {approximation!r}")
    L = 1.0001 * lam
    if approximation is None:
        # first-order phase to a loose tolerance, then exact active-set Newton steps
        beta, n_iter, ok = solve_box_sum_qp(matvec, kappa, L, B, lo, hi,
                                            tol=max(tol, polish_from), max_iter=max_iter)
        beta, n_newton, ok = polish_active_set(K, kappa, beta, B, lo, hi, L, tol=tol,
                                               matvec=matvec64)
        if not ok:  # fall back on the first-order method from the polished point
            beta, more, ok = solve_box_sum_qp(matvec64, kappa, L, B, lo, hi, tol=tol,
                                              max_iter=max_iter, x0=beta)
            n_iter += more
        n_iter += n_newton
    else:
        beta, n_iter, ok = solve_box_sum_qp(matvec, kappa, L, B, lo, hi, tol=tol,
                                            max_iter=max_iter)
    if not ok:
        logger.warning("KMM: projected gradient stopped at max_iter=%d before tol=%g", max_iter, tol)
    Kb = matvec64(beta) if approximation is None else matvec(beta)
    obj = 0.5 * beta @ Kb - kappa @ beta
    return beta, {"objective": float(obj), "n_iter": n_iter, "converged": ok, "lipschitz": lam}


@register("instance", "kmm")
class KMM(DomainEstimator, BaseEstimator):
    """Kernel Mean Matching: re-weight source samples so their kernel mean matches the target's.

    Huang, Smola, Gretton, Borgwardt & Schölkopf, "Correcting Sample Selection Bias by
    Unlabeled Data", NIPS 2006, eq. 6: ``min 1/2 b'Kb - kappa'b``, ``0 <= b <= B``,
    ``|sum b - n_s| <= n_s eps``. Defaults ``B = 1000`` and ``eps = (sqrt(n_s) - 1)/sqrt(n_s)``
    follow the paper's experiments. The weights ``source_weights_`` then weight the source
    rows when ``estimator`` is fitted (it must accept ``sample_weight``).

    Fit with ``fit(X, y, sample_domain)`` (see :mod:`transferkit._domains`); labels of target
    rows are not used. The QP is solved by accelerated projected gradient with an exact
    projection (``tol`` is its KKT residual); ``approximation="nystroem"`` uses a rank
    ``n_components`` Nyström kernel for large ``n``.

    Args:
        estimator: scikit-learn estimator fitted on the weighted source rows (``None``: only
            learn the weights).
        gamma: RBF kernel width ``exp(-gamma ||x - x'||^2)``; ``None`` = ``1/n_features``,
            ``"median"`` = inverse median squared distance.
        B: upper bound on each weight.
        eps: slack of the sum constraint; ``None`` = ``(sqrt(n_s) - 1)/sqrt(n_s)``.
        tol: KKT residual at which the solver stops.
        max_iter: solver iteration cap.
        approximation: ``None`` (exact kernel) or ``"nystroem"``.
        n_components: Nyström rank.
        random_state: seed of the Nyström landmarks.

    Attributes:
        source_weights_: weight of each source row (in the order of ``X``'s source rows).
        effective_sample_size_: ``(sum w)^2 / sum w^2``.
        estimator_: the fitted base estimator (``None`` without ``estimator``).
        gamma_: the kernel width used.
        objective_, n_iter_: the QP's objective and the solver's iterations.
    """

    def __init__(self, estimator: Any = None, *, gamma: float | str | None = None,
                 B: float = 1000.0, eps: float | None = None, tol: float = 1e-7,
                 max_iter: int = 5000, approximation: str | None = None,
                 n_components: int = 1000, random_state: int = 0):
        self.estimator = estimator
        self.gamma = gamma
        self.B = B
        self.eps = eps
        self.tol = tol
        self.max_iter = max_iter
        self.approximation = approximation
        self.n_components = n_components
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive("B", self.B)
        check_positive("tol", self.tol)
        check_positive("max_iter", self.max_iter)
        check_positive("n_components", self.n_components)
        if self.eps is not None and not 0 <= self.eps <= 1:
            raise ConfigError(f"eps must be in [0, 1], got {self.eps}")

    def fit(self, X: Any, y: Any = None, sample_domain: Any = None) -> KMM:
        self._check_params()
        d = split_domains(X, y, sample_domain, "KMM", need_source_labels=self.estimator is not None)
        self.n_features_in_ = d.X.shape[1]
        Xs, Xt = d.Xs, d.Xt
        self.gamma_ = rbf_gamma(self.gamma, Xs)
        if self.B * Xs.shape[0] < Xs.shape[0] * (1 - (self.eps if self.eps is not None else 0)):
            raise ConfigError(f"B={self.B} is too small for the sum constraint")
        w, info = kmm_weights(Xs, Xt, gamma=self.gamma_, B=self.B, eps=self.eps, tol=self.tol,
                              max_iter=self.max_iter, approximation=self.approximation,
                              n_components=self.n_components, random_state=self.random_state)
        self.source_weights_ = w
        self.effective_sample_size_ = effective_sample_size(w)
        self.objective_ = info["objective"]
        self.n_iter_ = info["n_iter"]
        self.estimator_ = None
        if self.estimator is not None:
            self.estimator_ = fit_weighted(self.estimator, Xs, d.ys, w, "KMM")
        return self
