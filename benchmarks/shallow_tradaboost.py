"""TrAdaBoost with 1% labelled target rows on the 20 Newsgroups MALSAR task pairs.

Data: ``newsgroup_malsar/{comp.vs.sci,rec.vs.talk}`` (Gu & Zhou, ICDM 2009): two tasks built
from different sub-categories of the same two top categories; 2,000 word counts per document
(sparse), labels {1, 2}. Each pair gives two directions (task1 -> task2, task2 -> task1).
Rows are L2-normalised (term counts -> unit length); the matrices stay sparse.

Per direction and seed: 1% of the target rows (at least one per class) are labelled, drawn
with the seed; the other 99% are the test set. Compared, all with the same base learner
(``LogisticRegression(C=1)``, scikit-learn):

* ``source only``: fitted on the source rows;
* ``target only``: fitted on the 1% labelled target rows;
* ``source + target``: fitted on both, unweighted (the base learner without transfer);
* ``TrAdaBoost``: Dai et al. (ICML 2007), ``n_estimators = 20`` (our choice).

    nice -n 5 python benchmarks/shallow_tradaboost.py [--root ../shared/data] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

PAIRS = {"comp.vs.sci": ("task1.mat", "task2.mat"), "rec.vs.talk": ("Task1.mat", "Task2.mat")}


def default_root() -> Path:
    env = os.environ.get("TRANSFERKIT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(root: Path, pair: str, name: str):
    from scipy.io import loadmat
    from sklearn.preprocessing import normalize

    path = root / "newsgroup_malsar" / pair / name
    if not path.is_file():
        raise SystemExit(f"missing {path}: pass --root pointing at the shared data directory")
    m = loadmat(path)
    return normalize(m["fea"].tocsr().astype(float)), m["gnd"].ravel().astype(int)


def labelled_rows(y: np.ndarray, frac: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = max(int(round(frac * y.size)), 2)
    while True:
        idx = rng.choice(y.size, size=k, replace=False)
        if np.unique(y[idx]).size == np.unique(y).size:
            return idx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=default_root())
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--frac", type=float, default=0.01)
    ap.add_argument("--n-estimators", type=int, default=20)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    import scipy.sparse as sp
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from transferkit.instance import TrAdaBoost, pack_domains

    seeds = [int(s) for s in a.seeds.split(",")]
    base = LogisticRegression(C=1.0, max_iter=1000)
    names = ["source only", "target only", "source + target", "TrAdaBoost"]
    rows = []
    t0 = time.perf_counter()
    for pair, (f1, f2) in PAIRS.items():
        d1, d2 = load(a.root, pair, f1), load(a.root, pair, f2)
        for (src, tgt, label) in [(d1, d2, f"{pair} {f1[:-4]}→{f2[:-4]}"),
                                  (d2, d1, f"{pair} {f2[:-4]}→{f1[:-4]}")]:
            (Xs, ys), (Xt, yt) = src, tgt
            res = {n: [] for n in names}
            for seed in seeds:
                lab = labelled_rows(yt, a.frac, seed)
                test = np.setdiff1d(np.arange(yt.size), lab)

                def acc(est, Xt=Xt, yt=yt, test=test):
                    return 100.0 * np.mean(est.predict(Xt[test]) == yt[test])

                res["source only"].append(acc(clone(base).fit(Xs, ys)))
                res["target only"].append(acc(clone(base).fit(Xt[lab], yt[lab])))
                res["source + target"].append(acc(clone(base).fit(
                    sp.vstack([Xs, Xt[lab]]), np.r_[ys, yt[lab]])))
                ytm = np.full(yt.size, -1)
                ytm[lab] = yt[lab]
                X, y, sd = pack_domains(Xs, ys, Xt, ytm)
                tb = TrAdaBoost(clone(base), n_estimators=a.n_estimators, random_state=seed)
                res["TrAdaBoost"].append(acc(tb.fit(X, y, sample_domain=sd)))
            rows.append((label, len(lab), res))
            print(f"# {label} done ({time.perf_counter() - t0:.0f} s)")
    print()
    print(f"Accuracy (%) on the unlabelled 99% of the target, mean ± sd over seeds {seeds}; "
          f"{a.frac:.0%} of the target labelled")
    print()
    print("| direction | labelled target rows | " + " | ".join(names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, k, res in rows:
        cells = [f"{np.mean(res[n]):.1f} ± {np.std(res[n]):.1f}" for n in names]
        print(f"| {label} | {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
