"""One epoch through transferkit's ``fit_finetune`` against the same epoch as a plain PyTorch loop.

Shared by ``finetune_overhead.py`` (LeNet-5 on MNIST) and ``timeseries_speed.py`` (FCN on a UCR
set): both time the same model, data, batch size and optimiser (Adam, lr 1e-3, every parameter)
both ways, alternating in one process after a warm-up of each, so that machine load hits both
alike. Each timing is ``(whole call, training loop only, process CPU time of the whole call)``
in seconds: the whole call is what a user waits for (loader and Trainer set-up included); the
loop alone is ``FitResult.train_seconds`` for transferkit (``Trainer.fit``) and the ``for`` loop
for the plain version.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from transferkit.finetune import FullFineTune
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune

Timing = tuple[float, float, float]


def transferkit_epoch(model: torch.nn.Module, domain, batch_size: int) -> Timing:
    """``fit_finetune`` for one epoch: no validation split, no checkpointing, no logger."""
    t, c = time.perf_counter(), time.process_time()
    fit = fit_finetune(model, FullFineTune(backbone_lr_scale=1.0), domain, None,
                       TrainerConfig(max_epochs=1, batch_size=batch_size, patience=0, accelerator="cpu"),
                       OptimConfig(name="adam", lr=1e-3), seed=0)
    return time.perf_counter() - t, fit.train_seconds, time.process_time() - c


def plain_epoch(model: torch.nn.Module, domain, batch_size: int) -> Timing:
    """``DataLoader(TensorDataset(X, y), shuffle=True)``, features -> head -> cross-entropy -> step."""
    t, c = time.perf_counter(), time.process_time()
    loader = DataLoader(TensorDataset(torch.from_numpy(domain.X), torch.as_tensor(domain.y).long()),
                        batch_size=batch_size, shuffle=True)
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


def alternate(make_model: Callable[[], torch.nn.Module], domain, batch_size: int,
              repeats: int) -> tuple[list[Timing], list[Timing]]:
    """A warm-up of each, then plain and transferkit alternated ``repeats`` times, each on a fresh
    model from ``make_model`` (the same seed, so the same weights); returns (plain, transferkit)."""
    plain_epoch(make_model(), domain, batch_size)
    transferkit_epoch(make_model(), domain, batch_size)
    plain, tk = [], []
    for _ in range(repeats):
        plain.append(plain_epoch(make_model(), domain, batch_size))
        tk.append(transferkit_epoch(make_model(), domain, batch_size))
    return plain, tk


def print_table(plain: list[Timing], tk: list[Timing]) -> None:
    """Medians of the three timings both ways and their ratio, then the per-repetition times."""
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    print("| | plain PyTorch (s) | transferkit fit_finetune (s) | ratio transferkit / plain |")
    print("|---|---|---|---|")
    for i, row in enumerate(("whole call (set-up + epoch)", "training loop only",
                             "whole call, process CPU time")):
        print(f"| {row} | {med(plain, i):.3f} | {med(tk, i):.3f} | {med(tk, i) / med(plain, i):.3f} |")
    print("\nper repetition (plain, transferkit) whole-call seconds: "
          + ", ".join(f"({p[0]:.2f}, {t[0]:.2f})" for p, t in zip(plain, tk)))
    print("per repetition (plain, transferkit) whole-call CPU seconds: "
          + ", ".join(f"({p[2]:.2f}, {t[2]:.2f})" for p, t in zip(plain, tk)))
