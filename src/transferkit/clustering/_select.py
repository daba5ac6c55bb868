"""Choosing self-taught clustering's trade-off without target labels."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from ..exceptions import ConfigError
from ._params import check_int, check_nonneg
from ._stc import SelfTaughtClustering

__all__ = ["LambdaSelection", "select_lambda"]


@dataclass(frozen=True)
class LambdaSelection:
    """The chosen ``lam`` and, for every candidate, its stability, mean final loss and the
    target partitions of its ``n_runs`` fits (one label array per run)."""

    lam: float
    stability: dict[float, float]
    loss: dict[float, float]
    partitions: dict[float, list[np.ndarray]] = field(default_factory=dict)


def select_lambda(X: Any, aux: Any, lambdas: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0), *,
                  n_runs: int = 4, random_state: int | None = 0,
                  **params: Any) -> LambdaSelection:
    """Pick ``lam`` by clustering stability, a criterion that needs no target label.

    For each candidate, :class:`SelfTaughtClustering` is fitted ``n_runs`` times from different
    random initialisations; its stability is the mean adjusted Rand index between the target
    partitions of every pair of runs (Ben-Hur, Elisseeff & Guyon, PSB 2002; von Luxburg,
    "Clustering stability: an overview", 2010). The most stable candidate wins; ties go to the
    smaller ``lam``. The objective ``J`` itself cannot choose: it grows with ``lam`` by
    construction. ``params`` go to :class:`SelfTaughtClustering` (not ``lam``, ``random_state``).
    """
    check_int(n_runs, "n_runs", minimum=2)
    if not lambdas:
        raise ConfigError("lambdas must list at least one candidate")
    for lam in lambdas:
        check_nonneg(lam, "each of lambdas")
    for key in ("lam", "random_state"):
        if key in params:
            raise ConfigError(f"select_lambda sets {key} itself; do not pass it in params")
    seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=n_runs)
    stability: dict[float, float] = {}
    losses: dict[float, float] = {}
    partitions: dict[float, list[np.ndarray]] = {}
    for lam in lambdas:
        parts, ls = [], []
        for s in seeds:
            est = SelfTaughtClustering(lam=float(lam), random_state=int(s), **params)
            parts.append(est.fit(X, aux=aux).labels_)
            ls.append(est.loss_)
        stability[float(lam)] = float(np.mean(
            [adjusted_rand_score(a, b) for a, b in itertools.combinations(parts, 2)]))
        losses[float(lam)] = float(np.mean(ls))
        partitions[float(lam)] = parts
    best = max(sorted(stability), key=lambda v: (stability[v], -v))
    return LambdaSelection(best, stability, losses, partitions)
