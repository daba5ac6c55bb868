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

import torch
from engine_overhead import alternate, print_table, transferkit_epoch

from transferkit.backbones import create_backbone
from transferkit.data import load_mnist
from transferkit.finetune import FullFineTune


def make_model():
    """LeNet-5 with a fresh 10-class head, the same weights every call."""
    torch.manual_seed(0)
    backbone = create_backbone("lenet", num_outputs=10, widths=(6, 16), feature_dim=120, input_size=28)
    return FullFineTune(backbone_lr_scale=1.0).prepare(backbone, 10)


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
    plain, tk = alternate(make_model, domain, args.batch_size, repeats)
    print(f"One epoch, LeNet-5 28x28, 10,000 MNIST images, batch {args.batch_size} ({steps} steps), Adam, "
          f"{args.threads} thread(s); median of {repeats} alternated repetitions after a warm-up\n")
    print_table(plain, tk)
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        transferkit_epoch(make_model(), domain, args.batch_size)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
