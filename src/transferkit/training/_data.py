"""Turning :class:`~transferkit.data.Domain` objects into DataLoaders, reproducibly.

Shuffling uses :class:`EpochSampler`: the order of epoch ``e`` is a pure function of
``(seed, e)``, so a run resumed from a checkpoint at an epoch boundary sees exactly the
batches the uninterrupted run saw.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from ..data._base import Domain

__all__ = ["EpochSampler", "DomainDataset", "make_loader", "encode_inputs"]


class EpochSampler(Sampler[int]):
    """A random permutation per epoch seeded by ``seed + epoch``; ``set_epoch`` is called by
    Lightning (and should be by a plain loop) before each epoch."""

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed, self.epoch = int(n), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


class DomainDataset(Dataset):
    """Samples ``(x, y)`` from tensors; ``x`` may be a dict of tensors (tokenised text)."""

    def __init__(self, X: Tensor | Mapping[str, Tensor], y: Tensor | None):
        self.X, self.y = X, y
        self.n = len(next(iter(X.values()))) if isinstance(X, Mapping) else len(X)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        x = {k: v[i] for k, v in self.X.items()} if isinstance(self.X, Mapping) else self.X[i]
        return (x, self.y[i]) if self.y is not None else x

    def __getitems__(self, idx: list[int]):  # batched fetch: one gather instead of N
        t = torch.as_tensor(idx)
        x = {k: v[t] for k, v in self.X.items()} if isinstance(self.X, Mapping) else self.X[t]
        return [(x, self.y[t])] if self.y is not None else [x]


def _collate_batched(batch):
    return batch[0]


def encode_inputs(domain: Domain, backbone=None) -> Tensor | dict[str, Tensor]:
    """Inputs as tensors: float32 arrays as-is, text through ``backbone.encode``."""
    if domain.is_text:
        encode = getattr(backbone, "encode", None)
        if encode is None:
            from ..exceptions import DataError

            raise DataError(
                f"domain '{domain.name}' holds text but the backbone has no tokenizer "
                "(encode); use a text backbone such as 'all-MiniLM-L6-v2' or 'hf/<model>'"
            )
        return encode(list(domain.X))
    arr = np.ascontiguousarray(domain.X, dtype=np.float32)
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def make_loader(
    domain: Domain,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    backbone=None,
    drop_last: bool = False,
    inputs: Tensor | Mapping[str, Tensor] | None = None,
) -> DataLoader:
    """A DataLoader over ``domain`` (labels as int64 class indices)."""
    X = inputs if inputs is not None else encode_inputs(domain, backbone)
    y = None if domain.y is None else torch.tensor(np.asarray(domain.y), dtype=torch.long)  # a copy: labels may be read-only views
    ds = DomainDataset(X, y)
    sampler = EpochSampler(len(ds), seed) if shuffle else None
    return DataLoader(
        ds, batch_size=batch_size, sampler=sampler, shuffle=False,
        drop_last=drop_last and len(ds) > batch_size, collate_fn=_collate_batched,
    )
