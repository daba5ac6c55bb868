"""FCN and ResNet-1D (Wang, Yan & Oates, IJCNN 2017) trained from scratch on the UCR/UEA sets
shipped offline in aeon's wheel, on their official train/test splits, beside the published
test accuracies.

Protocol (ours): z-normalised series, Adam lr 1e-3, batch size min(N_train / 10, 16) as in
Wang et al., ``--epochs`` epochs (default 100; the paper trains FCN 2000 and ResNet 1500
epochs, with the model of least training loss kept), the last epoch's model scored on the full
test split; mean and range over ``--seeds``. Training goes through transferkit's engine
(``fit_finetune`` with the ``scratch`` strategy).

Published numbers: test error of FCN / ResNet from the table in the authors' repository
(cauchyturing/UCR_Time_Series_Classification_Deep_Learning_Baseline, README.md at commit
e9e4d6a9c66b710f0e13c3a59fbce9cf63600939), shown as accuracy = 1 - error; BasicMotions (UEA,
multivariate) is not in that table.

    python benchmarks/timeseries_scratch.py [--epochs 100] [--seeds 0] [--sets GunPoint ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timeseries_common import correct, machine, make_fcn, one_thread, train

from transferkit.data.timeseries import load_ucr

#: 1 - test error, Wang et al.'s repository table (FCN, ResNet)
PUBLISHED = {
    "GunPoint": (1 - 0.0, 1 - 0.007),
    "ItalyPowerDemand": (1 - 0.03, 1 - 0.040),
    "ArrowHead": (1 - 0.120, 1 - 0.183),
    "OSULeaf": (1 - 0.012, 1 - 0.021),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--sets", nargs="+", default=["GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions"])
    ap.add_argument("--models", nargs="+", default=["fcn", "resnet1d"])
    args = ap.parse_args()
    one_thread()
    print(f"# from scratch, official splits, {args.epochs} epochs, seeds {args.seeds}; {machine()}\n")
    print("| data set | train / test | model | accuracy (mean [min, max]) | published | train s / run |")
    print("|---|---|---|---|---|---|")
    for name in args.sets:
        tr, te = load_ucr(name, "train"), load_ucr(name, "test")
        for model_name in args.models:
            accs, secs = [], []
            for seed in args.seeds:
                model = make_fcn(tr.X.shape[1], tr.num_classes, seed, model_name)
                model, s = train(model, "scratch", tr, args.epochs, seed)
                accs.append(correct(model, te).mean())
                secs.append(s)
            pub = PUBLISHED.get(name)
            shown = f"{pub[0 if model_name == 'fcn' else 1]:.3f}" if pub else "-"
            print(f"| {name} | {len(tr)} / {len(te)} | {model_name} | {np.mean(accs):.3f} "
                  f"[{min(accs):.3f}, {max(accs):.3f}] | {shown} | {np.mean(secs):.1f} |", flush=True)


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall time {time.time() - t:.0f} s")
