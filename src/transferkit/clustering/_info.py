"""Shared pieces of the information-theoretic co-clusterers: input checks, joint distributions,
cluster statistics and the assignment step (all vectorised; sparse counts stay sparse)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..exceptions import ConfigError, DataError

__all__ = ["check_counts", "joint", "indicator", "mutual_information", "assign", "log_cond"]

#: stands in for log(0): finite, so ``0 * _LOG0 == 0`` (no NaN) while any positive weight on it
#: loses against every finite log-probability
_LOG0 = -1e30


def check_counts(X: Any, name: str = "X") -> np.ndarray | sp.csr_matrix:
    """``X`` as a float64 CSR matrix (sparse input) or array (dense); counts must be finite,
    non-negative and not all zero."""
    if sp.issparse(X):
        M = sp.csr_matrix(X, dtype=np.float64)
        values = M.data
    else:
        M = np.asarray(X, dtype=np.float64)
        values = M
    if M.ndim != 2:
        raise DataError(f"{name} must be a 2-d (samples x features) matrix, got shape {M.shape}")
    if M.shape[0] == 0 or M.shape[1] == 0:
        raise DataError(f"{name} is empty, shape {M.shape}")
    if not np.all(np.isfinite(values)):
        raise DataError(f"{name} contains NaN or infinite values")
    if values.size and values.min() < 0:
        raise DataError(
            f"{name} must hold non-negative counts (co-occurrence data), found the value "
            f"{values.min():g}"
        )
    if values.sum() <= 0:
        raise DataError(f"{name} sums to zero: no co-occurrence mass to cluster")
    return M


def check_k(k: Any, name: str, limit: int, what: str) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"{name} must be an int >= 1, got {k!r}")
    if k > limit:
        raise DataError(f"{name}={k} exceeds the number of {what} ({limit})")
    return int(k)


def joint(M: Any) -> Any:
    """The joint distribution ``p(row, column)``: counts divided by their total."""
    return M / M.sum()


def indicator(labels: np.ndarray, k: int) -> sp.csr_matrix:
    """The ``n x k`` 0/1 matrix of a hard assignment."""
    n = labels.shape[0]
    return sp.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, k))


def aggregate(P: Any, rows: np.ndarray, k: int, cols: np.ndarray, kf: int) -> np.ndarray:
    """``p(row cluster, column cluster)`` (dense ``k x l``) from the joint ``P``."""
    out = indicator(rows, k).T @ P @ indicator(cols, kf)
    return np.asarray(out.todense() if sp.issparse(out) else out)


class Entries:
    """A joint distribution as its non-zero entries ``(row, column, value)``: every cluster
    statistic the co-clusterers need is then one ``np.bincount`` over the entries (no sparse
    matrix is built per step)."""

    def __init__(self, P: Any):
        if sp.issparse(P):
            C = sp.coo_matrix(P)
            r, c, v = C.row, C.col, C.data
        else:
            P = np.asarray(P)
            r, c = np.nonzero(P)
            v = P[r, c]
        keep = v != 0
        self.row, self.col, self.value = r[keep].astype(np.int64), c[keep].astype(np.int64), v[keep]
        self.shape = P.shape

    def block(self, rows: np.ndarray, k: int, cols: np.ndarray, kf: int) -> np.ndarray:
        """``p(row cluster, column cluster)``, dense ``k x kf`` (as :func:`aggregate`)."""
        idx = rows[self.row] * kf + cols[self.col]
        return np.bincount(idx, weights=self.value, minlength=k * kf).reshape(k, kf)

    def row_mass(self, cols: np.ndarray, kf: int) -> np.ndarray:
        """``p(row, column cluster)``, dense ``n x kf``."""
        idx = self.row * kf + cols[self.col]
        return np.bincount(idx, weights=self.value, minlength=self.shape[0] * kf).reshape(-1, kf)

    def col_mass(self, rows: np.ndarray, k: int) -> np.ndarray:
        """``p(column, row cluster)``, dense ``m x k``."""
        idx = self.col * k + rows[self.row]
        return np.bincount(idx, weights=self.value, minlength=self.shape[1] * k).reshape(-1, k)


def log_cond(C: np.ndarray, axis: int) -> np.ndarray:
    """``log`` of ``C`` normalised along ``axis`` (``axis=1``: each row sums to one), with
    :data:`_LOG0` where the probability is zero (an empty cluster or an absent pair)."""
    tot = C.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        Q = np.where(tot > 0, C / np.where(tot > 0, tot, 1.0), 0.0)
        return np.where(Q > 0, np.log(np.where(Q > 0, Q, 1.0)), _LOG0)


def mutual_information(P: Any) -> float:
    """``I(A;B)`` in nats of a joint distribution given as a (sparse or dense) matrix."""
    pa = np.asarray(P.sum(axis=1)).ravel()
    pb = np.asarray(P.sum(axis=0)).ravel()
    if sp.issparse(P):
        C = sp.coo_matrix(P)
        v, r, c = C.data, C.row, C.col
    else:
        P = np.asarray(P)
        r, c = np.nonzero(P)
        v = P[r, c]
    keep = v > 0
    v, r, c = v[keep], r[keep], c[keep]
    return float(np.sum(v * (np.log(v) - np.log(pa[r]) - np.log(pb[c]))))


def assign(weights: np.ndarray, logq: np.ndarray, current: np.ndarray) -> np.ndarray:
    """One assignment step: ``argmax_c weights[i] . logq[:, c]`` for each row ``i``.

    With ``weights`` the mass a row puts on each opposite cluster and ``logq`` the log of each
    cluster's conditional over the opposite clusters, this is ``argmin_c KL(p(.|i) || q(.|c))``
    up to a term that does not depend on ``c``. Ties keep the current assignment, so the loss
    never increases through a tie broken arbitrarily.
    """
    score = weights @ logq
    best = np.argmax(score, axis=1)
    cur = score[np.arange(score.shape[0]), current]
    keep = cur >= score[np.arange(score.shape[0]), best]
    return np.where(keep, current, best)
