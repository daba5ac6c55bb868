"""Shared pieces of the adaptation benchmarks (not a benchmark itself)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from transferkit.adaptation import build_method
from transferkit.data import Domain, TransferData
from transferkit.data._kinds import load_data
from transferkit.experiments._config import AdaptData
from transferkit.training._fit import quiet_lightning
from transferkit.training.adaptation import AdaptOptimConfig, fit_adaptation


def registry_pair(kind: str, **keys) -> TransferData:
    """A standard pair from the data registry (what ``transferkit adapt`` reads for
    ``data: {kind: ..., **keys}``): labelled source, unlabelled target, target test split."""
    return load_data(AdaptData(kind=kind, **keys), "adapt")


@torch.no_grad()
def accuracy(model, d: Domain, bs: int = 1024) -> float:
    model.eval()
    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float32))
    pred = torch.cat([model(X[i : i + bs]).argmax(1) for i in range(0, len(X), bs)])
    model.train()
    return float((pred.numpy() == np.asarray(d.y)).mean())


def train_one(method: str, src: Domain, tgt: Domain, make_backbone, *, epochs: int, batch_size: int,
              seed: int, num_classes: int, params: dict | None = None,
              optim: AdaptOptimConfig | None = None) -> tuple[torch.nn.Module, float]:
    """Train one method and return the trained backbone and the training time in seconds;
    ``target_only`` trains on the labelled target (upper bound)."""
    quiet_lightning()
    torch.manual_seed(seed)
    bb = make_backbone()
    if method == "target_only":
        src_used, name = tgt, "source_only"
    else:
        src_used, name = src, method
    m = build_method(name, bb.feature_dim, num_classes, **(params or {}))
    t = time.perf_counter()
    fit_adaptation(bb, m, src_used, tgt, epochs=epochs, batch_size=batch_size, seed=seed,
                   optim=optim or AdaptOptimConfig(), evaluate_every_epoch=False)
    return bb, time.perf_counter() - t


def run_one(method: str, src: Domain, tgt: Domain, tgt_test: Domain, make_backbone, *, epochs: int,
            batch_size: int, seed: int, num_classes: int, params: dict | None = None,
            optim: AdaptOptimConfig | None = None) -> tuple[float, float]:
    """Train one method (see :func:`train_one`); return target-test accuracy and seconds."""
    bb, seconds = train_one(method, src, tgt, make_backbone, epochs=epochs, batch_size=batch_size,
                            seed=seed, num_classes=num_classes, params=params, optim=optim)
    return accuracy(bb, tgt_test), seconds


@torch.no_grad()
def features_and_probs(model, d: Domain, bs: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Backbone features and softmax outputs on ``d`` (eval mode), as numpy arrays."""
    model.eval()
    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float32))
    feats = torch.cat([model.features(X[i : i + bs]) for i in range(0, len(X), bs)])
    probs = torch.cat([model.head(feats[i : i + bs]).softmax(1) for i in range(0, len(feats), bs)])
    model.train()
    return feats.numpy(), probs.numpy()


def mean_sd(values: list[float]) -> str:
    m = 100 * statistics.mean(values)
    sd = 100 * statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.1f} ± {sd:.1f}"
