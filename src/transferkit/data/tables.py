"""Generic data without writing a Dataset class: arrays (.npz), tables (CSV/Parquet), text (TSV/CSV).

* ``.npz`` with ``X_source, y_source, X_target, y_target`` and optional
  ``X_target_test, y_target_test``;
* a CSV or Parquet table with a domain column, a label column and feature columns;
* a TSV/CSV of sentences and labels (the GLUE SST-2 layout: ``sentence\\tlabel``).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..exceptions import DataError
from ._base import Domain

__all__ = ["load_npz_domains", "load_table_domains", "load_text_domain"]


def _existing(path: str | os.PathLike, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{what} file '{p}' does not exist")
    return p


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError(f"{where}: labels contain NaN or inf")
        if not np.all(y == np.round(y)):
            raise DataError(f"{where}: class labels must be integers, found non-integer values")
    return y.astype(np.int64)


def _num_classes(*ys: np.ndarray | None) -> int:
    return int(max(int(np.max(y)) for y in ys if y is not None)) + 1


def load_npz_domains(path: str | os.PathLike) -> tuple[Domain, Domain, Domain | None]:
    """``(source, target, target_test or None)`` from an ``.npz`` file."""
    p = _existing(path, "arrays")
    with np.load(p, allow_pickle=False) as f:
        keys = set(f.files)
        required = {"X_source", "y_source", "X_target", "y_target"}
        missing = sorted(required - keys)
        if missing:
            raise DataError(f"'{p}' lacks arrays {missing}; it has {sorted(keys)}")
        if ("X_target_test" in keys) != ("y_target_test" in keys):
            raise DataError(f"'{p}': X_target_test and y_target_test must come together")
        arr = {k: f[k] for k in keys}
    Xs, Xt = arr["X_source"].astype(np.float32), arr["X_target"].astype(np.float32)
    if Xs.ndim < 2 or Xt.ndim < 2:
        raise DataError(f"'{p}': X arrays must be [N, features...], got {Xs.shape} and {Xt.shape}")
    if Xs.shape[1:] != Xt.shape[1:]:
        raise DataError(
            f"'{p}': X_source has {Xs.shape[1:]} features per sample but X_target has "
            f"{Xt.shape[1:]}; source and target must have the same feature dimension"
        )
    ys, yt = _labels(arr["y_source"], "y_source"), _labels(arr["y_target"], "y_target")
    yte = _labels(arr["y_target_test"], "y_target_test") if "y_target_test" in arr else None
    k = _num_classes(ys, yt, yte)
    source = Domain(Xs, ys, "source", k)
    target = Domain(Xt, yt, "target", k)
    test = None
    if yte is not None:
        Xte = arr["X_target_test"].astype(np.float32)
        if Xte.shape[1:] != Xt.shape[1:]:
            raise DataError(f"'{p}': X_target_test has {Xte.shape[1:]} features, X_target {Xt.shape[1:]}")
        test = Domain(Xte, yte, "target_test", k)
    return source, target, test


def _read_table(p: Path):
    import pandas as pd

    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(p)
        except ImportError:
            raise ImportError('reading Parquet needs pyarrow: pip install "transferkit[parquet]"') from None
    sep = "\t" if p.suffix.lower() in (".tsv", ".tab") else ","
    return pd.read_csv(p, sep=sep)


def load_table_domains(
    path: str | os.PathLike,
    source_domain: str,
    target_domain: str,
    domain_column: str = "domain",
    label_column: str = "label",
) -> tuple[Domain, Domain]:
    """``(source, target)`` from a CSV/Parquet table; every other column is a feature."""
    p = _existing(path, "table")
    df = _read_table(p)
    for col in (domain_column, label_column):
        if col not in df.columns:
            raise DataError(f"'{p}' has no column '{col}'; columns: {list(df.columns)}")
    features = [c for c in df.columns if c not in (domain_column, label_column)]
    if not features:
        raise DataError(f"'{p}' has no feature columns besides '{domain_column}' and '{label_column}'")
    non_numeric = [c for c in features if df[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise DataError(f"'{p}': feature columns must be numeric; not numeric: {non_numeric}")
    domains = df[domain_column].astype(str)
    out = []
    for name in (source_domain, target_domain):
        part = df[domains == str(name)]
        if part.empty:
            raise DataError(
                f"'{p}': no rows with {domain_column} == '{name}'; values: {sorted(domains.unique())}"
            )
        out.append(part)
    classes = sorted(df[label_column].unique().tolist())
    index = {c: i for i, c in enumerate(classes)}
    made = []
    for name, part in zip((source_domain, target_domain), out):
        X = part[features].to_numpy(np.float32)
        y = part[label_column].map(index).to_numpy(np.int64)
        made.append(Domain(X, y, str(name), len(classes), [str(c) for c in classes]))
    return made[0], made[1]


def load_text_domain(
    path: str | os.PathLike,
    text_column: str = "sentence",
    label_column: str = "label",
    name: str | None = None,
    num_classes: int | None = None,
) -> Domain:
    """Sentences and integer labels from a TSV (GLUE layout, unquoted) or CSV file."""
    import pandas as pd

    p = _existing(path, "text")
    is_tsv = p.suffix.lower() in (".tsv", ".tab")
    df = pd.read_csv(
        p, sep="\t" if is_tsv else ",", quoting=csv.QUOTE_NONE if is_tsv else csv.QUOTE_MINIMAL,
        keep_default_na=False,
    )
    for col in (text_column, label_column):
        if col not in df.columns:
            raise DataError(f"'{p}' has no column '{col}'; columns: {list(df.columns)}")
    texts = [str(t).strip() for t in df[text_column]]
    try:
        y = _labels(pd.to_numeric(df[label_column]).to_numpy(), f"'{p}' column '{label_column}'")
    except ValueError:
        raise DataError(f"'{p}': column '{label_column}' must hold integer class labels") from None
    return Domain(texts, y, name or p.stem, num_classes or _num_classes(y))
