"""The cost of LoRA on the recurrent backbone: one training step (forward, backward, Adam) of
the ``rnn`` backbone (2-layer LSTM or GRU, 128 units) fine-tuned in full, with LoRA
(``finetune._lora_rnn``'s low-rank parametrisation of every weight matrix), and as a linear
probe (frozen encoder), on the same batch, alternated, median of ``--repeats``.

    python benchmarks/timeseries_lora_rnn_speed.py [--cell lstm] [--batch 16] [--length 150]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from timeseries_common import machine, one_thread

import transferkit as tk
from transferkit.backbones import create_backbone


def step_seconds(strategy_name: str, cell: str, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    torch.manual_seed(0)
    model = create_backbone("rnn", cell=cell, in_channels=x.shape[1], num_outputs=0)
    strategy = tk.create("finetune", strategy_name)
    model = strategy.prepare(model, num_classes=int(y.max()) + 1)
    model.train()
    opt = torch.optim.Adam(strategy.param_groups(model, lr=1e-3), lr=1e-3)
    for i in range(steps + 1):
        if i == 1:  # the first step is a warm-up
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=150)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    one_thread()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 1, args.length, generator=g)
    y = torch.arange(args.batch) % 3
    strategies = ["full", "lora", "linear_probe"]
    times: dict[str, list[float]] = {s: [] for s in strategies}
    for _ in range(args.repeats):
        for s in strategies:
            times[s].append(step_seconds(s, args.cell, x, y, args.steps))
    print(f"# rnn ({args.cell}, 2 layers x 128), batch {args.batch}, length {args.length}, "
          f"{args.steps} Adam steps per repetition, median of {args.repeats} alternated repetitions; {machine()}\n")
    print("| strategy | s / step (median) | ratio to full |")
    print("|---|---|---|")
    full = statistics.median(times["full"])
    for s in strategies:
        med = statistics.median(times[s])
        print(f"| {s} | {med:.4f} | {med / full:.2f} |")


if __name__ == "__main__":
    main()
