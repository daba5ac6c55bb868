"""The alternating co-clustering engine shared by ITCC and self-taught clustering.

Several row sets (the target, and for self-taught clustering the auxiliary data) share one
partition of the columns (features). The loss is ``sum_i w_i [I(R_i; C) - I(R~_i; C~)]`` over
the joint distributions ``p_i(row, column)``; each step reassigns one side to the cluster of
least KL divergence (Dhillon et al. 2003, Alg. 1; Dai et al. 2008, Alg. 1), which never raises
the loss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize

from ._info import Entries, assign, log_cond, mutual_information
from ._params import check_choice, check_int, check_nonneg

logger = logging.getLogger(__name__)


@dataclass
class CoClusterResult:
    rows: list[np.ndarray]
    cols: np.ndarray
    #: the loss after initialisation and after every assignment step
    history: list[float] = field(default_factory=list)
    n_iter: int = 0

    @property
    def loss(self) -> float:
        return self.history[-1]


def total_loss(entries: list[Entries], mis: list[float], weights: list[float], rows: list[np.ndarray],
               ks: list[int], cols: np.ndarray, kf: int) -> float:
    out = 0.0
    for E, mi, w, r, k in zip(entries, mis, weights, rows, ks):
        out += w * (mi - mutual_information(E.block(r, k, cols, kf)))
    return out


def init_labels(M: Any, k: int, init: str, rng: np.random.Generator) -> np.ndarray:
    n = M.shape[0]
    if init == "random":
        labels = rng.integers(0, k, size=n)
        labels[rng.permutation(n)[:k]] = np.arange(k)  # no cluster starts empty
        return labels
    # "kmeans": spherical-style k-means on the L2-normalised profiles (rows of M)
    seed = int(rng.integers(0, 2**31 - 1))
    Z = normalize(M, norm="l2")
    return KMeans(k, n_init=1, random_state=seed).fit(Z).labels_.astype(np.int64)


def co_cluster(
    mats: list[Any],
    weights: list[float],
    ks: list[int],
    kf: int,
    *,
    init: str,
    max_iter: int,
    tol: float,
    rng: np.random.Generator,
    start_rows: list[np.ndarray | None] | None = None,
    start_cols: np.ndarray | None = None,
) -> CoClusterResult:
    """Alternate row steps (each row set in turn) and one shared column step; ``start_*``
    give initial labels (``None``: drawn by ``init``)."""
    mis = [mutual_information(P) for P in mats]
    start_rows = start_rows or [None] * len(mats)
    rows = [init_labels(P, k, init, rng) if r is None else np.asarray(r)
            for P, k, r in zip(mats, ks, start_rows)]
    if start_cols is None:
        stacked = sp.vstack(mats).T.tocsr() if sp.issparse(mats[0]) else np.vstack(mats).T
        cols = init_labels(stacked, kf, init, rng)
    else:
        cols = np.asarray(start_cols)
    entries = [Entries(P) for P in mats]
    res = CoClusterResult(rows, cols)
    res.history.append(total_loss(entries, mis, weights, rows, ks, cols, kf))
    for it in range(max_iter):
        start = res.history[-1]
        changed = False
        for i, (E, k) in enumerate(zip(entries, ks)):
            C = E.block(rows[i], k, cols, kf)
            mass = E.row_mass(cols, kf)  # p(row, column cluster), n x kf
            new = assign(mass, log_cond(C, axis=1).T, rows[i])
            changed |= bool(np.any(new != rows[i]))
            rows[i] = new
            res.history.append(total_loss(entries, mis, weights, rows, ks, cols, kf))
        score = np.zeros((cols.shape[0], kf))
        for E, w, r, k in zip(entries, weights, rows, ks):
            if w == 0:
                continue
            C = E.block(r, k, cols, kf)
            mass = E.col_mass(r, k)  # p(column, row cluster), m x k
            score += w * (mass @ log_cond(C, axis=0))
        best = np.argmax(score, axis=1)
        idx = np.arange(cols.shape[0])
        new_cols = np.where(score[idx, cols] >= score[idx, best], cols, best)
        changed |= bool(np.any(new_cols != cols))
        cols = new_cols
        res.cols = cols
        res.history.append(total_loss(entries, mis, weights, rows, ks, cols, kf))
        res.n_iter = it + 1
        logger.debug("co-clustering iteration %d: loss %.6g", it + 1, res.history[-1])
        if not changed or start - res.history[-1] <= tol * max(abs(start), 1e-300):
            break
    res.rows = rows
    return res


class CoClusterer(ClusterMixin, BaseEstimator):
    """What the information-theoretic co-clusterers share: the checks of the loop's settings
    (``n_init``, ``max_iter``, ``tol``, ``init``), the ``n_init`` restarts keeping the run of
    lowest loss, and the fitted attributes. Subclasses hold the constructor arguments and
    call :meth:`_fit_best` with one run's recipe."""

    _inits: tuple[str, ...] = ("kmeans", "random")

    def _check_params(self) -> None:  # also run by the cluster command before anything fits
        check_int(self.n_init, "n_init")
        check_int(self.max_iter, "max_iter")
        check_nonneg(self.tol, "tol")
        check_choice(self.init, "init", self._inits)

    def _fit_best(self, run: Callable[[np.random.Generator], CoClusterResult]) -> CoClusterResult:
        """``n_init`` runs from one generator seeded by ``random_state``; the first run of
        lowest final loss is kept and its partitions stored (``labels_``: the first row set,
        ``feature_labels_``, ``objective_history_``, ``loss_``, ``n_iter_``)."""
        rng = np.random.default_rng(self.random_state)
        best = None
        for _ in range(self.n_init):
            res = run(rng)
            if best is None or res.loss < best.loss:
                best = res
        assert best is not None
        self.labels_ = best.rows[0]
        self.feature_labels_ = best.cols
        self.objective_history_ = np.asarray(best.history)
        self.loss_ = best.loss
        self.n_iter_ = best.n_iter
        return best

    def fit_predict(self, X: Any, y: Any = None, *, aux: Any = None) -> np.ndarray:
        return self.fit(X, aux=aux).labels_
