"""Partial transfer: 10 source classes, 5 target classes (digits 0-4), JDA MNIST->USPS 16x16,
LeNet-5. Source-only, DANN, SAN and PADA, 3 seeds (target accuracy %, mean ± sd).

The target keeps only USPS digits 0-4 (:func:`transferkit.data.domains.make_partial_target`);
the classifier still predicts 10 classes, so predicting an outlier class counts as an error.
SAN/PADA class weights are refreshed from the target predictions at each epoch start.

    python benchmarks/adapt_partial.py [--epochs 10] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch
from adapt_common import mean_sd, run_one

from transferkit.backbones import create_backbone
from transferkit.data import load_mnist_usps_jda
from transferkit.data.domains import make_partial_target
from transferkit.training.adaptation import AdaptOptimConfig

METHODS = ["source_only", "dann", "san", "san_ent0.1", "pada"]
#: SAN's entropy term at full weight from step 0 pushes a from-scratch network's target
#: predictions into confident (often outlier-class) predictions; the paper starts from an
#: ImageNet-pretrained network. ``san_ent0.1`` is SAN with entropy_weight=0.1.
VARIANTS = {"san_ent0.1": ("san", {"entropy_weight": 0.1})}
OPTIM = AdaptOptimConfig(name="adam", lr=1e-3, weight_decay=0.0, discriminator_lr_mult=1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.epochs = 1, 3
    torch.set_num_threads(1)
    start = time.perf_counter()
    src, tgt_full = load_mnist_usps_jda(direction="mnist_to_usps")
    tgt = make_partial_target(src, tgt_full, 5)
    make = lambda: create_backbone("lenet", num_outputs=10, input_size=16, widths=(6, 16), feature_dim=120)
    print(f"source {len(src)} images / 10 classes, target {len(tgt)} images / 5 classes\n")
    print("| method | MNIST(10)→USPS(5) |")
    print("|---|---|")
    for m in METHODS:
        name, extra = VARIANTS.get(m, (m, {}))
        params = None if m == "source_only" else {"hidden": (100,), **extra}
        accs = [run_one(name, src, tgt, tgt, make, epochs=args.epochs, batch_size=64, seed=s,
                        num_classes=10, params=params, optim=OPTIM)[0] for s in range(args.seeds)]
        print(f"| {m} | {mean_sd(accs)} |", flush=True)
    print(f"\n{args.epochs} epochs, batch 64, Adam 1e-3, {args.seeds} seeds; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
