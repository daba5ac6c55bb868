"""Multi-task data: MultiMNIST, School, Landmine and generic arrays with one label column per task.

A :class:`MultiTaskDataset` holds inputs ``X [N, ...]`` and one target array per task; a
missing label is ``NaN`` (float targets) or ``-1`` (integer class targets), which the masked
losses of :mod:`transferkit.multitask` skip. School and Landmine are "one task per group"
problems: each sample is labelled for its own task only (the other columns are missing), and
``task_index`` says which.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._utils import resolve_root
from ..exceptions import DataError

__all__ = [
    "MultiTaskDataset",
    "from_arrays",
    "load_landmine",
    "load_multimnist",
    "load_school",
    "make_gradnorm_toy",
    "make_multimnist",
]


@dataclass(frozen=True)
class MultiTaskDataset:
    """Inputs ``X`` and ``targets[name]`` (``[N]`` or ``[N, K]``) for each task.

    ``kinds[name]`` is the :class:`~transferkit.multitask.Task` kind of each task and
    ``num_outputs[name]`` its head size; ``task_index`` (optional, ``[N]``) marks the task a
    sample belongs to for group-wise data sets.
    """

    X: np.ndarray
    targets: dict[str, np.ndarray]
    kinds: dict[str, str]
    num_outputs: dict[str, int]
    name: str
    task_index: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        n = len(self.X)
        if n == 0:
            raise DataError(f"multi-task data '{self.name}' is empty")
        if self.X.dtype.kind == "f" and not np.isfinite(self.X).all():
            raise DataError(f"multi-task data '{self.name}': inputs contain NaN or inf")
        if not self.targets:
            raise DataError(f"multi-task data '{self.name}' has no task targets")
        for key, y in self.targets.items():
            if len(y) != n:
                raise DataError(
                    f"multi-task data '{self.name}': {n} inputs but task '{key}' has {len(y)} labels"
                )
            if key not in self.kinds or key not in self.num_outputs:
                raise DataError(f"multi-task data '{self.name}': task '{key}' lacks a kind or size")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def task_names(self) -> list[str]:
        return list(self.targets)

    def subset(self, idx: np.ndarray, name: str | None = None) -> MultiTaskDataset:
        return MultiTaskDataset(
            self.X[idx],
            {k: v[idx] for k, v in self.targets.items()},
            dict(self.kinds),
            dict(self.num_outputs),
            name or self.name,
            None if self.task_index is None else self.task_index[idx],
        )

    def split(self, test_fraction: float, seed: int) -> tuple[MultiTaskDataset, MultiTaskDataset]:
        """Random train/test split (stratified by ``task_index`` when present)."""
        if not 0.0 < test_fraction < 1.0:
            raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
        rng = np.random.default_rng(seed)
        groups = self.task_index if self.task_index is not None else np.zeros(len(self), int)
        test = []
        for g in np.unique(groups):
            idx = np.flatnonzero(groups == g)
            rng.shuffle(idx)
            test.append(idx[: max(1, int(round(test_fraction * len(idx))))])
        mask = np.zeros(len(self), bool)
        mask[np.concatenate(test)] = True
        return (
            self.subset(np.flatnonzero(~mask), f"{self.name}_train"),
            self.subset(np.flatnonzero(mask), f"{self.name}_test"),
        )


def make_multimnist(
    images: np.ndarray, labels: np.ndarray, n_samples: int, seed: int, size: int = 28
) -> MultiTaskDataset:
    """MultiMNIST of Sener & Koltun (NeurIPS 2018, Sec. 6.1) from any digit images.

    Two digits drawn at random are put on a 36x36 canvas, the left one at the top-left
    (rows/cols 0-27), the right one at the bottom-right (rows/cols 8-35), combined by the
    pixel-wise maximum and resized to ``size`` x ``size``. Tasks ``left`` and ``right`` classify
    the two digits. Reproducible: the same ``seed`` gives the same images.
    """
    from .digits import resize_images

    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[:, None]
    if images.shape[1:] != (1, 28, 28):
        raise DataError(f"MultiMNIST needs [N, 1, 28, 28] digit images, got {images.shape}")
    if len(images) != len(labels):
        raise DataError(f"{len(images)} images but {len(labels)} labels")
    if n_samples <= 0:
        raise DataError(f"n_samples must be > 0, got {n_samples}")
    rng = np.random.default_rng(seed)
    left = rng.integers(0, len(images), n_samples)
    right = rng.integers(0, len(images), n_samples)
    canvas = np.zeros((n_samples, 1, 36, 36), np.float32)
    canvas[:, :, :28, :28] = images[left]
    canvas[:, :, 8:, 8:] = np.maximum(canvas[:, :, 8:, 8:], images[right])
    X = resize_images(canvas, size)
    y = {"left": np.asarray(labels)[left].astype(np.int64), "right": np.asarray(labels)[right].astype(np.int64)}
    return MultiTaskDataset(
        X, y, {"left": "classification", "right": "classification"}, {"left": 10, "right": 10}, "multimnist"
    )


def make_gradnorm_toy(
    sigmas: Sequence[float],
    n_samples: int = 1000,
    seed: int = 0,
    in_dim: int = 250,
    out_dim: int = 100,
    b_var: float = 10.0,
    eps_var: float = 3.5,
):
    """Regression toy problem of Chen et al. (GradNorm, ICML 2018, Sec. 4).

    Task ``i`` regresses ``f_i(x) = sigma_i tanh((B + eps_i) x)`` (element-wise tanh) from
    ``x ~ N(0, I_in_dim)``; ``B`` (shared) and ``eps_i`` (task-specific) are ``[out_dim, in_dim]``
    with i.i.d. entries ``N(0, b_var)`` and ``N(0, eps_var)`` (the paper's N(0, 10) and N(0, 3.5),
    read as variances). Returns torch tensors ``(x [n, in_dim], [y_i [n, out_dim]])``; the same
    ``seed`` gives the same problem.
    """
    import torch

    if n_samples <= 0:
        raise DataError(f"n_samples must be > 0, got {n_samples}")
    if not sigmas or any(float(s) <= 0 for s in sigmas):
        raise DataError(f"sigmas must be a non-empty list of positive scales, got {list(sigmas)}")
    if b_var < 0 or eps_var < 0:
        raise DataError(f"b_var and eps_var must be >= 0, got {b_var} and {eps_var}")
    g = torch.Generator().manual_seed(int(seed))
    B = torch.randn(out_dim, in_dim, generator=g) * float(np.sqrt(b_var))
    x = torch.randn(n_samples, in_dim, generator=g)
    ys = []
    for s in sigmas:
        eps = torch.randn(out_dim, in_dim, generator=g) * float(np.sqrt(eps_var))
        ys.append(float(s) * torch.tanh(x @ (B + eps).T))
    return x, ys


def load_multimnist(
    root: str | os.PathLike | None = None,
    n_train: int = 8000,
    n_test: int = 2000,
    heldout_digits: int = 2000,
    seed: int = 0,
    split: str = "test",
) -> tuple[MultiTaskDataset, MultiTaskDataset]:
    """``(train, test)`` MultiMNIST built from MNIST under ``root``.

    Offline only the 10,000 MNIST *test* images exist (the shared copy lacks the training
    images), so by default composites come from them: the last ``heldout_digits`` source images
    (after a seeded shuffle) build the ``n_test`` test composites, the others the ``n_train``
    training composites, so no test digit image is ever seen in training. Sener & Koltun used
    the 60k training images; pass ``split="train"`` where they exist.
    """
    from .digits import load_mnist

    dom = load_mnist(root, split)
    X, y = np.asarray(dom.X), np.asarray(dom.y)
    if not 0 < heldout_digits < len(X):
        raise DataError(f"heldout_digits must be in (0, {len(X)}), got {heldout_digits}")
    perm = np.random.default_rng(seed).permutation(len(X))
    tr, te = perm[:-heldout_digits], perm[-heldout_digits:]
    train = make_multimnist(X[tr], y[tr], n_train, seed + 1)
    test = make_multimnist(X[te], y[te], n_test, seed + 2)
    return (
        MultiTaskDataset(train.X, train.targets, train.kinds, train.num_outputs, "multimnist_train"),
        MultiTaskDataset(test.X, test.targets, test.kinds, test.num_outputs, "multimnist_test"),
    )


def _grouped(Xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], kind: str, prefix: str, name: str, dtype) -> MultiTaskDataset:
    T = len(Xs)
    X = np.concatenate([np.asarray(x, np.float32) for x in Xs])
    task_index = np.concatenate([np.full(len(x), t) for t, x in enumerate(Xs)])
    targets = {}
    for t in range(T):
        col = np.full(len(X), np.nan if dtype == np.float32 else -1, dtype)
        col[task_index == t] = np.asarray(ys[t]).reshape(-1).astype(dtype)
        targets[f"{prefix}{t + 1}"] = col
    out = 1 if kind == "regression" else 2
    return MultiTaskDataset(
        X, targets, dict.fromkeys(targets, kind), dict.fromkeys(targets, out), name, task_index
    )


def _load_mat(root: str | os.PathLike | None, subdir: str, filename: str, what: str) -> dict:
    """``scipy.io.loadmat`` of ``<root>/<subdir>/<filename>``, or a DataError naming the path."""
    from scipy.io import loadmat

    base = resolve_root(root, subdir, what)
    path = base / filename
    if not path.exists():
        raise DataError(f"{what} file '{filename}' not found under '{base}'")
    return loadmat(path)


def load_school(root: str | os.PathLike | None = None) -> MultiTaskDataset:
    """School exam scores (MALSAR ``school/school.mat``): 139 regression tasks, 15,362 students.

    Inputs are the 28 columns of ``X{t}`` (27 binary attributes and a bias); task ``school<t>``
    regresses the exam score (1-70) of the students of school ``t`` (NaN elsewhere).
    """
    d = _load_mat(root, "school", "school.mat", "School")
    Xs, ys = list(d["X"].ravel()), list(d["Y"].ravel())
    return _grouped(Xs, ys, "regression", "school", "school", np.float32)


def load_landmine(root: str | os.PathLike | None = None) -> MultiTaskDataset:
    """Landmine detection (``landmine/LandmineData.mat``): 29 binary tasks, 14,820 samples.

    Task ``field<t>`` classifies the 9-dimensional features of landmine field ``t`` (0/1 labels,
    -1 elsewhere); fields 1-15 are foliated, 16-29 bare earth or desert.
    """
    d = _load_mat(root, "landmine", "LandmineData.mat", "Landmine")
    Xs, ys = list(d["feature"].ravel()), list(d["label"].ravel())
    return _grouped(Xs, ys, "classification", "field", "landmine", np.int64)


def from_arrays(
    X: np.ndarray,
    Y: np.ndarray,
    task_names: Sequence[str] | None = None,
    kinds: Sequence[str] | str = "regression",
    name: str = "arrays",
) -> MultiTaskDataset:
    """Generic data: inputs ``X [N, ...]`` and ``Y [N, T]`` with one label column per task.

    Missing labels are ``NaN``; classification columns hold class ids (``NaN`` or ``-1``
    missing) and get ``max + 1`` outputs; a ``binary`` column is a classification column whose
    labels are 0 and 1 (two outputs).
    """
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    T = Y.shape[1]
    names = list(task_names) if task_names is not None else [f"task{t}" for t in range(T)]
    if len(names) != T:
        raise DataError(f"{T} label columns but {len(names)} task names (data.task_names)")
    ks = [kinds] * T if isinstance(kinds, str) else list(kinds)
    if len(ks) != T:
        raise DataError(f"{T} label columns but {len(ks)} task kinds (data.task_kinds)")
    targets, outs = {}, {}
    for t, (n, k) in enumerate(zip(names, ks)):
        col = Y[:, t].astype(np.float64)
        if k == "binary":
            bad = sorted(set(np.unique(col[np.isfinite(col) & (col != -1)]).tolist()) - {0.0, 1.0})
            if bad:
                raise DataError(f"binary task '{n}' has labels other than 0 and 1 (e.g. {bad[:3]}); "
                                "use the kind 'classification' for class ids")
            ks[t] = k = "classification"
            outs[n] = 2
        if k == "classification":
            col = np.where(np.isfinite(col), col, -1).astype(np.int64)
            if (col >= 0).sum() == 0:
                raise DataError(f"task '{n}' has no labelled sample")
            outs[n] = max(outs.get(n, 0), int(col.max()) + 1)
            targets[n] = col
        else:
            outs[n] = 1
            targets[n] = col.astype(np.float32)
    return MultiTaskDataset(np.asarray(X, np.float32), targets, dict(zip(names, ks)), outs, name)
