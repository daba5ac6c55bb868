"""Transfer between UCR data sets, the protocol of Ismail Fawaz, Forestier, Weber, Idoumghar &
Muller, "Transfer learning for time series classification", IEEE BigData 2018: pretrain an FCN
on a source data set's training split, replace its softmax layer with one for the target's
classes, fine-tune the whole network on the target's training split, score on the target's
official test split; against the same FCN trained from scratch on the target.

Every ordered pair of the univariate sets shipped offline (default: GunPoint, ItalyPowerDemand,
ArrowHead, PickupGestureWiimoteZ, the last resampled to its longest series, 361). Each set keeps
its own length (the FCN ends in global average pooling). Adam lr 1e-3, batch 16, ``--epochs``
for pretraining and for each target run (the paper trains far longer; ours is a short budget,
stated in the table), ``--seeds`` (each seed: its own pretraining, fine-tuning and scratch
run). Verdict: the library's (correlated t-test over seeds, ROPE one accuracy point, per-series
test correctness as test-set noise, Bonferroni over the pairs) of fine-tuned vs scratch.

    python benchmarks/timeseries_transfer.py [--epochs 30] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from timeseries_common import correct, machine, make_fcn, one_thread, train, verdict

from transferkit.data.timeseries import load_ucr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sets", nargs="+", default=["GunPoint", "ItalyPowerDemand", "ArrowHead", "PickupGestureWiimoteZ"])
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()
    one_thread()
    data = {n: (load_ucr(n, "train"), load_ucr(n, "test")) for n in args.sets}
    bs, ep = args.batch_size, args.epochs
    pretrained: dict[tuple[str, int], dict] = {}
    for name, seed in itertools.product(args.sets, args.seeds):
        tr, _ = data[name]
        model, _ = train(make_fcn(1, tr.num_classes, seed), "scratch", tr, ep, seed, batch_size=bs)
        pretrained[name, seed] = {k: v.clone() for k, v in model.state_dict().items()}
    scratch = {}
    for name, seed in itertools.product(args.sets, args.seeds):
        tr, te = data[name]
        model, _ = train(make_fcn(1, tr.num_classes, seed), "scratch", tr, ep, seed, batch_size=bs)
        scratch[name, seed] = correct(model, te)
    pairs = list(itertools.permutations(args.sets, 2))
    print(f"# FCN transfer (Ismail Fawaz et al. 2018 protocol), {ep} epochs pretraining and {ep} per target run, "
          f"batch {bs}, seeds {args.seeds}; {machine()}\n")
    print("| source -> target | scratch acc | fine-tuned acc | difference | verdict (vs scratch) |")
    print("|---|---|---|---|---|")
    counts: dict[str, int] = {}
    for src, tgt in pairs:
        tr, te = data[tgt]
        tuned = {}
        for seed in args.seeds:
            model = make_fcn(1, data[src][0].num_classes, seed)
            model.load_state_dict(pretrained[src, seed])
            model, _ = train(model, "full", tr, ep, seed, batch_size=bs)  # new head, whole net trains
            tuned[seed] = correct(model, te)
        base = {s: scratch[tgt, s] for s in args.seeds}
        v = verdict(tuned, base, n_comparisons=len(pairs))
        counts[v] = counts.get(v, 0) + 1
        a, b = np.mean([c.mean() for c in base.values()]), np.mean([c.mean() for c in tuned.values()])
        print(f"| {src} -> {tgt} | {a:.3f} | {b:.3f} | {b - a:+.3f} | {v} |", flush=True)
    print("\nverdicts over the pairs: " + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall time {time.time() - t:.0f} s")
