"""Self-taught clustering on Office-Caltech10 SURF histograms (800 visual words).

Dai et al. (ICML 2008) cluster a few Caltech-256 categories with the images of other categories
as auxiliary data. Here, in one domain (default Caltech10, ``--domain``): the target is the
images of two categories (clustered into 2), the auxiliary data is every image of the other 8
categories (labels unused); all 45 category pairs. Counts are the SURF bag-of-words histograms
as released (uint8). Methods as in ``cluster_newsgroups.py`` (32 feature clusters). The table:
mean over seeds of the per-seed mean over the pairs, with a 95% t interval over seeds; then
the pairs where self-taught clustering (lam = 1) beats co-clustering of the target alone.

    nice -n 5 python benchmarks/cluster_office_caltech.py [--root ../shared/data] [--seeds 3]
        [--pair-step 1] [--no-select] [--aux-clusters 8 --stc-only]
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np
from cluster_common import default_root, load_mat, print_table, run_methods

FILES = {"A": "amazon_SURF_L10.mat", "C": "Caltech10_SURF_L10.mat",
         "D": "dslr_SURF_L10.mat", "W": "webcam_SURF_L10.mat"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root()))
    ap.add_argument("--domain", default="C", choices=sorted(FILES))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pair-step", type=int, default=1,
                    help="use every k-th of the 45 pairs (in lexicographic order)")
    ap.add_argument("--feature-clusters", type=int, default=32)
    ap.add_argument("--no-select", action="store_true", help="skip the lambda selection")
    ap.add_argument("--aux-clusters", type=int, default=None,
                    help="auxiliary clusters of self-taught clustering (default: 2)")
    ap.add_argument("--stc-only", action="store_true", help="run self-taught clustering only")
    args = ap.parse_args()
    X, y = load_mat(Path(args.root) / "office_caltech10_surf" / FILES[args.domain], "fts",
                    "labels")
    pairs = list(itertools.combinations(np.unique(y), 2))[:: args.pair_step]
    skip: tuple[str, ...] = ("stc (lam by stability)",) if args.no_select else ()
    if args.stc_only:
        skip += ("itcc (target only)", "k-means (target only)", "spectral co-clustering")
    per_seed: dict = defaultdict(lambda: defaultdict(list))
    wins = ties = 0
    lams = []
    for seed in range(args.seeds):
        per_pair: dict = defaultdict(lambda: defaultdict(list))
        for a, b in pairs:
            t = np.isin(y, (a, b))
            res = run_methods(X[t], y[t], X[~t], 2, seed, args.feature_clusters, skip=skip,
                              n_aux_clusters=args.aux_clusters)
            for name, r in res.items():
                for key in ("acc", "nmi", "ent", "sec"):
                    per_pair[name][key].append(r[key])
                if r["lam"] is not None:
                    lams.append(r["lam"])
            if "itcc (target only)" in res:
                d = res["stc (lam=1)"]["acc"] - res["itcc (target only)"]["acc"]
                wins += d > 0
                ties += d == 0
        for name, m in per_pair.items():
            for key, v in m.items():
                per_seed[name][key].append(float(np.mean(v)))
        print(f"  seed {seed} done: " + ", ".join(
            f"{n} {np.mean(m['acc']):.3f}" for n, m in per_pair.items()), flush=True)
    n = len(pairs) * args.seeds
    print_table(f"Office-Caltech10 SURF, domain {args.domain}: target = 2 categories, auxiliary = "
                f"the other 8 categories; {len(pairs)} pairs, {args.seeds} seeds", per_seed)
    if not args.stc_only:
        print(f"\nstc (lam=1) vs itcc (target only), accuracy per pair and seed: {wins} wins, "
              f"{ties} ties, {n - wins - ties} losses of {n}")
    if lams:
        vals, counts = np.unique(lams, return_counts=True)
        print("lambda chosen by stability: " + ", ".join(
            f"{v:g} x{c}" for v, c in zip(vals, counts)))


if __name__ == "__main__":
    main()
