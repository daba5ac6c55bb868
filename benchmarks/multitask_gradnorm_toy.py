"""GradNorm on the regression toy problem of Chen et al. (ICML 2018, Sec. 4, Fig. 2).

T = 2 tasks ``f_i(x) = sigma_i tanh((B + eps_i) x)``, sigma = (1, 100), x in R^250, outputs in
R^100, 1,000 training samples; 4-layer ReLU trunk of 100 units, one affine head per task,
squared loss, full-batch Adam (lr 1e-3) on the network; GradNorm (alpha = 0.12) on the last
shared layer's weights, its task weights trained by Adam with ``--weight-lr``. Prints the
training rates ``L_i(t)/L_i(0)`` after ``--steps`` steps, equal weights vs GradNorm.

    python benchmarks/multitask_gradnorm_toy.py --seeds 0 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from transferkit.experiments.gradnorm_toy import train_gradnorm_toy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigmas", type=float, nargs="+", default=[1.0, 100.0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--alpha", type=float, default=0.12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-lr", type=float, default=0.1)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print(f"sigmas {args.sigmas}, {args.steps} full-batch Adam steps (lr {args.lr}), n = {args.n}; "
          f"GradNorm alpha {args.alpha}, weight lr {args.weight_lr}\n")
    print("| seed | method | training rates L_i(t)/L_i(0) | max/min log ratio | final weights |")
    print("|---|---|---|---|---|")
    for seed in args.seeds:
        for gn in (False, True):
            r, w = train_gradnorm_toy(args.sigmas, gn, args.steps, args.alpha, seed, args.lr, args.weight_lr, args.n)
            spread = float(np.log(r.max() / r.min()))
            print(f"| {seed} | {'GradNorm' if gn else 'equal'} | {', '.join(f'{v:.3g}' for v in r)} | "
                  f"{spread:.2f} | {', '.join(f'{v:.3g}' for v in w)} |", flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
