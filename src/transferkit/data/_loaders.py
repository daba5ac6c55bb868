"""The loaders behind the data registry (:mod:`transferkit.data._kinds`).

Each takes the config's ``data`` section and the setting (``labelled_target``,
``unlabelled_target`` or ``multitask``) and returns a :class:`TransferData` (transfer settings)
or ``(train, test)`` :class:`MultiTaskDataset` (multitask). What every transfer loader shares
(caps, the target test split, shuffled source labels, partial targets) is done once in
:func:`_finish`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError
from ._base import Domain, TransferData

__all__ = [
    "load_digits", "load_mnist_usps", "load_usps_mnist", "load_mnist_usps_jda", "load_usps_mnist_jda",
    "load_mnist_m", "load_amazon", "load_text", "load_image_folder", "load_arrays",
    "load_multimnist", "load_school", "load_landmine", "load_ucr", "shift_images",
]


def shift_images(X: np.ndarray, shift: str, seed: int = 0) -> np.ndarray:
    """A deterministic domain shift of ``[N, C, H, W]`` images in [0, 1]."""
    if shift == "none":
        return X
    if shift == "translate":  # every digit moved two pixels right and one down
        return np.roll(np.roll(X, 2, axis=3), 1, axis=2)
    if shift == "invert":
        return (1.0 - X).astype(np.float32)
    if shift == "rotate":
        return np.rot90(X, 1, axes=(2, 3)).copy()
    if shift == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(0.6 * X + rng.normal(0, 0.25, X.shape), 0, 1).astype(np.float32)
    raise ConfigError(f"unknown target_shift '{shift}'")


def _select_classes(d: Domain, classes: list[int] | None, where: str) -> Domain:
    if classes is None:
        return d
    k = d.num_classes or 10
    if any(not 0 <= c < k for c in classes) or len(set(classes)) != len(classes):
        raise ConfigError(f"data.{where}: classes must be distinct in [0, {k - 1}], got {classes}")
    keep = np.isin(d.y, classes)
    remap = np.full(int(max(classes)) + 1, -1)
    remap[classes] = np.arange(len(classes))
    return Domain(d.X[keep], remap[d.y[keep]], d.name, len(classes), [str(c) for c in classes])


def _split_test(target: Domain, fraction: float, seed: int) -> tuple[Domain, Domain]:
    """Stratified hold-out of ``fraction`` of the target pool as its test split."""
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in np.unique(target.y):
        idx = np.flatnonzero(target.y == c)
        test_idx.append(rng.choice(idx, int(round(len(idx) * fraction)), replace=False))
    test = np.sort(np.concatenate(test_idx))
    pool = np.setdiff1d(np.arange(len(target)), test)
    if len(pool) == 0 or len(test) == 0:
        raise DataError(
            f"target '{target.name}' has {len(target)} samples: too few to hold out "
            f"data.test_fraction={fraction} of them for test"
        )
    return target.subset(pool, target.name), target.subset(test, target.name + "_test")


def _cap(d: Domain | None, n: int | None, seed: int) -> Domain | None:
    if d is None or n is None or len(d) <= n:
        return d
    idx = np.sort(np.random.default_rng(seed).choice(len(d), n, replace=False))
    return d.subset(idx)


def _finish(spec: Any, setting: str, source: Domain | None, target: Domain, test: Domain | None,
            modality: str) -> TransferData:
    """Caps, partial target, the test split, shuffled source labels: the same for every kind."""
    seed = spec.seed
    same = test is target
    source, target = _cap(source, spec.max_samples, seed), _cap(target, spec.max_samples, seed + 1)
    if same:
        test = target
    partial = getattr(spec, "partial_classes", None)
    if partial is not None:
        from .domains import make_partial_target

        if source is None:
            raise ConfigError("data.partial_classes needs a source domain")
        target = make_partial_target(source, target, int(partial))
        test = target if same else make_partial_target(source, test, int(partial))
    transductive = False
    if test is None:
        if setting == "unlabelled_target":
            test, transductive = target, True  # evaluated on the adapted samples themselves
        else:
            if target.y is None:
                raise DataError(f"target '{target.name}' has no labels")
            target, test = _split_test(target, spec.test_fraction, seed)
    elif same:
        transductive = True
    if spec.shuffle_source_labels:
        if source is None:
            raise ConfigError("data.shuffle_source_labels needs a source domain")
        y = np.random.default_rng(12345).permutation(np.asarray(source.y))
        source = Domain(source.X, y, source.name + "_shuffled_labels", source.num_classes, source.class_names)
    if setting == "labelled_target" and target.y is None:
        raise DataError(f"target '{target.name}' needs labels for 'compare' (few-shot fine-tuning)")
    return TransferData(source, target, test, modality, transductive=transductive)


# ------------------------------------------------------------------------------- images


def load_digits(spec: Any, setting: str) -> TransferData:
    from .digits import load_sklearn_digits

    d = load_sklearn_digits()
    perm = np.random.default_rng(0).permutation(len(d))
    half = len(d) // 2
    source = _select_classes(d.subset(np.sort(perm[:half]), "digits_source"), spec.source_classes, "source_classes")
    tgt = _select_classes(d.subset(np.sort(perm[half:]), "digits_target"), spec.target_classes, "target_classes")
    target = Domain(shift_images(tgt.X, spec.target_shift), tgt.y, f"digits_target_{spec.target_shift}",
                    tgt.num_classes, tgt.class_names)
    return _finish(spec, setting, source, target, None, "image")


def _resized(d: Domain, size: int, name: str | None = None) -> Domain:
    from .digits import resize_images

    return Domain(resize_images(d.X, size), d.y, name or d.name, d.num_classes, d.class_names)


def load_mnist_usps(spec: Any, setting: str) -> TransferData:
    """MNIST (the 10,000 offline test images) -> USPS with its official train/test split."""
    from .digits import load_mnist, load_usps

    size = spec.image_size or 28
    mnist = _resized(load_mnist(spec.root, split="test"), size)
    train, test = (_resized(load_usps(spec.root, split=s), size) for s in ("train", "test"))
    return _finish(spec, setting, mnist, train, test, "image")


def load_usps_mnist(spec: Any, setting: str) -> TransferData:
    """USPS (train + test, 9,298 images) -> MNIST (10,000 test images; a test split is held out)."""
    from .digits import load_mnist, load_usps

    size = spec.image_size or 28
    parts = [load_usps(spec.root, split=s) for s in ("train", "test")]
    usps = Domain(np.concatenate([p.X for p in parts]), np.concatenate([p.y for p in parts]), "usps_all", 10,
                  parts[0].class_names)
    return _finish(spec, setting, _resized(usps, size), _resized(load_mnist(spec.root, split="test"), size),
                   None, "image")


def _jda(spec: Any, setting: str, direction: str) -> TransferData:
    from .digits import load_mnist_usps_jda as load

    src, tgt = load(spec.root, direction)
    # the JDA protocol is transductive: the adapted target samples are the test samples
    return _finish(spec, setting, src, tgt, tgt if setting == "unlabelled_target" else None, "image")


def load_mnist_usps_jda(spec: Any, setting: str) -> TransferData:
    return _jda(spec, setting, "mnist_to_usps")


def load_usps_mnist_jda(spec: Any, setting: str) -> TransferData:
    return _jda(spec, setting, "usps_to_mnist")


def load_mnist_m(spec: Any, setting: str) -> TransferData:
    from .digits import load_mnist
    from .domains import build_mnist_m

    m = load_mnist(spec.root, "test")
    src = Domain(np.repeat(m.X[:5000], 3, axis=1), m.y[:5000], "mnist_rgb", 10, m.class_names)
    mm = build_mnist_m(m.subset(np.arange(5000, 10000)), spec.root, seed=0)
    return _finish(spec, setting, src, mm.subset(np.arange(3000), "mnist_m"),
                   mm.subset(np.arange(3000, 5000), "mnist_m_test"), "image")


def load_image_folder(spec: Any, setting: str) -> TransferData:
    from .domains import load_image_folder as load

    size = spec.image_size or 64
    source = load(spec.root, spec.source_domain, size)
    target = load(spec.root, spec.target_domain, size, classes=source.class_names)
    return _finish(spec, setting, source, target, None, "image")


# ---------------------------------------------------------------------------- features


def load_amazon(spec: Any, setting: str) -> TransferData:
    from .domains import load_amazon_reviews

    s, t = spec.source_domain, spec.target_domain
    if spec.features == "400":
        src = load_amazon_reviews(s, "all", spec.root, "400")
        tgt = load_amazon_reviews(t, "all", spec.root, "400")
        return _finish(spec, setting, src, tgt, tgt if setting == "unlabelled_target" else None, "array")
    parts = [load_amazon_reviews(d, split, spec.root) for d, split in ((s, "train"), (t, "train"), (t, "test"))]
    # binary bag-of-words presence, as Ganin et al. 2016 feed the mSDA counts
    src, tgt, test = (Domain((d.X > 0).astype(np.float32), d.y, d.name, 2, d.class_names) for d in parts)
    return _finish(spec, setting, src, tgt, test, "array")


def load_text(spec: Any, setting: str) -> TransferData:
    from .tables import load_text_domain

    target = load_text_domain(spec.target_path, spec.text_column, spec.label_column, "target")
    names = target.class_names
    source = (load_text_domain(spec.source_path, spec.text_column, spec.label_column, "source", class_names=names)
              if spec.source_path else None)
    test = (load_text_domain(spec.target_test_path, spec.text_column, spec.label_column, "target_test", class_names=names)
            if spec.target_test_path else None)
    return _finish(spec, setting, source, target, test, "text")


def load_arrays(spec: Any, setting: str) -> Any:
    from .tables import (
        load_npz_domains,
        load_npz_multitask,
        load_table_domains,
        load_table_multitask,
    )

    path = str(spec.path)
    is_npz = path.lower().endswith(".npz")
    if setting not in ("labelled_target", "unlabelled_target"):
        given = sorted({"length", "length_rule"} & spec.model_fields_set)
        if given:
            raise ConfigError(f"data.{given[0]} is read by data kind 'arrays' in compare and adapt only")
    if setting == "zeroshot":
        return _zeroshot_npz(path)
    if setting == "clustering":
        return _cluster_npz(path)
    if setting == "multitask":
        full = (load_npz_multitask(path, spec.task_names, spec.task_kinds) if is_npz else
                load_table_multitask(path, spec.task_columns, spec.task_kinds))
        return full.split(spec.test_fraction, spec.seed)
    if "length_rule" in spec.model_fields_set and spec.length is None:
        raise ConfigError("data.length_rule needs data.length for data kind 'arrays' (arrays keep "
                          "their own lengths unless a length is given)")
    if is_npz:
        source, target, test = load_npz_domains(path, need_target_labels=setting == "labelled_target",
                                                length=spec.length, length_rule=spec.length_rule)
    else:
        if spec.length is not None:
            raise ConfigError("data.length applies to series [N, C, T] in an .npz, not to a CSV/Parquet table")
        if spec.source_domain is None or spec.target_domain is None:
            raise ConfigError("a CSV/Parquet table needs data.source_domain and data.target_domain")
        source, target = load_table_domains(path, spec.source_domain, spec.target_domain,
                                            spec.domain_column, spec.label_column)
        test = None
    return _finish(spec, setting, source, target, test, "array")


# ------------------------------------------------------------------------- time series


def load_ucr(spec: Any, setting: str) -> TransferData:
    """UCR/UEA: the source set's training split -> the target set's official train/test split.

    Series are z-normalised per series; the source is resampled to the target's length
    (:mod:`transferkit.data.timeseries`). For compare, two different sets' class names are
    prefixed with the set's name (``GunPoint:1``): labels of different sets never count as
    shared. Adaptation (``unlabelled_target``) needs the two sets to declare the same labels,
    which are then taken as the same classes.
    """
    from .timeseries import load_ucr as load_split
    from .timeseries import load_ucr_pair

    if spec.source_domain is None:
        source = None
        target, test = (load_split(spec.target_domain, s, spec.root, spec.length, spec.length_rule)
                        for s in ("train", "test"))
    else:
        source, target, test = load_ucr_pair(spec.source_domain, spec.target_domain, spec.root,
                                             spec.length_rule, length=spec.length)
    if source is not None and spec.source_domain != spec.target_domain:
        if setting == "unlabelled_target":
            if list(source.class_names or []) != list(target.class_names or []):
                raise DataError(
                    f"adaptation from '{spec.source_domain}' to '{spec.target_domain}' needs the same class "
                    f"labels; source has {list(source.class_names or [])}, target {list(target.class_names or [])}"
                )
        else:
            # two data sets' labels are their own ("1" of GunPoint is not "1" of ItalyPowerDemand):
            # named per set, so compare gives pretrained strategies a new head and no source_only
            source = _qualified(source, spec.source_domain)
            target, test = _qualified(target, spec.target_domain), _qualified(test, spec.target_domain)
    return _finish(spec, setting, source, target, test, "series")


def _qualified(d: Domain, dataset: str) -> Domain:
    names = [f"{dataset}:{c}" for c in (d.class_names or range(d.num_classes or 0))]
    return Domain(d.X, d.y, d.name, d.num_classes, names)


# --------------------------------------------------------------------------- multi-task


def load_multimnist(spec: Any, setting: str):
    from . import multitask as mtd

    return mtd.load_multimnist(spec.root, n_train=spec.n_train, n_test=spec.n_test,
                               heldout_digits=spec.heldout_digits, seed=spec.seed)


def load_school(spec: Any, setting: str):
    from . import multitask as mtd

    return mtd.load_school(spec.root).split(spec.test_fraction, spec.seed)


def load_landmine(spec: Any, setting: str):
    from . import multitask as mtd

    return mtd.load_landmine(spec.root).split(spec.test_fraction, spec.seed)


# ---------------------------------------------------------------------------- zero-shot


def load_gbu(spec: Any, setting: str):
    from .zeroshot import load_gbu as load

    return load(spec.root, spec.dataset, attributes=spec.attributes, features_file=spec.features_file)


def _zeroshot_npz(path: str):
    """Zero-shot arrays: ``X [N, d]``, ``y [N]`` (class rows of ``class_embeddings``),
    ``class_embeddings [C, a]``, and 0-based sample indices ``trainval``, ``test_seen``,
    ``test_unseen`` (``train``, ``val`` for calibration); optional ``class_names``."""
    from .tables import _npz
    from .zeroshot import GBU_SPLITS, ZeroShotData

    p, arr = _npz(path)
    need = ["X", "y", "class_embeddings", "trainval", "test_seen", "test_unseen"]
    missing = [k for k in need if k not in arr]
    if missing:
        raise DataError(f"'{p}' lacks arrays {missing} (zero-shot .npz: {', '.join(need)}[, train, val]); "
                        f"it has {sorted(arr)}")
    S = np.asarray(arr["class_embeddings"], np.float64)
    names = [str(c) for c in arr["class_names"]] if "class_names" in arr else [str(i) for i in range(len(S))]
    splits = {k: np.asarray(arr[k], np.int64).reshape(-1) for k in GBU_SPLITS if k in arr}
    return ZeroShotData(np.asarray(arr["X"], np.float64), np.asarray(arr["y"], np.int64).reshape(-1), S, names,
                        splits, p.stem)


# --------------------------------------------------------------------------- clustering


@dataclass(frozen=True)
class ClusterData:
    """A target to cluster (``y``: its labels, for evaluation only) and auxiliary data ``aux``
    with the same feature columns; dense arrays or scipy sparse counts."""

    X: Any
    y: np.ndarray
    aux: Any
    name: str

    def __post_init__(self) -> None:
        if self.X.shape[0] == 0 or self.aux.shape[0] == 0:
            raise DataError(f"{self.name}: the target ({self.X.shape}) and the auxiliary data ({self.aux.shape}) "
                            "must both have rows")
        if self.X.shape[1] != self.aux.shape[1]:
            raise DataError(f"{self.name}: the target has {self.X.shape[1]} features but the auxiliary data "
                            f"{self.aux.shape[1]}; they must share their feature columns")
        if len(self.y) != self.X.shape[0]:
            raise DataError(f"{self.name}: {self.X.shape[0]} target rows but {len(self.y)} labels")


def _cluster_npz(path: str) -> ClusterData:
    from .tables import _npz

    p, arr = _npz(path)
    missing = [k for k in ("X", "y", "X_aux") if k not in arr]
    if missing:
        raise DataError(f"'{p}' lacks arrays {missing} (cluster .npz: X, y, X_aux); it has {sorted(arr)}")
    return ClusterData(np.asarray(arr["X"], np.float64), np.asarray(arr["y"]).reshape(-1),
                       np.asarray(arr["X_aux"], np.float64), p.stem)


def load_newsgroups(spec: Any, setting: str) -> ClusterData:
    """Two MALSAR 20 Newsgroups task files: the target and the auxiliary data (sparse counts)."""
    import scipy.sparse as sp
    from scipy.io import loadmat

    from .._utils import resolve_root

    base = resolve_root(spec.root, "newsgroup_malsar", "20 Newsgroups (MALSAR)")
    target = spec.target_domain or "comp.vs.sci/task1"
    aux = spec.source_domain or "comp.vs.sci/task2"
    mats = []
    for name in (target, aux):
        f = base / f"{name}.mat"
        if not f.exists():
            found = sorted(str(q.relative_to(base).with_suffix("")) for q in base.rglob("*.mat"))
            raise DataError(f"20 Newsgroups file '{name}.mat' not found under '{base}'; files: {', '.join(found)}")
        mats.append(loadmat(f))
    X = sp.csr_matrix(mats[0]["fea"], dtype=np.float64)
    y = np.asarray(mats[0]["gnd"]).reshape(-1).astype(np.int64) - 1
    return ClusterData(X, y, sp.csr_matrix(mats[1]["fea"], dtype=np.float64), f"{target} (aux {aux})")
