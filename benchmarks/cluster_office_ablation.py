"""Why self-taught clustering does not win on Office-Caltech10 SURF: one factor at a time.

Same tasks as ``cluster_office_caltech.py`` (target = two Caltech10 categories, auxiliary = the
other eight, lam = 1, 32 feature clusters unless the variant says otherwise), each variant
changing one thing the investigation asked about:

* preprocessing: the histograms as counts (as released) or each image scaled to total 1
  (``rown``: every image the same mass in the joint distribution, for target and auxiliary alike);
* the start: ``aux`` (the library default when this ran) or ``kmeans`` (the target-only co-clustering's start);
* restarts: ``n_init=5`` keeping the lowest objective;
* feature clusters 16 or 64; auxiliary clusters 8 (the auxiliary data holds 8 categories);
* the auxiliary data: 3 of the other categories drawn at random (by seed and pair, no label of
  the target read) instead of all 8.

Prints the mean accuracy per variant and its pair-by-pair difference to co-clustering the target
alone (raw counts), with a 95% t interval over the (pair, seed) tasks.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/cluster_office_ablation.py [--pair-step 3]
        [--seeds 1] [--workers 1]
"""

from __future__ import annotations

import argparse
import itertools
import math
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from cluster_common import default_root, load_mat
from scipy import stats
from sklearn.preprocessing import normalize

from transferkit.clustering import (
    InformationTheoreticCoClustering,
    KMeansClustering,
    SelfTaughtClustering,
    cluster_accuracy,
)

_DATA: dict = {}


def _init(X, y):
    _DATA["X"], _DATA["y"] = X, y


def variants(seed: int):
    def itcc(rown=False, **kw):
        return lambda T, A: InformationTheoreticCoClustering(2, random_state=seed, **kw).fit_predict(
            normalize(T, norm="l1") if rown else T)

    def stc(rown=False, **kw):
        def fit(T, A):
            if rown:
                T, A = normalize(T, norm="l1"), normalize(A, norm="l1")
            return SelfTaughtClustering(2, random_state=seed, **{"init": "aux", **kw}).fit_predict(
                T, aux=A)
        return fit

    return {
        "itcc, counts": itcc(),
        "itcc, rown": itcc(rown=True),
        "itcc, n_init=5": itcc(n_init=5),
        "k-means": lambda T, A: KMeansClustering(2, random_state=seed).fit_predict(T),
        "stc aux start, counts": stc(),
        "stc aux start, rown": stc(rown=True),
        "stc aux start, n_init=5": stc(n_init=5),
        "stc aux start, 16 feature clusters": stc(n_feature_clusters=16),
        "stc aux start, 64 feature clusters": stc(n_feature_clusters=64),
        "stc aux start, 8 aux clusters": stc(n_aux_clusters=8),
        "stc k-means start, counts": stc(init="kmeans"),
        "stc k-means start, rown": stc(rown=True, init="kmeans"),
        "stc k-means start, n_init=5": stc(init="kmeans", n_init=5),
        "stc k-means start, 8 aux clusters": stc(init="kmeans", n_aux_clusters=8),
    }


def one_task(job):
    seed, (a, b) = job
    X, y = _DATA["X"], _DATA["y"]
    t = np.isin(y, (a, b))
    out = {name: cluster_accuracy(y[t], fn(X[t], X[~t])) for name, fn in variants(seed).items()}
    others = [c for c in np.unique(y).tolist() if c not in (a, b)]
    pick = np.random.default_rng([seed, a, b]).choice(others, 3, replace=False)
    A3 = X[np.isin(y, pick)]
    out["stc aux start, 3 random aux categories"] = cluster_accuracy(
        y[t], SelfTaughtClustering(2, init="aux", random_state=seed).fit_predict(X[t], aux=A3))
    out["stc k-means start, 3 random aux categories"] = cluster_accuracy(
        y[t], SelfTaughtClustering(2, init="kmeans", random_state=seed).fit_predict(X[t], aux=A3))
    return seed, (a, b), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root()))
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--pair-step", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    X, y = load_mat(Path(args.root) / "office_caltech10_surf" / "Caltech10_SURF_L10.mat", "fts",
                    "labels")
    pairs = list(itertools.combinations(np.unique(y).tolist(), 2))[:: args.pair_step]
    jobs = [(s, p) for s in range(args.seeds) for p in pairs]
    res = []
    with Pool(args.workers, initializer=_init, initargs=(X, y)) as pool:
        for seed, pair, out in pool.imap(one_task, jobs):
            res.append(out)
            print(f"  seed {seed} pair {pair}: " + ", ".join(f"{n} {v:.3f}" for n, v in out.items()),
                  flush=True)
    print(f"\nCaltech10 SURF, {len(pairs)} pairs x {args.seeds} seeds, lam = 1\n")
    print("| variant | accuracy | minus itcc (counts): mean ± 95% t over tasks | wins / ties / losses |")
    print("|---|---|---|---|")
    base = np.array([r["itcc, counts"] for r in res])
    for name in res[0]:
        v = np.array([r[name] for r in res])
        d = v - base
        half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else 0
        w, t = int(np.sum(d > 1e-12)), int(np.sum(np.abs(d) <= 1e-12))
        print(f"| {name} | {v.mean():.3f} | {d.mean():+.3f} ± {half:.3f} | {w} / {t} / {d.size - w - t} |")


if __name__ == "__main__":
    main()
