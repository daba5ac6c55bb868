"""Overhead of transferkit's fine-tuning engine: one epoch through ``fit_finetune`` vs a plain loop.

Same model (LeNet-5: conv 6 / conv 16 / fc 120, on 28x28 inputs), same data (the 10,000 MNIST
test images, the only MNIST images offline), batch size 64, Adam (lr 1e-3) over every parameter,
the same number of steps (157), the same thread count. transferkit runs
``fit_finetune(model, FullFineTune(backbone_lr_scale=1.0), train, None, TrainerConfig(max_epochs=1,
batch_size=64, patience=0, accelerator="cpu"), ...)``: no validation split, no checkpoint
directory (so no checkpointing), Lightning's logger and progress bar off (as fit_finetune sets
them). The plain loop uses ``DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)`` and
``features -> head -> cross_entropy -> backward -> step``.

After one warm-up of each, the two alternate ``--repeats`` times in this one process (so machine
load hits both alike). Reported: the median wall time of the whole call (what a user waits for:
loader and Trainer set-up included) and of the training loop alone (``FitResult.train_seconds``,
i.e. ``Trainer.fit``), and the ratio transferkit / plain. The process's CPU time of the whole
call (``time.process_time``, every thread of this process) is reported too: on a machine
shared with other jobs, waiting for a core inflates wall times but hardly CPU times, so the CPU
ratio is the steadier estimate of the engine's overhead there.

    python benchmarks/finetune_overhead.py [--repeats 5] [--threads 1] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from transferkit.backbones import create_backbone
from transferkit.data import load_mnist
from transferkit.finetune import FullFineTune
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune


def make_model(seed: int = 0):
    torch.manual_seed(seed)
    return create_backbone("lenet", num_outputs=10, widths=(6, 16), feature_dim=120, input_size=28)


def run_transferkit(domain, bs: int) -> tuple[float, float, float]:
    model = make_model()
    strategy = FullFineTune(backbone_lr_scale=1.0)
    model = strategy.prepare(model, 10)
    t, c = time.perf_counter(), time.process_time()
    fit = fit_finetune(model, strategy, domain, None,
                       TrainerConfig(max_epochs=1, batch_size=bs, patience=0, accelerator="cpu"),
                       OptimConfig(name="adam", lr=1e-3), seed=0)
    return time.perf_counter() - t, fit.train_seconds, time.process_time() - c


def run_plain(domain, bs: int) -> tuple[float, float, float]:
    model = make_model()
    model = FullFineTune(backbone_lr_scale=1.0).prepare(model, 10)  # same fresh head as above
    t, c = time.perf_counter(), time.process_time()
    X = torch.from_numpy(domain.X)
    y = torch.as_tensor(domain.y).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=bs, shuffle=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    t_loop = time.perf_counter()
    for xb, yb in loader:
        loss = F.cross_entropy(model.head(model.features(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    end = time.perf_counter()
    return end - t, end - t_loop, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="cProfile one transferkit epoch (top 25)")
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else args.repeats
    domain = load_mnist(None, "test")
    steps = -(-len(domain) // args.batch_size)
    run_plain(domain, args.batch_size)  # warm-up
    run_transferkit(domain, args.batch_size)
    tk, pl = [], []
    for _ in range(repeats):
        pl.append(run_plain(domain, args.batch_size))
        tk.append(run_transferkit(domain, args.batch_size))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    print(f"One epoch, LeNet-5 28x28, 10,000 MNIST images, batch {args.batch_size} ({steps} steps), Adam, "
          f"{args.threads} thread(s); median of {repeats} alternated repetitions after a warm-up\n")
    print("| | plain PyTorch (s) | transferkit fit_finetune (s) | ratio transferkit / plain |")
    print("|---|---|---|---|")
    print(f"| whole call (set-up + epoch) | {med(pl, 0):.3f} | {med(tk, 0):.3f} | {med(tk, 0) / med(pl, 0):.3f} |")
    print(f"| training loop only | {med(pl, 1):.3f} | {med(tk, 1):.3f} | {med(tk, 1) / med(pl, 1):.3f} |")
    print(f"| whole call, process CPU time | {med(pl, 2):.3f} | {med(tk, 2):.3f} | {med(tk, 2) / med(pl, 2):.3f} |")
    print("\nper repetition (plain, transferkit) whole-call seconds: "
          + ", ".join(f"({p[0]:.2f}, {t[0]:.2f})" for p, t in zip(pl, tk)))
    print("per repetition (plain, transferkit) whole-call CPU seconds: "
          + ", ".join(f"({p[2]:.2f}, {t[2]:.2f})" for p, t in zip(pl, tk)))
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        run_transferkit(domain, args.batch_size)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
