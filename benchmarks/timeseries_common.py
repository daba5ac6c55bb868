"""Shared pieces of the time-series benchmarks: training through transferkit's engine,
test accuracy with per-series correctness, and verdicts against a baseline."""

from __future__ import annotations

import platform
import time

import numpy as np
import torch

import transferkit as tk
from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.experiments._verdicts import compare_to_baseline
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune


def one_thread() -> None:
    """One thread: the benchmarks ran on a shared 2-core machine where more threads oversubscribe."""
    torch.set_num_threads(1)


def batch_size_for(n: int) -> int:
    """Wang et al. (2017) train with batch size min(N_train / 10, 16); at least 2 for batch norm."""
    return int(max(2, min(n // 10, 16)))


def make_fcn(in_channels: int, num_outputs: int, seed: int, name: str = "fcn"):
    torch.manual_seed(seed)
    return create_backbone(name, in_channels=in_channels, num_outputs=num_outputs)


def train(model, strategy_name: str, train_domain: Domain, epochs: int, seed: int, lr: float = 1e-3,
          batch_size: int | None = None):
    """``epochs`` of Adam through ``fit_finetune`` (no validation split: the last epoch's model)."""
    strategy = tk.create("finetune", strategy_name)
    model = strategy.prepare(model, train_domain.num_classes)
    bs = batch_size or batch_size_for(len(train_domain))
    fit = fit_finetune(model, strategy, train_domain, None,
                       TrainerConfig(max_epochs=epochs, batch_size=bs, patience=0, accelerator="cpu"),
                       OptimConfig(name="adam", lr=lr), seed=seed)
    return fit.model, fit.train_seconds


@torch.no_grad()
def correct(model, domain: Domain, batch: int = 256) -> np.ndarray:
    """1/0 correctness of each test series (eval mode)."""
    model.eval()
    x = torch.from_numpy(domain.X)
    pred = torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return (pred.numpy() == np.asarray(domain.y)).astype(np.float64)


def verdict(method: dict[int, np.ndarray], baseline: dict[int, np.ndarray], n_comparisons: int = 1) -> str:
    """The library's verdict (correlated t-test with a ROPE of one accuracy point, per-series
    correctness as the test-set noise) of ``method`` against ``baseline``, seed -> correctness."""
    v = compare_to_baseline({s: float(c.mean()) for s, c in method.items()},
                            {s: float(c.mean()) for s, c in baseline.items()},
                            method_samples=method, baseline_samples=baseline, n_comparisons=n_comparisons)
    return v.verdict


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s), "
            f"torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
