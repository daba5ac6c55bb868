"""GradNorm on the regression toy problem of Chen et al. (ICML 2018, Sec. 4, Fig. 2).

T = 2 tasks ``f_i(x) = sigma_i tanh((B + eps_i) x)``, sigma = (1, 100), x in R^250, outputs in
R^100, 1,000 training samples; 4-layer ReLU trunk of 100 units, one affine head per task,
squared loss, full-batch Adam (lr 1e-3) on the network; GradNorm (alpha = 0.12) on the last
shared layer's weights, its task weights trained by Adam with ``--weight-lr``. Prints the
training rates ``L_i(t)/L_i(0)`` (mean loss over the last ``--average-last`` steps) after
``--steps`` steps, equal weights vs GradNorm at each ``--alphas`` value, with the weights
parametrised as in the paper (``direct``) and as ``m * softmax(logits)`` (``softmax``).

    python benchmarks/multitask_gradnorm_toy.py     # 3 seeds, alpha 0.12 and 1.5, both parametrisations
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
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.12, 1.5],
                    help="GradNorm asymmetries (0.12: the paper's toy value; 1.5: its default)")
    ap.add_argument("--parametrizations", nargs="+", default=["direct", "softmax"],
                    choices=["direct", "softmax"],
                    help="GradNorm weights: the paper's direct ones, or m * softmax(logits)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-lr", type=float, default=0.1)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--average-last", type=int, default=100,
                    help="training rates from the mean loss over the last N steps")
    ap.add_argument("--single-task", action="store_true",
                    help="also train each task alone (the other's weight 0) for reference rates")
    ap.add_argument("--trace-every", type=int, default=0,
                    help="print the per-step rates and weights of the GradNorm runs every N steps")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    print(f"sigmas {args.sigmas}, {args.steps} full-batch Adam steps (lr {args.lr}), n = {args.n}; "
          f"GradNorm weight lr {args.weight_lr}; rates = mean loss over the last {args.average_last} "
          f"steps / L_i(0)\n")
    print("| seed | method | training rates L_i(t)/L_i(0) | max/min log ratio | final weights |")
    print("|---|---|---|---|---|")
    runs = [("equal", False, 0.0, "")] + [
        (f"GradNorm {p} alpha={a:g}", True, a, p) for p in args.parametrizations for a in args.alphas
    ]
    if args.single_task:
        runs += [(f"task {i} alone", False, float(i), "") for i in range(len(args.sigmas))]
    traces: list[tuple[str, int, list]] = []
    spreads: dict[str, list[float]] = {run[0]: [] for run in runs}
    for seed in args.seeds:
        for name, gn, alpha, param in runs:
            alone = name.endswith("alone")
            fixed = [float(i == int(alpha)) for i in range(len(args.sigmas))] if alone else None
            trace: list = []
            r, w = train_gradnorm_toy(args.sigmas, gn, args.steps, alpha if gn else 0.12, seed, args.lr,
                                      args.weight_lr, args.n, average_last=args.average_last,
                                      fixed_weights=fixed, trace_every=args.trace_every if gn else 0,
                                      trace=trace, parametrization=param or "direct")
            if trace:
                traces.append((name, seed, trace))
            spread = float(np.log(r.max() / r.min()))
            spreads[name].append(spread)
            print(f"| {seed} | {name} | {', '.join(f'{v:.3g}' for v in r)} | "
                  f"{spread:.2f} | {', '.join(f'{v:.3g}' for v in w)} |", flush=True)
    print("\n| method | max/min log ratio, mean ± sd over seeds | max/min rate ratio (exp of the mean) |")
    print("|---|---|---|")
    for name, vals in spreads.items():
        if name.endswith("alone"):  # one task trained: its partner's rate means nothing
            continue
        print(f"| {name} | {np.mean(vals):.2f} ± {np.std(vals):.2f} | {np.exp(np.mean(vals)):.2f} |")
    for name, seed, trace in traces:
        print(f"\nper-step trace, {name}, seed {seed}: | step | rates L_i(t)/L_i(0) | weights |")
        for step, rates, weights in trace:
            print(f"| {step} | {', '.join(f'{v:.3g}' for v in rates)} | {', '.join(f'{v:.3g}' for v in weights)} |")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
