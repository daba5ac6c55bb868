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
    "UnlabelledSourceData", "load_bsds500",
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
            modality: str, heterogeneous: bool = False) -> TransferData:
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
    if setting == "unlabelled_target" and source is not None and source.y is not None:
        known = set(np.unique(source.y).tolist())  # an adapted model can only predict source classes
        new = sorted(set().union(*(np.unique(d.y).tolist() for d in (target, test) if d.y is not None)) - known)
        if new:
            raise DataError(f"target labels {new[:10]} never occur in the source labels {sorted(known)[:10]}: "
                            "adaptation can only predict the source's classes (a target with fewer classes "
                            "is fine: partial transfer)")
    if setting == "labelled_target" and target.y is None:
        raise DataError(f"target '{target.name}' needs labels for 'compare' (few-shot fine-tuning)")
    return TransferData(source, target, test, modality, transductive=transductive, heterogeneous=heterogeneous)


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
    if setting == "selftaught":
        return _selftaught_npz(spec)
    if setting == "multitask":
        full = (load_npz_multitask(path, spec.task_names, spec.task_kinds) if is_npz else
                load_table_multitask(path, spec.task_columns, spec.task_kinds))
        return full.split(spec.test_fraction, spec.seed)
    if "length_rule" in spec.model_fields_set and spec.length is None:
        raise ConfigError("data.length_rule needs data.length for data kind 'arrays' (arrays keep "
                          "their own lengths unless a length is given)")
    if is_npz:
        source, target, test = load_npz_domains(path, need_target_labels=setting == "labelled_target",
                                                different_features=setting == "labelled_target",
                                                length=spec.length, length_rule=spec.length_rule)
    else:
        if spec.length is not None:
            raise ConfigError("data.length applies to series [N, C, T] in an .npz, not to a CSV/Parquet table")
        if spec.source_domain is None or spec.target_domain is None:
            raise ConfigError("a CSV/Parquet table needs data.source_domain and data.target_domain")
        source, target = load_table_domains(path, spec.source_domain, spec.target_domain,
                                            spec.domain_column, spec.label_column)
        test = None
    hetero = source is not None and source.X.shape[1:] != target.X.shape[1:]
    return _finish(spec, setting, source, target, test, "array", heterogeneous=hetero)


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


# ------------------------------------------------------------------- self-taught learning


@dataclass(frozen=True)
class UnlabelledSourceData:
    """Unlabelled source images (grey 2-d arrays of any sizes, as a list or one ``[M, h, w]``
    array) and a labelled target of ``[N, C, H, W]`` images with its labelled test split."""

    source: Any
    target: Domain
    target_test: Domain
    name: str

    def __post_init__(self) -> None:
        from ._base import check_same_input_shape

        for d in (self.target, self.target_test):
            if d.y is None:
                raise DataError(f"{self.name}: target split '{d.name}' has no labels")
            if not isinstance(d.X, np.ndarray) or d.X.ndim != 4:
                raise DataError(f"{self.name}: target split '{d.name}' must hold images [N, C, H, W], got "
                                f"{getattr(d.X, 'shape', type(d.X).__name__)}")
        check_same_input_shape(self.target, self.target_test)
        if len(self.source) == 0:
            raise DataError(f"{self.name}: the unlabelled source holds no image")
        h, w = self.image_shape
        for i, im in enumerate(self.source):
            if np.ndim(im) != 2 or im.shape[0] < h or im.shape[1] < w:
                raise DataError(f"{self.name}: source image {i} has shape {np.shape(im)}; every source image must "
                                f"be a 2-d grey image at least as large as the target's {h}x{w} images")

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.target.X.shape[2]), int(self.target.X.shape[3])

    @property
    def num_classes(self) -> int:
        if self.target.num_classes is not None:
            return self.target.num_classes
        return int(max(np.max(self.target.y), np.max(self.target_test.y))) + 1


def _finish_selftaught(spec: Any, source: Any, target: Domain, test: Domain | None, name: str) -> UnlabelledSourceData:
    """The target pool and test split capped at ``max_samples`` each; a stratified test split held
    out of the target when it has none."""
    if test is None:
        target, test = _split_test(target, spec.test_fraction, spec.seed)
    target, test = _cap(target, spec.max_samples, spec.seed + 1), _cap(test, spec.max_samples, spec.seed + 2)
    return UnlabelledSourceData(source, target, test, name)


def load_bsds500(spec: Any, setting: str) -> UnlabelledSourceData:
    """The 200 BSDS500 training photographs, grey in [0, 1], unlabelled -> USPS or MNIST digits
    (Raina et al., ICML 2007, learn from natural images for handwritten characters)."""
    from .._utils import require
    from .digits import load_mnist, load_usps
    from .domains import _bsds_files

    image = require("PIL.Image", "vision")
    photos = []
    for f in _bsds_files(spec.root):
        with image.open(f) as im:
            photos.append(np.asarray(im.convert("L"), np.float64) / 255.0)
    which = spec.target_domain or "usps"
    if which == "usps":
        target, test = load_usps(spec.root, "train"), load_usps(spec.root, "test")
    elif which == "mnist":
        target, test = load_mnist(spec.root, "test"), None
    else:
        raise ConfigError(f"data.target_domain must be 'usps' or 'mnist' for data kind 'bsds500', got '{which}'")
    if spec.image_size:
        target, test = _resized(target, spec.image_size), (None if test is None else _resized(test, spec.image_size))
    return _finish_selftaught(spec, photos, target, test, f"bsds500 -> {which}")


def _image_batch(X: np.ndarray, key: str, p: Any) -> np.ndarray:
    """``[N, C, H, W]`` float32 from ``[N, C, H, W]``, ``[N, H, W]`` or square flat rows ``[N, H*W]``."""
    X = np.asarray(X, np.float32)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side != X.shape[1]:
            raise DataError(f"'{p}': {key} has flat rows of {X.shape[1]} values, not square images; save it as "
                            "[N, H, W] or [N, C, H, W] images")
        X = X.reshape(-1, 1, side, side)
    elif X.ndim == 3:
        X = X[:, None]
    elif X.ndim != 4:
        raise DataError(f"'{p}': {key} must hold images [N, H, W] or [N, C, H, W], got shape {X.shape}")
    return X


def _selftaught_npz(spec: Any) -> UnlabelledSourceData:
    """``X_source`` (unlabelled images of any size; ``y_source`` is ignored), ``X_target``,
    ``y_target`` and optionally ``X_target_test``, ``y_target_test``."""
    from .tables import _labels, _nonempty, _npz, _num_classes

    p, arr = _npz(spec.path)
    missing = [k for k in ("X_source", "X_target", "y_target") if k not in arr]
    if missing:
        raise DataError(f"'{p}' lacks arrays {missing} (selftaught .npz: X_source, X_target, y_target[, "
                        f"X_target_test, y_target_test]); it has {sorted(arr)}")
    if ("X_target_test" in arr) != ("y_target_test" in arr):
        raise DataError(f"'{p}': X_target_test and y_target_test must come together")
    _nonempty(p, arr, sorted(arr))
    Xt = _image_batch(arr["X_target"], "X_target", p)
    yt = _labels(arr["y_target"], "y_target")
    yte = _labels(arr["y_target_test"], "y_target_test") if "y_target_test" in arr else None
    k = _num_classes(yt, yte)
    target = Domain(Xt, yt, "target", k)
    test = Domain(_image_batch(arr["X_target_test"], "X_target_test", p), yte, "target_test", k) if yte is not None else None
    Xs = np.asarray(arr["X_source"], np.float64)
    if Xs.ndim == 2:  # flat rows: images of the target's size and channels
        if Xs.shape[1] != int(np.prod(Xt.shape[1:])):
            raise DataError(f"'{p}': X_source has flat rows of {Xs.shape[1]} values but the target images "
                            f"{Xt.shape[1:]} hold {int(np.prod(Xt.shape[1:]))}; save the source as [M, h, w] images")
        Xs = Xs.reshape(-1, *Xt.shape[1:])
    if Xs.ndim == 4:
        Xs = Xs.mean(axis=1)  # grey
    if Xs.ndim != 3:
        raise DataError(f"'{p}': X_source must hold images [M, h, w], [M, C, h, w] or flat rows, got shape {Xs.shape}")
    if not np.isfinite(Xs).all():
        raise DataError(f"'{p}': X_source contains NaN or inf")
    return _finish_selftaught(spec, Xs, target, test, p.stem)
