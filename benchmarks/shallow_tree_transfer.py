"""SER and STRUT on Office-Caltech10 SURF: transferkit beside ADAPT's TransferTreeClassifier.

Per pair and seed: a decision tree (and a 10-tree random forest) is fitted on all source
images (``random_state=seed``); ``--per-class`` target images per class are labelled (drawn
with the seed), the rest of the target is the test set. The same fitted source model is given
to transferkit's ``TransferTreeClassifier``/``TransferForestClassifier`` and to ADAPT 0.4.5's
``TransferTreeClassifier``/``TransferForestClassifier`` (``bootstrap=False``), run in the
TensorFlow interpreter (``--adapt-python``) on the same pickled model and arrays.
Preprocessing as in ``shallow_office_caltech.py`` (L1 per histogram, z-score per domain).

Reported: accuracy (%) on the unlabelled target rows, mean over seeds, for the source model,
a tree on the labelled target rows only, SER and STRUT of both libraries, and the share of
test rows on which the two libraries predict the same label.

    nice -n 5 python benchmarks/shallow_tree_transfer.py --adapt-python /work/venv-tf/bin/python
        [--pairs A-W,...] [--seeds 0,1,2] [--per-class 3]
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

PAIRS = ["C-A", "C-W", "C-D", "A-C", "A-W", "A-D", "W-C", "W-A", "W-D", "D-C", "D-A", "D-W"]


def adapt_worker(path: str, out: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore")
    from adapt.parameter_based import TransferForestClassifier, TransferTreeClassifier

    with open(path, "rb") as f:
        jobs = pickle.load(f)
    res = []
    for job in jobs:
        preds = {}
        for algo in ("ser", "strut"):
            t = TransferTreeClassifier(estimator=job["tree"], algo=algo, verbose=0,
                                       random_state=job["seed"])
            t.fit(job["Xl"], job["yl"])
            preds[f"tree_{algo}"] = t.predict(job["Xtest"])
            f = TransferForestClassifier(estimator=job["forest"], algo=algo, bootstrap=False,
                                         verbose=0, random_state=job["seed"])
            f.fit(job["Xl"], job["yl"])
            preds[f"forest_{algo}"] = f.predict(job["Xtest"])
        res.append(preds)
    with open(out, "wb") as f:
        pickle.dump(res, f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapt-python", default=None)
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--per-class", type=int, default=3)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        adapt_worker(a.worker, a.worker_out)
        return
    warnings.filterwarnings("ignore")
    from shallow_office_caltech import DOMAINS, default_root, load_domain
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    from transferkit.parameter import TransferForestClassifier, TransferTreeClassifier, pack_domains

    # labels 1..10 -> 0..9: ADAPT's forest STRUT indexes class distributions by label
    data = {k: (X, y - 1) for k, (X, y) in
            ((k, load_domain(default_root(), k)) for k in DOMAINS)}
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs, ours, keys = [], [], []
    for pair in a.pairs.split(","):
        s, t = pair.split("-")
        (Xs, ys), (Xt, yt) = data[s], data[t]
        for seed in seeds:
            rng = np.random.default_rng(seed)
            lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), a.per_class, replace=False)
                                  for c in np.unique(yt)])
            test = np.setdiff1d(np.arange(yt.size), lab)
            tree = DecisionTreeClassifier(random_state=seed).fit(Xs, ys)
            forest = RandomForestClassifier(10, random_state=seed).fit(Xs, ys)
            ymask = np.full(yt.size, -1)
            ymask[lab] = yt[lab]
            X, y, sd = pack_domains(Xs, ys, Xt, ymask)
            acc = {"source tree": tree.predict(Xt[test]),
                   "target-only tree": DecisionTreeClassifier(random_state=seed)
                   .fit(Xt[lab], yt[lab]).predict(Xt[test]),
                   "source forest": forest.predict(Xt[test])}
            for algo in ("ser", "strut"):
                acc[f"tree_{algo}"] = TransferTreeClassifier(tree, algorithm=algo, random_state=seed) \
                    .fit(X, y, sd).predict(Xt[test])
                acc[f"forest_{algo}"] = TransferForestClassifier(forest, algorithm=algo,
                                                                 random_state=seed) \
                    .fit(X, y, sd).predict(Xt[test])
            ours.append((acc, yt[test]))
            keys.append(pair)
            jobs.append({"tree": tree, "forest": forest, "Xl": Xt[lab], "yl": yt[lab],
                         "Xtest": Xt[test], "seed": seed})
        print(f"# {pair} done", file=sys.stderr)
    theirs = None
    if a.adapt_python:
        with tempfile.TemporaryDirectory() as tmp:
            p, o = Path(tmp) / "jobs.pkl", Path(tmp) / "out.pkl"
            with open(p, "wb") as f:
                pickle.dump(jobs, f)
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
            r = subprocess.run([a.adapt_python, __file__, "--worker", str(p), "--worker-out",
                                str(o)], env=env, capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"ADAPT worker failed:\n{r.stderr[-3000:]}")
            with open(o, "rb") as f:
                theirs = pickle.load(f)
    cols = ["source tree", "target-only tree", "tree_ser", "tree_strut", "source forest",
            "forest_ser", "forest_strut"]
    names = {"tree_ser": "SER", "tree_strut": "STRUT", "forest_ser": "SER forest",
             "forest_strut": "STRUT forest"}
    print(f"Accuracy (%) on the unlabelled target rows, {a.per_class} labelled per class, "
          f"mean over seeds {seeds}; ADAPT in brackets, then agreement (% same label)")
    print()
    print("| pair | " + " | ".join(names.get(c, c) for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    pairs = list(dict.fromkeys(keys))
    allrows = {c: [] for c in cols}
    for pair in pairs:
        idx = [i for i, k in enumerate(keys) if k == pair]
        cells = []
        for c in cols:
            mine = np.mean([100 * np.mean(ours[i][0][c] == ours[i][1]) for i in idx])
            allrows[c].append(mine)
            cell = f"{mine:.1f}"
            if theirs is not None and c in names:
                th = np.mean([100 * np.mean(theirs[i][c] == ours[i][1]) for i in idx])
                agree = np.mean([100 * np.mean(theirs[i][c] == ours[i][0][c]) for i in idx])
                cell += f" [{th:.1f}; {agree:.0f}%]"
            cells.append(cell)
        print(f"| {pair} | " + " | ".join(cells) + " |")
    print("| mean | " + " | ".join(f"{np.mean(allrows[c]):.1f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
