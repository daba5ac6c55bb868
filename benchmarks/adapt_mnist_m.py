"""MNIST -> MNIST-M: source-only vs DANN, beside Ganin & Lempitsky (ICML 2015, Table 1:
source-only 52.25 %, DANN 76.66 %).

``--arch paper`` (default) is the paper's MNIST network (Ganin et al., JMLR 2016, Fig. 4 /
Section 5.2.2): features conv 32 5x5 - ReLU - max-pool 2 - conv 48 5x5 - ReLU - max-pool 2
(768-d), label predictor fc 100 - fc 100 - fc 10, domain classifier fc 100 - fc 1 on the
768-d features; SGD momentum 0.9, lr 0.01 annealed by (1 + 10 p)^-0.75, GRL coefficient
2/(1 + exp(-10 p)) - 1, batches of 64 source + 64 target. Inputs: ``--norm image`` (default)
standardises every image on its own (zero mean, unit variance); ``--norm mean`` subtracts the
per-channel mean of the source and unlabelled-target training pixels, as the paper does.
``--arch lenet`` is the earlier small LeNet-5 (6/16 channels) with Adam 1e-3.

Our source is smaller: only MNIST's 10,000 *test* images exist offline, so the source is
MNIST test images 0-4,999 (grey, replicated to 3 channels), and MNIST-M is built
(:func:`transferkit.data.domains.build_mnist_m`, seed 0; read through the data registry as
``data.kind: mnist_m``, what ``transferkit adapt`` reads) from images 5,000-9,999: 3,000 of
them are the unlabelled target, the last 2,000 the target test set. The paper's source had
60,000 images and it trained for many more iterations.

    python benchmarks/adapt_mnist_m.py [--arch paper|lenet] [--norm image|mean] [--epochs 20] [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from adapt_common import mean_sd, registry_pair, run_one
from torch import nn

from transferkit.backbones import SequentialBackbone, create_backbone
from transferkit.data import Domain
from transferkit.training.adaptation import AdaptOptimConfig


def standardise(d: Domain) -> Domain:
    """Per-image standardisation (zero mean, unit variance over each image's pixels)."""
    X = d.X - d.X.mean(axis=(1, 2, 3), keepdims=True)
    X = X / (X.std(axis=(1, 2, 3), keepdims=True) + 1e-6)
    return Domain(X.astype(np.float32), d.y, d.name, d.num_classes)


def mean_subtract(src: Domain, tgt: Domain, *others: Domain) -> list[Domain]:
    """Subtract the per-channel pixel mean of the source and target training images."""
    mu = np.concatenate([src.X, tgt.X]).mean(axis=(0, 2, 3), keepdims=True)
    return [Domain((d.X - mu).astype(np.float32), d.y, d.name, d.num_classes) for d in (src, tgt, *others)]


def paper_network() -> SequentialBackbone:
    """Ganin et al. (2016) MNIST network: 768-d conv features, head fc100-fc100-fc10."""
    net = SequentialBackbone([
        nn.Sequential(nn.Conv2d(3, 32, 5), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(32, 48, 5), nn.ReLU(), nn.MaxPool2d(2)),
    ], feature_dim=48 * 4 * 4, num_outputs=10)
    net.head = nn.Sequential(nn.Linear(768, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))
    return net


PAPER = {"source_only": 52.25, "dann": 76.66}
OPTIMS = {"lenet": AdaptOptimConfig(name="adam", lr=1e-3, weight_decay=0.0, discriminator_lr_mult=1.0),
          "paper": AdaptOptimConfig(name="sgd", lr=0.01, momentum=0.9, weight_decay=0.0,
                                    discriminator_lr_mult=1.0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=("paper", "lenet"), default="paper")
    ap.add_argument("--norm", choices=("image", "mean"), default="image")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.epochs = 1, 2
    torch.set_num_threads(1)
    start = time.perf_counter()
    pair = registry_pair("mnist_m")  # the data.kind: mnist_m of transferkit adapt
    src, tgt, tgt_test = pair.source, pair.target, pair.target_test
    if args.norm == "image":
        src, tgt, tgt_test = standardise(src), standardise(tgt), standardise(tgt_test)
    else:
        src, tgt, tgt_test = mean_subtract(src, tgt, tgt_test)
    if args.arch == "paper":
        make = paper_network
    else:
        def make():
            return create_backbone("lenet", in_channels=3, num_outputs=10, input_size=28,
                                   widths=(6, 16), feature_dim=120)
    print(f"source {len(src)} MNIST, target {len(tgt)} MNIST-M (unlabelled), test {len(tgt_test)} MNIST-M\n")
    print("| method | MNIST→MNIST-M (ours) | Ganin & Lempitsky 2015 |")
    print("|---|---|---|")
    per_seed = {}
    for m in ("source_only", "dann"):
        per_seed[m] = [run_one(m, src, tgt, tgt_test, make, epochs=args.epochs, batch_size=64, seed=s,
                               num_classes=10, params={"hidden": (100,)} if m == "dann" else None,
                               optim=OPTIMS[args.arch])[0] for s in range(args.seeds)]
        print(f"| {m} | {mean_sd(per_seed[m])} | {PAPER[m]} |", flush=True)
    for m, accs in per_seed.items():
        print(f"{m} per seed: " + ", ".join(f"{100 * a:.1f}" for a in accs))
    gain = [d - s for d, s in zip(per_seed["dann"], per_seed["source_only"])]
    print(f"dann - source_only, same seed: {mean_sd(gain)} points")
    print(f"\narch {args.arch}, norm {args.norm}, {args.epochs} epochs, batch 64 + 64, {OPTIMS[args.arch].name} "
          f"lr {OPTIMS[args.arch].lr:g}, {args.seeds} seeds; "
          f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
