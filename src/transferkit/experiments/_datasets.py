"""Building a :class:`~transferkit.data.TransferData` from the ``data`` section of a config."""

from __future__ import annotations

import numpy as np

from ..data._base import Domain, TransferData
from ..data.digits import load_mnist, load_sklearn_digits, load_usps, resize_images
from ..data.tables import load_npz_domains, load_table_domains, load_text_domain
from ..exceptions import ConfigError, DataError
from ._config import DataSpec

__all__ = ["build_transfer_data", "shift_images"]


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
    bad = [c for c in classes if not 0 <= c < (d.num_classes or 10)]
    if bad or len(set(classes)) != len(classes):
        raise ConfigError(f"data.{where}: classes must be distinct in [0, {(d.num_classes or 10) - 1}], got {classes}")
    keep = np.isin(d.y, classes)
    remap = np.full(int(max(classes)) + 1, -1)
    remap[classes] = np.arange(len(classes))
    return Domain(d.X[keep], remap[d.y[keep]], d.name, len(classes), [str(c) for c in classes])


def _split_test(target: Domain, fraction: float, seed: int = 0) -> tuple[Domain, Domain]:
    """Stratified hold-out of ``fraction`` of the target pool as its test split."""
    if not 0 < fraction < 1:
        raise ConfigError(f"data.test_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in np.unique(target.y):
        idx = np.flatnonzero(target.y == c)
        test_idx.append(rng.choice(idx, int(round(len(idx) * fraction)), replace=False))
    test = np.sort(np.concatenate(test_idx))
    pool = np.setdiff1d(np.arange(len(target)), test)
    return target.subset(pool, target.name), target.subset(test, target.name + "_test")


def _cap(d: Domain | None, n: int | None, seed: int = 0) -> Domain | None:
    if d is None or n is None or len(d) <= n:
        return d
    idx = np.sort(np.random.default_rng(seed).choice(len(d), n, replace=False))
    return d.subset(idx)


def build_transfer_data(spec: DataSpec) -> TransferData:
    """Load and split the data a config describes; every failure names what is wrong."""
    source: Domain | None
    test: Domain | None = None
    modality = "image"
    if spec.kind == "digits":
        d = load_sklearn_digits()
        perm = np.random.default_rng(0).permutation(len(d))
        half = len(d) // 2
        source = _select_classes(d.subset(np.sort(perm[:half]), "digits_source"), spec.source_classes, "source_classes")
        tgt = _select_classes(d.subset(np.sort(perm[half:]), "digits_target"), spec.target_classes, "target_classes")
        target = Domain(shift_images(tgt.X, spec.target_shift), tgt.y, f"digits_target_{spec.target_shift}", tgt.num_classes, tgt.class_names)
    elif spec.kind in ("mnist_usps", "usps_mnist"):
        # MNIST: the 10,000 test images (all that exists offline). USPS: upscaled to 28x28;
        # as a target its official split is kept (few-shot pool = train, test = test).
        mnist = load_mnist(spec.root, split="test")
        usps_train, usps_test = (
            Domain(resize_images(d.X, 28), d.y, d.name, 10, d.class_names)
            for d in (load_usps(spec.root, split="train"), load_usps(spec.root, split="test"))
        )
        if spec.kind == "mnist_usps":
            source, target, test = mnist, usps_train, usps_test
        else:
            usps_all = Domain(np.concatenate([usps_train.X, usps_test.X]), np.concatenate([usps_train.y, usps_test.y]), "usps_all", 10, usps_train.class_names)
            source, target = usps_all, mnist
    elif spec.kind == "arrays":
        if spec.path is None:
            raise ConfigError("data.kind 'arrays' needs data.path (an .npz, .csv or .parquet file)")
        modality = "array"
        if spec.path.endswith(".npz"):
            source, target, test = load_npz_domains(spec.path)
        else:
            if spec.source_domain is None or spec.target_domain is None:
                raise ConfigError("a CSV/Parquet table needs data.source_domain and data.target_domain")
            source, target = load_table_domains(
                spec.path, spec.source_domain, spec.target_domain, spec.domain_column, spec.label_column
            )
    elif spec.kind == "text":
        modality = "text"
        if spec.target_path is None:
            raise ConfigError("data.kind 'text' needs data.target_path (a TSV/CSV of sentences and labels)")
        target = load_text_domain(spec.target_path, spec.text_column, spec.label_column, "target")
        source = (
            load_text_domain(spec.source_path, spec.text_column, spec.label_column, "source")
            if spec.source_path else None
        )
        if spec.target_test_path:
            test = load_text_domain(spec.target_test_path, spec.text_column, spec.label_column, "target_test", target.num_classes)
    elif spec.kind == "image_folder":
        from ..data.domains import load_image_folder

        if spec.root is None or spec.source_domain is None or spec.target_domain is None:
            raise ConfigError("data.kind 'image_folder' needs data.root, data.source_domain and data.target_domain")
        size = spec.image_size or 64
        source = load_image_folder(spec.root, spec.source_domain, size)
        target = load_image_folder(spec.root, spec.target_domain, size, classes=source.class_names)
    else:  # pragma: no cover - the config schema rejects other kinds
        raise ConfigError(f"unknown data.kind '{spec.kind}'")

    source, target = _cap(source, spec.max_samples), _cap(target, spec.max_samples, 1)
    if test is None:
        target, test = _split_test(target, spec.test_fraction)
    if spec.shuffle_source_labels:
        if source is None:
            raise ConfigError("data.shuffle_source_labels needs a source domain")
        y = np.random.default_rng(12345).permutation(np.asarray(source.y))
        source = Domain(source.X, y, source.name + "_shuffled_labels", source.num_classes, source.class_names)
    if len(target) == 0:
        raise DataError("the target split is empty")
    return TransferData(source, target, test, modality)
