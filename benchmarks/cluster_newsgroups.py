"""Self-taught clustering on the 20 Newsgroups MALSAR task pairs.

Each pair (comp.vs.sci, rec.vs.talk) holds two tasks built from different sub-categories of
the same two top categories. One task is the target (clustered into its 2 top categories); the
other task, its labels unused, is the auxiliary data; both directions are run. The two files
share one vocabulary: the columns' document frequencies correlate at 0.93 and 0.91 across the
files of a pair, and each word's class log-ratio (log p(w|class 1) - log p(w|class 2)) at 0.38 and
0.28 across the files, against 0.00 under a random permutation of the columns (checked with
this data, see docs/selftaught.md). The target is either every document of its task or a random
subset of ``--small`` documents (self-taught clustering's setting: little target data).

Methods: self-taught clustering (lam = 1; lam chosen by clustering stability among 0.25, 1, 4),
information-theoretic co-clustering of the target alone, k-means on L2-normalised rows,
scikit-learn's spectral co-clustering; 32 feature clusters. Seeds draw the subset and the
initialisations. The table: mean over seeds of the per-seed mean over the 4 directed tasks,
with a 95% t interval over seeds.

    nice -n 5 python benchmarks/cluster_newsgroups.py [--root ../shared/data] [--seeds 3]
        [--sizes small,full] [--no-select] [--init aux|kmeans|both] [--stc-only]
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict

import numpy as np
from cluster_common import default_root, load_mat, print_table, run_methods

PAIRS = {"comp.vs.sci": ("task1.mat", "task2.mat"), "rec.vs.talk": ("Task1.mat", "Task2.mat")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root()))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--feature-clusters", type=int, default=32)
    ap.add_argument("--sizes", default="small,full", help="which targets: small, full or both")
    ap.add_argument("--no-select", action="store_true", help="skip the lambda selection")
    ap.add_argument("--init", default="aux", choices=("aux", "kmeans", "both"),
                    help="self-taught clustering's start")
    ap.add_argument("--stc-only", action="store_true", help="run self-taught clustering only")
    args = ap.parse_args()
    skip: tuple[str, ...] = ("stc (lam by stability)",) if args.no_select else ()
    if args.stc_only:
        skip += ("itcc (target only)", "k-means (target only)", "spectral co-clustering")
    logging.basicConfig(level=logging.WARNING)
    root = default_root().__class__(args.root) / "newsgroup_malsar"
    data = {}
    for pair, (f1, f2) in PAIRS.items():
        data[(pair, 1)] = load_mat(root / pair / f1, "fea", "gnd")
        data[(pair, 2)] = load_mat(root / pair / f2, "fea", "gnd")
    for size in args.sizes.split(","):
        per_seed: dict = defaultdict(lambda: defaultdict(list))
        lams: list[float] = []
        for seed in range(args.seeds):
            per_task = defaultdict(lambda: defaultdict(list))
            for pair in PAIRS:
                for t, a in ((1, 2), (2, 1)):
                    X, y = data[(pair, t)]
                    A, _ = data[(pair, a)]
                    if size == "small":
                        idx = np.random.default_rng(seed).choice(X.shape[0], args.small,
                                                                 replace=False)
                        X, y = X[idx], y[idx]
                    res = run_methods(X, y, A, 2, seed, args.feature_clusters, skip=skip,
                                      init=args.init)
                    for name, r in res.items():
                        for key in ("acc", "nmi", "ent", "sec"):
                            per_task[name][key].append(r[key])
                        if r["lam"] is not None:
                            lams.append(r["lam"])
                    print(f"  seed {seed} {size:5s} {pair} target task{t}: " + ", ".join(
                        f"{n} {r['acc']:.3f}" for n, r in res.items()), flush=True)
            for name, m in per_task.items():
                for key, v in m.items():
                    per_seed[name][key].append(float(np.mean(v)))
        n_target = f"{args.small} random target documents" if size == "small" else \
            "every target document (1545-1875)"
        print_table(f"20 Newsgroups MALSAR, 4 directed task pairs, {n_target}, auxiliary = the "
                    f"other task of the pair (1545-1875 documents), {args.seeds} seeds",
                    per_seed)
        if lams:
            vals, counts = np.unique(lams, return_counts=True)
            print("\nlambda chosen by stability: " + ", ".join(
                f"{v:g} x{c}" for v, c in zip(vals, counts)))


if __name__ == "__main__":
    main()
