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

import numpy as np
import torch
from engine_overhead import alternate, print_table
from timeseries_common import machine, one_thread

from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.data.timeseries import load_ucr
from transferkit.finetune import FullFineTune


def make_model(num_classes: int):
    torch.manual_seed(0)
    return FullFineTune(backbone_lr_scale=1.0).prepare(create_backbone("fcn", num_outputs=num_classes), num_classes)


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
    plain, tk = alternate(lambda: make_model(domain.num_classes), domain, args.batch_size, args.repeats)
    print(f"# one FCN epoch, {args.data} {domain.X.shape}, batch {args.batch_size} ({steps} steps), Adam; "
          f"median of {args.repeats} alternated repetitions after a warm-up; {machine()}\n")
    print_table(plain, tk)


if __name__ == "__main__":
    main()
