"""Shared pieces of the self-taught clustering benchmarks: data loading, the method list and
the table (mean over seeds with a 95% Student-t interval)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import scipy.io as sio
import scipy.sparse as sp
from scipy import stats

from transferkit.clustering import (
    InformationTheoreticCoClustering,
    KMeansClustering,
    SelfTaughtClustering,
    SpectralCoclusteringClustering,
    cluster_accuracy,
    cluster_entropy,
    cluster_nmi,
    select_lambda,
)

LAMBDAS = (0.25, 1.0, 4.0)


def default_root() -> Path:
    env = os.environ.get("TRANSFERKIT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_mat(path: Path, x_key: str, y_key: str) -> tuple[sp.csr_matrix, np.ndarray]:
    if not path.is_file():
        raise SystemExit(f"missing {path}: pass --root pointing at the shared data directory")
    m = sio.loadmat(path)
    return sp.csr_matrix(m[x_key], dtype=np.float64), np.asarray(m[y_key]).ravel()


def methods(k: int, seed: int, n_feature_clusters: int, n_aux_clusters: int | None = None,
            init: str = "aux"):
    """name -> a function (X, aux) -> labels. ``stc+sel`` picks lambda by stability first;
    ``init``: self-taught clustering's start."""

    def stc(lam):
        return lambda X, A: SelfTaughtClustering(
            k, n_feature_clusters=n_feature_clusters, n_aux_clusters=n_aux_clusters, lam=lam,
            init=init, random_state=seed).fit_predict(X, aux=A)

    def stc_selected(X, A):
        sel = select_lambda(X, A, LAMBDAS, n_runs=3, random_state=seed, n_clusters=k,
                            n_feature_clusters=n_feature_clusters,
                            n_aux_clusters=n_aux_clusters, init=init)
        return SelfTaughtClustering(k, n_feature_clusters=n_feature_clusters,
                                    n_aux_clusters=n_aux_clusters, lam=sel.lam, init=init,
                                    random_state=seed).fit_predict(X, aux=A), sel.lam

    return {
        "stc (lam=1)": stc(1.0),
        "stc (lam by stability)": stc_selected,
        "itcc (target only)": lambda X, A: InformationTheoreticCoClustering(
            k, n_feature_clusters=n_feature_clusters, random_state=seed).fit_predict(X),
        "k-means (target only)": lambda X, A: KMeansClustering(
            k, random_state=seed).fit_predict(X),
        "spectral co-clustering": lambda X, A: SpectralCoclusteringClustering(
            k, random_state=seed).fit_predict(X),
    }


def run_methods(X, y, A, k, seed, n_feature_clusters, skip=(), n_aux_clusters=None, init="aux"):
    """One row per method: accuracy, NMI, entropy, seconds (and the chosen lambda)."""
    out = {}
    for name, fn in methods(k, seed, n_feature_clusters, n_aux_clusters, init).items():
        if name in skip:
            continue
        t = time.perf_counter()
        res = fn(X, A)
        lam = None
        if isinstance(res, tuple):
            res, lam = res
        out[name] = dict(acc=cluster_accuracy(y, res), nmi=cluster_nmi(y, res),
                         ent=cluster_entropy(y, res), sec=time.perf_counter() - t, lam=lam)
    return out


def interval(values) -> str:
    x = np.asarray(values, dtype=float)
    m = x.mean()
    if x.size < 2:
        return f"{m:.3f}"
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return f"{m:.3f} ± {half:.3f}"


def print_table(title: str, per_seed: dict[str, dict[str, list[float]]]) -> None:
    """``per_seed[method][metric]``: one value per seed (already averaged over tasks)."""
    print(f"\n{title}\n")
    print("| method | accuracy | NMI | entropy (lower is better) | seconds per task |")
    print("|---|---|---|---|---|")
    for name, m in per_seed.items():
        print(f"| {name} | {interval(m['acc'])} | {interval(m['nmi'])} | {interval(m['ent'])} "
              f"| {np.mean(m['sec']):.2f} |")
