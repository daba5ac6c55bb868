"""Accelerated projected gradient for KMM's box-and-sum constrained QP."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["project_box_sum", "solve_box_sum_qp"]


def _excess(sorted_v: np.ndarray, suffix: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``sum_i max(v_i - t, 0)`` for each ``t`` (``v`` sorted ascending, ``suffix[k] = sum v[k:]``)."""
    k = np.searchsorted(sorted_v, t, side="right")
    return suffix[k] - t * (sorted_v.size - k)


def project_box_sum(v: np.ndarray, upper: float, lo: float, hi: float) -> np.ndarray:
    """Euclidean projection of ``v`` onto ``{0 <= b <= upper, lo <= sum(b) <= hi}`` (exact).

    The projection is ``clip(v - tau, 0, upper)`` with ``tau = 0`` when that sum is already in
    ``[lo, hi]``, else the ``tau`` that puts the sum on the violated side; ``g(tau)`` is
    piecewise linear, so ``tau`` is found exactly between two sorted breakpoints.
    """
    x = np.clip(v, 0.0, upper)
    s = x.sum()
    if lo <= s <= hi:
        return x
    target = lo if s < lo else hi
    vs = np.sort(v)
    suf = np.concatenate([np.cumsum(vs[::-1])[::-1], [0.0]])
    vb = vs - upper

    def g(t: np.ndarray) -> np.ndarray:
        return _excess(vs, suf, t) - _excess(vb, suf - upper * (vs.size - np.arange(vs.size + 1)), t)

    bps = np.unique(np.concatenate([vs, vb]))
    gv = g(bps)  # non-increasing in t
    # last breakpoint with g >= target, then linear interpolation to the next one
    k = np.searchsorted(-gv, -target, side="right") - 1
    if k < 0:
        tau = bps[0] - (target - gv[0]) / vs.size
    elif k >= bps.size - 1:
        tau = bps[-1]
    else:
        t0, t1, g0, g1 = bps[k], bps[k + 1], gv[k], gv[k + 1]
        tau = t0 if g0 == g1 else t0 + (g0 - target) * (t1 - t0) / (g0 - g1)
    return np.clip(v - tau, 0.0, upper)


def solve_box_sum_qp(
    matvec: Callable[[np.ndarray], np.ndarray],
    kappa: np.ndarray,
    lipschitz: float,
    upper: float,
    lo: float,
    hi: float,
    *,
    tol: float = 1e-7,
    max_iter: int = 5000,
    x0: np.ndarray | None = None,
    shrink: float = 0.9,
) -> tuple[np.ndarray, int, bool]:
    """Minimise ``1/2 b'Kb - kappa'b`` over ``{0 <= b <= upper, lo <= sum b <= hi}``.

    FISTA (Beck & Teboulle 2009) with gradient-based adaptive restart (O'Donoghue & Candès
    2015) and an adaptive step: each step first tries ``L <- shrink * L`` and doubles it
    (capped at ``lipschitz``, an upper bound of ``lambda_max(K)``) until the quadratic's exact
    sufficient-decrease test ``d'Kd <= L d'd`` holds for the step ``d`` (Scheinberg, Goldfarb
    & Bai 2014 allow the step to grow back this way). ``K b`` is kept for the iterate and the
    extrapolated point alike (``K y`` is a combination of two ``K x``), so an accepted step
    costs one ``matvec(b) = K b``. Stops when the projected-gradient step of length
    ``1/lipschitz`` moves ``b`` by less than ``tol`` times ``max(1, ||b||_inf)`` in the sup norm
    (a KKT residual), or after ``max_iter`` steps. Returns ``(b, n_iter, converged)``.
    """
    n = kappa.size
    x = project_box_sum(np.ones(n) if x0 is None else x0, upper, lo, hi)
    Kx = matvec(x)
    y, Ky, t, L = x.copy(), Kx.copy(), 1.0, float(lipschitz)
    for it in range(1, max_iter + 1):
        g = Ky - kappa
        Lt = min(shrink * L, lipschitz)
        while True:  # backtracking on the exact quadratic model
            x_new = project_box_sum(y - g / Lt, upper, lo, hi)
            d = x_new - y
            Kx_new = matvec(x_new)
            if Lt >= lipschitz or d @ (Kx_new - Ky) <= Lt * (d @ d):
                break
            Lt = min(2.0 * Lt, lipschitz)
        g_new = Kx_new - kappa
        r = np.abs(project_box_sum(x_new - g_new / lipschitz, upper, lo, hi) - x_new).max()
        if r <= tol * max(1.0, np.abs(x_new).max()):
            return x_new, it, True
        if g @ (x_new - x) > 0:  # the momentum points uphill: restart from x_new
            x, Kx, y, Ky, t, L = x_new, Kx_new, x_new.copy(), Kx_new.copy(), 1.0, Lt
            continue
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        c = (t - 1.0) / t_new
        y, Ky = x_new + c * (x_new - x), Kx_new + c * (Kx_new - Kx)
        x, Kx, t, L = x_new, Kx_new, t_new, Lt
    return x, max_iter, False


def polish_active_set(
    K: np.ndarray,
    kappa: np.ndarray,
    x: np.ndarray,
    upper: float,
    lo: float,
    hi: float,
    lipschitz: float,
    *,
    tol: float = 1e-7,
    max_iter: int = 30,
    matvec: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Refine a near-optimal ``x`` of the box-and-sum QP by active-set Newton steps.

    At ``x`` the variables at a bound whose gradient pushes outward are fixed; the QP restricted
    to the remaining (free) variables, with the sum constraint as an equality when it is
    active, is solved exactly by a Cholesky factorisation of ``K_FF``; the step to that point
    is projected back onto the feasible set with a backtracking (Armijo) line search. Once the
    active set is right, one step lands on the exact optimum. Returns ``(x, steps, converged)``
    with the same KKT test as :func:`solve_box_sum_qp`.
    """
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    step = 1.0 / lipschitz
    if matvec is None:
        def matvec(z: np.ndarray) -> np.ndarray:
            return K @ z

    def kkt(z: np.ndarray, g: np.ndarray) -> float:
        return float(np.abs(project_box_sum(z - step * g, upper, lo, hi) - z).max())

    Kx = matvec(x)
    fx = 0.5 * x @ Kx - kappa @ x
    for it in range(1, max_iter + 1):
        g = Kx - kappa
        if kkt(x, g) <= tol * max(1.0, np.abs(x).max()):
            return x, it - 1, True
        s = x.sum()
        on_sum = None
        scale = max(1.0, abs(s)) * 1e-9
        if s <= lo + scale:
            on_sum = lo
        elif s >= hi - scale:
            on_sum = hi
        # multiplier of the sum constraint estimated on the interior variables
        inner = (x > 1e-12) & (x < upper - 1e-12)
        nu = -float(np.mean(g[inner])) if (on_sum is not None and inner.any()) else 0.0
        gn = g + nu
        at0 = (x <= 1e-12) & (gn >= 0)
        atB = (x >= upper - 1e-12) & (gn <= 0)
        free = ~(at0 | atB)
        if not free.any():
            return x, it, False
        F = np.flatnonzero(free)
        rhs = kappa[F]
        if atB.any():
            rhs = rhs - K[np.ix_(F, np.flatnonzero(atB))].sum(axis=1) * upper
        try:
            cf = cho_factor(K[np.ix_(F, F)], check_finite=False, overwrite_a=True)
        except LinAlgError:
            return x, it, False
        zF = cho_solve(cf, rhs, check_finite=False)
        if on_sum is not None:
            ones = cho_solve(cf, np.ones(F.size), check_finite=False)
            need = on_sum - upper * atB.sum()
            mu = (zF.sum() - need) / ones.sum()
            zF = zF - mu * ones
        z = np.where(atB, upper, 0.0)
        z[F] = zF
        d = z - x
        t = 1.0
        while True:  # projected backtracking: accept the first point that does not go uphill
            cand = project_box_sum(x + t * d, upper, lo, hi)
            Kc = matvec(cand)
            fc = 0.5 * cand @ Kc - kappa @ cand
            if fc <= fx:
                break
            t *= 0.5
            if t < 1e-8:
                return x, it, False
        if np.abs(cand - x).max() == 0.0:
            return x, it, False
        x, Kx, fx = cand, Kc, fc
    g = matvec(x) - kappa
    return x, max_iter, kkt(x, g) <= tol * max(1.0, np.abs(x).max())
