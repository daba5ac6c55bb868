"""Containers for labelled domains and their validation.

A :class:`Domain` holds inputs and (optional) labels of one domain: a float array
``[N, ...]`` for images and tables, or a list of strings for text. Constructing one checks
what a user gets wrong most often: empty splits, NaN, labels outside ``num_classes``,
inputs and labels of different lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import DataError

__all__ = ["Domain", "TransferData", "check_same_input_shape", "few_shot_indices"]


@dataclass(frozen=True)
class Domain:
    """One domain's inputs ``X`` (array ``[N, ...]`` or list of str) and labels ``y`` (``[N]``)."""

    X: np.ndarray | list[str]
    y: np.ndarray | None
    name: str
    num_classes: int | None = None
    class_names: Sequence[str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        n = len(self.X)
        if n == 0:
            raise DataError(f"domain '{self.name}' is empty: it has no samples")
        if isinstance(self.X, np.ndarray):
            if self.X.dtype.kind == "f" and not np.isfinite(self.X).all():
                bad = int((~np.isfinite(self.X)).reshape(n, -1).any(1).sum())
                raise DataError(f"domain '{self.name}': {bad} of {n} inputs contain NaN or inf")
        if self.y is not None:
            y = np.asarray(self.y)
            if y.shape[0] != n:
                raise DataError(
                    f"domain '{self.name}': {n} inputs but {y.shape[0]} labels; they must match"
                )
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                raise DataError(f"domain '{self.name}': labels contain NaN or inf")
            if self.num_classes is not None and y.dtype.kind in "iu":
                lo, hi = int(y.min()), int(y.max())
                if lo < 0 or hi >= self.num_classes:
                    raise DataError(
                        f"domain '{self.name}': labels must lie in [0, {self.num_classes - 1}] "
                        f"for {self.num_classes} classes, found values in [{lo}, {hi}]"
                    )

    def __len__(self) -> int:
        return len(self.X)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:]) if isinstance(self.X, np.ndarray) else ()

    @property
    def is_text(self) -> bool:
        return not isinstance(self.X, np.ndarray)

    def subset(self, idx: np.ndarray, name: str | None = None) -> Domain:
        X = self.X[idx] if isinstance(self.X, np.ndarray) else [self.X[i] for i in idx]
        y = None if self.y is None else np.asarray(self.y)[idx]
        return Domain(X, y, name or self.name, self.num_classes, self.class_names)

    def without_labels(self) -> Domain:
        return Domain(self.X, None, self.name, self.num_classes, self.class_names)


def check_same_input_shape(a: Domain, b: Domain) -> None:
    """Raise if two domains' inputs cannot feed the same network."""
    if a.is_text != b.is_text:
        raise DataError(f"domain '{a.name}' and domain '{b.name}' mix text and array inputs")
    if a.input_shape != b.input_shape:
        raise DataError(
            f"input shapes differ: domain '{a.name}' has {a.input_shape} per sample, "
            f"domain '{b.name}' has {b.input_shape}; source and target must match"
        )


@dataclass(frozen=True)
class TransferData:
    """A source domain, a target domain and a held-out target test split.

    ``source`` may be ``None`` when the backbone is already pretrained (ImageNet, a text
    encoder) and no source stage is wanted.
    """

    source: Domain | None
    target: Domain
    target_test: Domain
    modality: str = "array"  # "image", "tabular", "text" or "array"
    #: the test samples are the (unlabelled) target samples used in training
    transductive: bool = False
    #: source and target have different features (heterogeneous transfer; compare's
    #: heterogeneous methods only)
    heterogeneous: bool = False

    def __post_init__(self) -> None:
        if self.target_test.y is None:
            raise DataError(f"target test split '{self.target_test.name}' has no labels")
        check_same_input_shape(self.target, self.target_test)
        if self.source is not None:
            if self.source.y is None:
                raise DataError(f"source domain '{self.source.name}' has no labels")
            if not self.heterogeneous:
                check_same_input_shape(self.source, self.target)

    @property
    def num_classes(self) -> int:
        if self.target.num_classes is not None:
            return self.target.num_classes
        ys = [y for y in (self.target.y, self.target_test.y) if y is not None]
        return int(max(np.max(y) for y in ys)) + 1

    @property
    def source_num_classes(self) -> int:
        if self.source is None:
            return 0
        if self.source.num_classes is not None:
            return self.source.num_classes
        return int(np.max(self.source.y)) + 1


def few_shot_indices(
    y: np.ndarray, per_class: int, seed: int, exclude: np.ndarray | None = None
) -> np.ndarray:
    """``per_class`` indices of each class drawn without replacement, reproducibly by ``seed``."""
    if per_class <= 0:
        raise DataError(f"labels per class must be > 0, got {per_class}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    taken = np.zeros(len(y), bool)
    if exclude is not None:
        taken[exclude] = True
    out = []
    for c in np.unique(y):
        pool = np.flatnonzero((y == c) & ~taken)
        if len(pool) < per_class:
            raise DataError(
                f"class {c} has only {len(pool)} samples available, fewer than the "
                f"{per_class} labels per class requested"
            )
        out.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(out))
