"""DAMA (heterogeneous manifold alignment) on 20 Newsgroups with disjoint vocabularies.

Data: ``newsgroup_malsar`` task pairs (Gu & Zhou, ICDM 2009). To make the two domains
heterogeneous with real documents, the source task keeps only the first half of the 2,000
word features and the target task only the second half: no feature is shared, so a
homogeneous method cannot be applied (``pack_domains`` refuses the pair). Rows are
L2-normalised. Per direction and seed, ``--per-class`` target documents per class are
labelled (drawn with the seed); the rest of the target is the test set.

Compared (base learner ``LogisticRegression(C=1)``):
* ``target only``: fitted on the labelled target documents (their own 1,000 words);
* ``DAMA``: ``ManifoldAlignment(n_components=--components, mu=1)`` on the block layout of
  ``pack_heterogeneous``, the learner fitted on the mapped labelled rows of both domains;
* with ``--svd r`` (default 20; 0 to skip), the same two on each domain reduced to ``r``
  dimensions first by a ``TruncatedSVD`` fitted on all rows of that domain (unsupervised: it
  reads the unlabelled target rows, as DAMA's topology term already does); ``target only
  (SVD)`` sees exactly the target features DAMA sees.

    nice -n 5 python benchmarks/shallow_heterogeneous.py [--seeds 0,1,2] [--per-class 5] [--svd 20]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def score_seed(res, base, Xs, ys, Xt, yt, Zs, Zt, per_class: int, components: int, svd: int, seed: int) -> None:
    """One seed: draw ``per_class`` labelled target rows per class, score ``target only`` and
    ``DAMA`` (and both on the ``svd``-dimensional ``Zs``, ``Zt`` when ``svd``) on the rest of
    the target, appending accuracies (%) to ``res``."""
    from sklearn.base import clone

    from transferkit.feature import ManifoldAlignment, pack_heterogeneous

    rng = np.random.default_rng(seed)
    lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), per_class, replace=False)
                          for c in np.unique(yt)])
    test = np.setdiff1d(np.arange(yt.size), lab)
    ym = np.full(yt.size, -1)
    ym[lab] = yt[lab]
    variants = [("", Xs, Xt, Xs.shape[1], components)]
    if svd:
        variants.append((" (SVD)", Zs, Zt, svd, min(components, 2 * svd)))
    for suffix, S, T, n_source, n_comp in variants:
        res["target only" + suffix].append(100 * clone(base).fit(T[lab], yt[lab]).score(T[test], yt[test]))
        X, y, sd = pack_heterogeneous(S, ys, T, ym)
        dama = ManifoldAlignment(clone(base), n_source_features=n_source, n_components=n_comp, mu=1.0)
        res["DAMA" + suffix].append(100 * dama.fit(X, y, sd).score(T[test], yt[test]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--per-class", type=int, default=5)
    ap.add_argument("--components", type=int, default=10)
    ap.add_argument("--svd", type=int, default=20)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    from shallow_tradaboost import PAIRS, default_root, load
    from sklearn.decomposition import TruncatedSVD
    from sklearn.linear_model import LogisticRegression

    seeds = [int(s) for s in a.seeds.split(",")]
    base = LogisticRegression(C=1.0, max_iter=1000)
    names = ["target only", "DAMA"] + (["target only (SVD)", "DAMA (SVD)"] if a.svd else [])
    rows = []
    t0 = time.perf_counter()
    for pair, (f1, f2) in PAIRS.items():
        d1, d2 = load(default_root(), pair, f1), load(default_root(), pair, f2)
        for (src, tgt, label) in [(d1, d2, f"{pair} {f1[:-4]}→{f2[:-4]}"),
                                  (d2, d1, f"{pair} {f2[:-4]}→{f1[:-4]}")]:
            (Xs, ys), (Xt, yt) = src, tgt
            Xs, Xt = Xs[:, :1000], Xt[:, 1000:]  # disjoint vocabularies
            res: dict[str, list] = {n: [] for n in names}
            if a.svd:
                Zs = TruncatedSVD(a.svd, random_state=0).fit_transform(Xs)
                Zt = TruncatedSVD(a.svd, random_state=0).fit_transform(Xt)
            for seed in seeds:
                score_seed(res, base, Xs, ys, Xt, yt, Zs if a.svd else None, Zt if a.svd else None,
                           a.per_class, a.components, a.svd, seed)
            rows.append((label, 2 * a.per_class, res))
            print(f"# {label} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(f"Accuracy (%) on the unlabelled target documents, mean ± sd over seeds {seeds}")
    print()
    svd = [f"{n.replace('SVD', f'SVD {a.svd}')}" for n in names]
    print("| direction (source words 1-1000 → target words 1001-2000) | labelled target | "
          + " | ".join(svd) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, k, res in rows:
        print(f"| {label} | {k} | " + " | ".join(
            f"{np.mean(res[n]):.1f} ± {np.std(res[n]):.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
