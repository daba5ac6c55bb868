"""Multi-task learning on sequences: one shared FCN encoder with a per-series label head and a
forecasting head, trained with the library's weightings and aggregators, against the same
encoder trained on each task alone.

Data: ItalyPowerDemand (UCR; official split, 67 train / 1029 test series of 24 hourly values).
The encoder reads the first ``--context`` hours; task ``season`` is the series' class (October
to March vs April to September), task ``forecast`` the remaining ``24 - context`` hours
(regression). Each series is z-normalised with the mean and standard deviation of its context
only, so nothing of the forecast horizon leaks into the input. Model: hard sharing
(``mtl_architecture`` ``hard_sharing``) of the FCN of Wang et al. (2017), a linear head per
task; Adam lr 1e-3, batch 16, ``--epochs`` epochs, through ``fit_multitask``; the last epoch's
model on the test split. Verdicts on the season accuracy: the library's correlated t-test over
seeds against single-task, ROPE one accuracy point, per-series correctness as test-set noise.

    python benchmarks/timeseries_multitask.py [--epochs 60] [--seeds 0 1 2] [--context 18]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from timeseries_common import machine, one_thread, verdict

import transferkit as tk
from transferkit.backbones import create_backbone
from transferkit.data.multitask import MultiTaskDataset
from transferkit.data.timeseries import load_ucr
from transferkit.multitask import Task
from transferkit.multitask._uncertainty import kendall_task_type
from transferkit.training.multitask import fit_multitask

#: (label in the table, family, name): the balancing methods compared
METHODS = [("equal weights", "weighting", "fixed"), ("uncertainty", "weighting", "uncertainty"),
           ("DWA", "weighting", "dwa"), ("PCGrad", "aggregator", "pcgrad"), ("MGDA", "aggregator", "mgda")]


def split(name: str, part: str, context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs [N, 1, context] z-normalised by their own statistics, future values in the same
    units [N, T - context], labels)."""
    d = load_ucr(name, part, znorm=False)
    x = d.X[:, 0].astype(np.float64)
    mean = x[:, :context].mean(1, keepdims=True)
    std = x[:, :context].std(1, keepdims=True)
    z = (x - mean) / np.where(std < 1e-8, 1.0, std)
    return z[:, None, :context].astype(np.float32), z[:, context:].astype(np.float32), np.asarray(d.y)


def dataset(X, F, y, names) -> MultiTaskDataset:
    targets = {"season": y.astype(np.int64), "forecast": F}
    kinds = {"season": "classification", "forecast": "regression"}
    outs = {"season": int(y.max()) + 1, "forecast": F.shape[1]}
    return MultiTaskDataset(X, {n: targets[n] for n in names}, {n: kinds[n] for n in names},
                            {n: outs[n] for n in names}, "ItalyPowerDemand")


def balancer(family: str, name: str, tasks: list[Task]):
    if family == "aggregator":
        return tk.create("aggregator", name)
    params = {"task_types": [kendall_task_type(t.kind) for t in tasks]} if name == "uncertainty" else {}
    return tk.create("weighting", name, num_tasks=len(tasks), **params)


def run(names, family, method, data, test, seed, epochs):
    tasks = [Task("season", data.num_outputs["season"]) if n == "season" else
             Task("forecast", data.num_outputs["forecast"], kind="regression") for n in names]
    torch.manual_seed(seed)
    backbone = create_backbone("fcn", in_channels=1, num_outputs=0)
    model = tk.create("mtl_architecture", "hard_sharing", backbone=backbone, tasks=tasks)
    fit = fit_multitask(model, tasks, balancer(family, method, tasks), data,
                        representation_mode=False, max_epochs=epochs, batch_size=16, lr=1e-3, seed=seed)
    model = fit.model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(test[0]))
    res = {"seconds": fit.train_seconds}
    if "season" in out:
        res["correct"] = (out["season"].argmax(1).numpy() == test[2]).astype(np.float64)
    if "forecast" in out:
        res["mse"] = float(((out["forecast"].numpy() - test[1]) ** 2).mean())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--context", type=int, default=18)
    args = ap.parse_args()
    one_thread()
    X, F, y = split("ItalyPowerDemand", "train", args.context)
    test = split("ItalyPowerDemand", "test", args.context)
    print(f"# multi-task on sequences: ItalyPowerDemand ({len(X)} train / {len(test[0])} test), FCN hard "
          f"sharing, context {args.context} h -> season label + {F.shape[1]}-hour forecast, {args.epochs} "
          f"epochs, batch 16, Adam 1e-3, seeds {args.seeds}; {machine()}\n")
    rows = [("single-task: season", ("season",), "weighting", "fixed"),
            ("single-task: forecast", ("forecast",), "weighting", "fixed")]
    rows += [(label, ("season", "forecast"), fam, name) for label, fam, name in METHODS]
    results: dict[str, dict[int, dict]] = {}
    for label, names, fam, name in rows:
        data = dataset(X, F, y, names)
        results[label] = {s: run(names, fam, name, data, test, s, args.epochs) for s in args.seeds}
    base = {s: r["correct"] for s, r in results["single-task: season"].items()}
    print("| model | season accuracy (mean [min, max]) | verdict vs single-task | forecast MSE (mean [min, max]) | train s / run |")
    print("|---|---|---|---|---|")
    for label, _names, _, _ in rows:
        r = results[label]
        acc = [float(v["correct"].mean()) for v in r.values() if "correct" in v]
        mse = [v["mse"] for v in r.values() if "mse" in v]
        acc_s = f"{np.mean(acc):.3f} [{min(acc):.3f}, {max(acc):.3f}]" if acc else "-"
        mse_s = f"{np.mean(mse):.3f} [{min(mse):.3f}, {max(mse):.3f}]" if mse else "-"
        if label == "single-task: season":
            v = "baseline"
        elif acc:
            v = verdict({s: x["correct"] for s, x in r.items()}, base, n_comparisons=len(METHODS))
        else:
            v = "-"
        secs = np.mean([x["seconds"] for x in r.values()])
        print(f"| {label} | {acc_s} | {v} | {mse_s} | {secs:.0f} |", flush=True)
    naive = float((test[1] ** 2).mean())
    last = float(((test[1] - test[0][:, 0, -1:]) ** 2).mean())
    print(f"\nreference forecasts on the test split: predicting the context mean (0): MSE {naive:.3f}; "
          f"repeating the last context value: MSE {last:.3f}")


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall time {time.time() - t:.0f} s")
