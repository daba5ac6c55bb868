"""Engine overhead on series: one FCN epoch through ``fit_finetune`` vs a plain PyTorch loop.

Same model (the FCN of Wang et al. 2017, 128/256/128 filters, fresh 6-class head), same data
(OSULeaf, train and test splits together: 442 z-normalised series of length 427, the largest
univariate set offline besides ACSF1), batch size 16, Adam lr 1e-3 over every parameter, the same
number of steps, one thread. transferkit: ``fit_finetune(model, FullFineTune(backbone_lr_scale=1.0),
domain, None, TrainerConfig(max_epochs=1, batch_size=16, patience=0, accelerator="cpu"), ...)``
(no validation, no checkpointing, no logger). Plain: ``DataLoader(TensorDataset(X, y),
batch_size=16, shuffle=True)`` and features -> head -> cross-entropy -> backward -> step.
After one warm-up each, the two alternate ``--repeats`` times in one process; medians of the whole
call (loader and Trainer set-up included) and of the training loop alone, ratio printed (target:
at most 1.15).

    python benchmarks/timeseries_speed.py [--repeats 5] [--data OSULeaf]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from timeseries_common import machine, one_thread
from torch.utils.data import DataLoader, TensorDataset

from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.data.timeseries import load_ucr
from transferkit.finetune import FullFineTune
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune


def make_model(num_classes: int):
    torch.manual_seed(0)
    return FullFineTune(backbone_lr_scale=1.0).prepare(create_backbone("fcn", num_outputs=num_classes), num_classes)


def run_transferkit(domain: Domain, bs: int) -> tuple[float, float]:
    model = make_model(domain.num_classes)
    t = time.perf_counter()
    fit = fit_finetune(model, FullFineTune(backbone_lr_scale=1.0), domain, None,
                       TrainerConfig(max_epochs=1, batch_size=bs, patience=0, accelerator="cpu"),
                       OptimConfig(name="adam", lr=1e-3), seed=0)
    return time.perf_counter() - t, fit.train_seconds


def run_plain(domain: Domain, bs: int) -> tuple[float, float]:
    model = make_model(domain.num_classes)
    t = time.perf_counter()
    loader = DataLoader(TensorDataset(torch.from_numpy(domain.X), torch.as_tensor(domain.y).long()),
                        batch_size=bs, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    t_loop = time.perf_counter()
    for xb, yb in loader:
        loss = F.cross_entropy(model.head(model.features(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = time.perf_counter()
    return end - t, end - t_loop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--data", default="OSULeaf")
    args = ap.parse_args()
    one_thread()
    tr, te = load_ucr(args.data, "train"), load_ucr(args.data, "test")
    domain = Domain(np.concatenate([tr.X, te.X]), np.concatenate([tr.y, te.y]), args.data, tr.num_classes)
    steps = -(-len(domain) // args.batch_size)
    run_plain(domain, args.batch_size)
    run_transferkit(domain, args.batch_size)
    tk, pl = [], []
    for _ in range(args.repeats):
        pl.append(run_plain(domain, args.batch_size))
        tk.append(run_transferkit(domain, args.batch_size))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    print(f"# one FCN epoch, {args.data} {domain.X.shape}, batch {args.batch_size} ({steps} steps), Adam; "
          f"median of {args.repeats} alternated repetitions after a warm-up; {machine()}\n")
    print("| | plain PyTorch (s) | transferkit fit_finetune (s) | ratio transferkit / plain |")
    print("|---|---|---|---|")
    print(f"| whole call (set-up + epoch) | {med(pl, 0):.3f} | {med(tk, 0):.3f} | {med(tk, 0) / med(pl, 0):.3f} |")
    print(f"| training loop only | {med(pl, 1):.3f} | {med(tk, 1):.3f} | {med(tk, 1) / med(pl, 1):.3f} |")
    print("\nper repetition (plain, transferkit) whole-call seconds: "
          + ", ".join(f"({p[0]:.2f}, {t[0]:.2f})" for p, t in zip(pl, tk)))


if __name__ == "__main__":
    main()
