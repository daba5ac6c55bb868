"""Amazon reviews (Blitzer et al.), 12 domain pairs: shallow DANN vs source-only, beside
Ganin et al., JMLR 2016, Table 1 (DANN row).

Data: the 5,000-dim mSDA bag-of-words files of the DANN paper (../shared/data/
amazon_reviews_dann_5000): train on the labelled source ``*_train`` (2,000) and the
unlabelled target ``*_train`` (2,000); report accuracy on the target ``*_test``. Inputs are
binarised (word present or not). Network: one hidden layer of 50 units (as in the paper),
domain classifier a logistic regressor on the hidden layer (the paper's shallow DANN).
Differences from the paper: mini-batches of 64 and SGD with momentum, fixed lr 0.01 and
GRL schedule instead of the paper's reverse-validation hyper-parameter search.

    python benchmarks/adapt_amazon.py [--epochs 10] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from adapt_common import mean_sd, run_one

from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.data.domains import load_amazon_reviews
from transferkit.training.adaptation import AdaptOptimConfig

PAPER_DANN = {"B→D": 78.4, "B→E": 73.3, "B→K": 77.9, "D→B": 72.3, "D→E": 75.4, "D→K": 78.3,
              "E→B": 71.3, "E→D": 73.8, "E→K": 85.4, "K→B": 70.9, "K→D": 74.0, "K→E": 84.3}
NAMES = {"B": "books", "D": "dvd", "E": "electronics", "K": "kitchen"}


def _binary(d: Domain) -> Domain:
    return Domain((np.asarray(d.X) > 0).astype(np.float32), d.y, d.name, d.num_classes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1 seed, 3 epochs, 3 pairs")
    args = ap.parse_args()
    pairs = list(PAPER_DANN)
    if args.quick:
        args.seeds, args.epochs, pairs = 1, 3, pairs[:3]
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = {k: (_binary(load_amazon_reviews(v, "train")), _binary(load_amazon_reviews(v, "test")))
            for k, v in NAMES.items()}
    make = lambda: create_backbone("mlp", in_features=5000, hidden=(50,), num_outputs=2)
    optim = AdaptOptimConfig(lr=0.01, weight_decay=0.0, discriminator_lr_mult=1.0)
    print("| pair | source-only (ours) | DANN (ours) | DANN (Ganin et al. 2016) |")
    print("|---|---|---|---|")
    means = {"source_only": [], "dann": []}
    for pair in pairs:
        s, t = pair.split("→")
        (src, _), (tgt, tgt_test) = data[s], data[t]
        cells = {}
        for m in ("source_only", "dann"):
            accs = [run_one(m, src, tgt, tgt_test, make, epochs=args.epochs, batch_size=64, seed=k,
                            num_classes=2, params={"hidden": ()} if m == "dann" else None,
                            optim=optim)[0] for k in range(args.seeds)]
            cells[m] = mean_sd(accs)
            means[m].append(float(np.mean(accs)))
        print(f"| {pair} | {cells['source_only']} | {cells['dann']} | {PAPER_DANN[pair]} |", flush=True)
    paper_mean = np.mean([PAPER_DANN[p] for p in pairs])
    print(f"| mean | {100 * np.mean(means['source_only']):.1f} | {100 * np.mean(means['dann']):.1f} | {paper_mean:.1f} |")
    print(f"\n{args.epochs} epochs, batch 64, {args.seeds} seeds (mean ± sd, %); total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
