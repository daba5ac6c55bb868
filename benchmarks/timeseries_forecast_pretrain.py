"""Task transfer from forecasting to classification: pretrain an encoder to forecast the next
values of unlabelled series, then classify with few labels; against the same encoder trained
from scratch and a linear probe of the pretrained encoder.

Unlabelled series: the target's training series without their labels plus every series (train
and test) of the other offline univariate sets, z-normalised and resampled to the target's
length, at most ``--max-unlabelled`` of them (a seeded random subset); the target's test series
are never seen before testing. Pretraining: ``transferkit.backbones.pretrain_forecasting``
(horizon ``--horizon``, Adam lr 1e-3, batch 64, ``--pretrain-epochs``, one random cut point per
batch), once (seed 0; the 2-core budget), shared by every seed. Then ``--labels`` labelled
series per class drawn from the target's training split (seeded), and three fine-tuning runs
through ``fit_finetune`` (Adam lr 1e-3, batch 16, ``--epochs``): ``scratch`` (random init),
``linear_probe`` and ``full`` (both from the forecasting encoder, new head), scored on the
official test split. Verdicts: the library's, against scratch.

    python benchmarks/timeseries_forecast_pretrain.py [--target GunPoint] [--labels 4] [--seeds 0 1 2 3 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timeseries_common import correct, machine, make_fcn, one_thread, train, verdict

from transferkit.backbones import pretrain_forecasting
from transferkit.data import few_shot_indices
from transferkit.data.timeseries import load_ucr

UNIVARIATE = ["GunPoint", "ItalyPowerDemand", "ArrowHead", "PickupGestureWiimoteZ"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="GunPoint")
    ap.add_argument("--labels", type=int, default=4, help="labelled series per class")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--pretrain-epochs", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--model", default="fcn")
    ap.add_argument("--max-unlabelled", type=int, default=600)
    args = ap.parse_args()
    one_thread()
    tr, te = load_ucr(args.target, "train"), load_ucr(args.target, "test")
    length = tr.X.shape[-1]
    pool = [tr.X]
    for other in UNIVARIATE:
        if other != args.target:
            pool += [load_ucr(other, s, length=length).X for s in ("train", "test")]
    unlabelled = np.concatenate(pool)
    if len(unlabelled) > args.max_unlabelled:
        keep = np.random.default_rng(0).choice(len(unlabelled), args.max_unlabelled, replace=False)
        unlabelled = unlabelled[np.sort(keep)]
    print(f"# forecasting pretraining -> {args.target} classification, {args.labels} labels per class, "
          f"{len(unlabelled)} unlabelled series, {args.model}, horizon {args.horizon}, {args.pretrain_epochs} "
          f"pretraining epochs, {args.epochs} fine-tuning epochs, seeds {args.seeds}; {machine()}\n")
    results: dict[str, dict[int, np.ndarray]] = {"scratch": {}, "linear_probe": {}, "full": {}}
    encoder = make_fcn(1, 0, 0, args.model)
    hist = pretrain_forecasting(encoder, unlabelled, horizon=args.horizon, epochs=args.pretrain_epochs,
                                batch_size=64, lr=1e-3, seed=0)
    state = {k: v.clone() for k, v in encoder.state_dict().items()}
    for seed in args.seeds:
        idx = few_shot_indices(tr.y, args.labels, seed)
        few = tr.subset(idx, f"{args.target}_{args.labels}shot")
        for method in results:
            model = make_fcn(1, 0, seed, args.model)
            if method != "scratch":
                model.load_state_dict(state)
            model, _ = train(model, method, few, args.epochs, seed, batch_size=16)
            results[method][seed] = correct(model, te)
    print("forecasting MSE (z-normalised units) per pretraining epoch: " + ", ".join(f"{h:.3f}" for h in hist))
    print("(predicting zeros, the series' mean, would score about 1)\n")
    print("| method | test accuracy (mean [min, max]) | verdict vs scratch |")
    print("|---|---|---|")
    for method, res in results.items():
        accs = [c.mean() for c in res.values()]
        v = "baseline" if method == "scratch" else verdict(res, results["scratch"], n_comparisons=2)
        print(f"| {method} | {np.mean(accs):.3f} [{min(accs):.3f}, {max(accs):.3f}] | {v} |", flush=True)


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall time {time.time() - t:.0f} s")
