"""Self-taught clustering on Office-Caltech10 SURF histograms (800 visual words).

Dai et al. (ICML 2008) cluster a few Caltech-256 categories with the images of other categories
as auxiliary data. Here, in one domain (default Caltech10, ``--domain``): the target is the
images of two categories (clustered into 2), the auxiliary data is every image of the other 8
categories (labels unused); all 45 category pairs (``--pair-step`` thins them). Counts are the
SURF bag-of-words histograms as released (uint8). 32 feature clusters, one restart each.

Methods, per pair and seed:

* ``itcc (target only)``, ``k-means (target only)``, ``spectral co-clustering``: no auxiliary data.
* ``stc, aux start (lam=1)``: ``init="aux"`` (the library default before ``"both"``).
* ``stc, k-means start (lam=1)``: the target starts exactly as the target-only co-clustering does.
* ``stc, both starts (lam=...)``: ``init="both"`` (the default), each fit keeps the start of
  lower objective J;
  ``lam`` chosen among ``--lambdas`` by clustering stability over ``--lambda-runs`` restarts
  (no target label), and, for reference, the same restarts at lam = 1. The reported partition of
  a lam is the first of its restarts (a fit with its own seed); the selection's time is charged
  to the selected row.

Tables: mean over seeds of the per-seed mean over the pairs, 95% t interval over seeds; then each
stc row against itcc and k-means pair by pair (seed-averaged accuracy per pair, mean difference
with a 95% t interval over the pairs, wins/ties/losses); then the accuracy at each lam (mean of
its restarts, labels used only to score) and how often each lam was chosen.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/cluster_office_caltech.py [--root ../shared/data]
        [--seeds 3] [--pair-step 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from cluster_common import default_root, load_mat, print_table
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

FILES = {"A": "amazon_SURF_L10.mat", "C": "Caltech10_SURF_L10.mat",
         "D": "dslr_SURF_L10.mat", "W": "webcam_SURF_L10.mat"}
SELECTED = "stc, both starts (lam by stability)"
_DATA: dict = {}


def _scores(y, labels, seconds):
    return dict(acc=cluster_accuracy(y, labels), nmi=cluster_nmi(y, labels),
                ent=cluster_entropy(y, labels), sec=seconds)


def one_task(job):
    """Every method on one (seed, pair): {method: scores}, the chosen lam, each lam's accuracy."""
    seed, (a, b), kf, lambdas, n_runs = job
    X, y = _DATA["X"], _DATA["y"]
    t = np.isin(y, (a, b))
    T, A, yt = X[t], X[~t], y[t]
    out = {}
    fits = {
        "itcc (target only)": lambda: InformationTheoreticCoClustering(
            2, n_feature_clusters=kf, random_state=seed).fit_predict(T),
        "k-means (target only)": lambda: KMeansClustering(2, random_state=seed).fit_predict(T),
        "spectral co-clustering": lambda: SpectralCoclusteringClustering(
            2, random_state=seed).fit_predict(T),
        "stc, aux start (lam=1)": lambda: SelfTaughtClustering(
            2, n_feature_clusters=kf, init="aux", random_state=seed).fit_predict(T, aux=A),
        "stc, k-means start (lam=1)": lambda: SelfTaughtClustering(
            2, n_feature_clusters=kf, init="kmeans", random_state=seed).fit_predict(T, aux=A),
    }
    for name, fn in fits.items():
        t0 = time.perf_counter()
        labels = fn()
        out[name] = _scores(yt, labels, time.perf_counter() - t0)
    t0 = time.perf_counter()
    sel = select_lambda(T, A, lambdas, n_runs=n_runs, random_state=seed, n_clusters=2,
                        n_feature_clusters=kf, init="both")
    sec = time.perf_counter() - t0
    if 1.0 in sel.partitions:
        out["stc, both starts (lam=1)"] = _scores(yt, sel.partitions[1.0][0],
                                                  sec / (len(lambdas) * n_runs))
    out[SELECTED] = _scores(yt, sel.partitions[sel.lam][0], sec)
    per_lam = {lam: float(np.mean([cluster_accuracy(yt, p) for p in parts]))
               for lam, parts in sel.partitions.items()}
    return seed, (a, b), out, sel.lam, per_lam


def _init(X, y):
    _DATA["X"], _DATA["y"] = X, y


def paired(diffs) -> str:
    d = np.asarray(diffs)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    wins, ties = int(np.sum(d > 1e-12)), int(np.sum(np.abs(d) <= 1e-12))
    return f"{d.mean():+.3f} ± {half:.3f} | {wins} / {ties} / {d.size - wins - ties}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root()))
    ap.add_argument("--domain", default="C", choices=sorted(FILES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pair-step", type=int, default=1,
                    help="use every k-th of the 45 pairs (in lexicographic order)")
    ap.add_argument("--feature-clusters", type=int, default=32)
    ap.add_argument("--lambdas", default="0.25,1,4")
    ap.add_argument("--lambda-runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    X, y = load_mat(Path(args.root) / "office_caltech10_surf" / FILES[args.domain], "fts",
                    "labels")
    pairs = list(itertools.combinations(np.unique(y).tolist(), 2))[:: args.pair_step]
    lambdas = tuple(float(v) for v in args.lambdas.split(","))
    jobs = [(s, p, args.feature_clusters, lambdas, args.lambda_runs)
            for s in range(args.seeds) for p in pairs]
    results = []
    start = time.perf_counter()
    with Pool(args.workers, initializer=_init, initargs=(X, y)) as pool:
        for seed, pair, out, lam, per_lam in pool.imap(one_task, jobs):
            results.append((seed, pair, out, lam, per_lam))
            print(f"  seed {seed} pair {pair} lam {lam:g}: " + ", ".join(
                f"{n} {r['acc']:.3f}" for n, r in out.items()) +
                f"  [{time.perf_counter() - start:.0f}s]", flush=True)
    names = list(results[0][2])
    per_seed: dict = defaultdict(lambda: defaultdict(list))
    for s in range(args.seeds):
        rows = [r for r in results if r[0] == s]
        for name in names:
            for key in ("acc", "nmi", "ent", "sec"):
                per_seed[name][key].append(float(np.mean([r[2][name][key] for r in rows])))
    print_table(f"Office-Caltech10 SURF, domain {args.domain}: target = 2 categories, auxiliary = "
                f"the other 8 categories; {len(pairs)} pairs, {args.seeds} seeds, "
                f"{args.feature_clusters} feature clusters", per_seed)
    pair_acc = {name: np.array([[np.mean([r[2][name]["acc"] for r in results
                                          if r[1] == p])] for p in pairs]).ravel()
                for name in names}
    print(f"\nPair by pair (accuracy averaged over the {args.seeds} seeds; {len(pairs)} pairs):\n")
    print("| method | minus itcc (target only): mean ± 95% t | wins / ties / losses | "
          "minus k-means (target only): mean ± 95% t | wins / ties / losses |")
    print("|---|---|---|---|---|")
    for name in names:
        if name.startswith("stc"):
            print(f"| {name} | {paired(pair_acc[name] - pair_acc['itcc (target only)'])} | "
                  f"{paired(pair_acc[name] - pair_acc['k-means (target only)'])} |")
    print("\n| lam | accuracy of stc (both starts), mean over restarts, pairs and seeds | "
          "chosen (pair x seed) |")
    print("|---|---|---|")
    chosen = [r[3] for r in results]
    for lam in lambdas:
        print(f"| {lam:g} | {np.mean([r[4][lam] for r in results]):.3f} | "
              f"{chosen.count(lam)} of {len(chosen)} |")
    print(f"\ntotal wall seconds: {time.perf_counter() - start:.0f} ({args.workers} workers)")


if __name__ == "__main__":
    main()
