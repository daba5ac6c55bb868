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

__all__ = [
    "load_npz_domains", "load_npz_multitask", "load_table_domains", "load_table_multitask", "load_text_domain",
]


def _existing(path: str | os.PathLike, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"{what} file '{p}' does not exist")
    return p


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "biuf":  # strings, objects: not class ids
        kind = "string" if y.dtype.kind in "US" else str(y.dtype)
        raise DataError(f"{where}: class labels must be integer ids 0..K-1, got {kind} values such as "
                        f"{y[:3].tolist()}; map your class names to ids before saving the arrays")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError(f"{where}: labels contain NaN or inf")
        if not np.all(y == np.round(y)):
            raise DataError(f"{where}: class labels must be integers, found non-integer values")
    return y.astype(np.int64)


def _num_classes(*ys: np.ndarray | None) -> int:
    return int(max(int(np.max(y)) for y in ys if y is not None)) + 1


def _npz(path: str | os.PathLike) -> tuple[Path, dict[str, np.ndarray]]:
    p = _existing(path, "arrays")
    try:
        with np.load(p, allow_pickle=False) as f:
            return p, {k: f[k] for k in f.files}
    except (ValueError, OSError) as err:
        raise DataError(f"'{p}' is not a readable .npz file of plain arrays: {err}") from None


def _nonempty(p: Path, arr: dict[str, np.ndarray], keys: list[str]) -> None:
    for k in keys:
        if k in arr and arr[k].shape[0] == 0:
            raise DataError(f"'{p}': array '{k}' is empty (shape {arr[k].shape})")


def load_npz_domains(
    path: str | os.PathLike, need_target_labels: bool = True, different_features: bool = False,
    length: int | None = None, length_rule: str = "resample",
) -> tuple[Domain, Domain, Domain | None]:
    """``(source, target, target_test or None)`` from an ``.npz`` file.

    Keys: ``X_source, y_source, X_target`` and ``y_target`` (optional when the target is
    unlabelled, for adaptation; then ``X_target_test, y_target_test`` give the evaluation
    split), optionally ``X_target_test, y_target_test``. ``X_source`` and ``X_target`` may
    have different feature counts only with ``different_features=True`` (heterogeneous
    transfer; the command then checks that every method accepts them). With ``length``, every
    ``X`` must be series ``[N, C, T]`` and is brought to ``T = length`` by ``length_rule``
    (:func:`transferkit.data.timeseries.to_length`) before the shapes are compared.
    """
    p, arr = _npz(path)
    keys = set(arr)
    required = {"X_source", "y_source", "X_target"} | ({"y_target"} if need_target_labels else set())
    missing = sorted(required - keys)
    if missing:
        raise DataError(f"'{p}' lacks arrays {missing}; it has {sorted(keys)}")
    if ("X_target_test" in keys) != ("y_target_test" in keys):
        raise DataError(f"'{p}': X_target_test and y_target_test must come together")
    if "y_target" not in keys and "y_target_test" not in keys:
        raise DataError(f"'{p}': an unlabelled target needs X_target_test and y_target_test to evaluate on")
    _nonempty(p, arr, sorted(keys))
    Xs, Xt = (_as_length(p, key, arr[key], length, length_rule) for key in ("X_source", "X_target"))
    if Xs.ndim < 2 or Xt.ndim < 2:
        raise DataError(f"'{p}': X arrays must be [N, features...], got {Xs.shape} and {Xt.shape}")
    if Xs.shape[1:] != Xt.shape[1:] and not (different_features and Xs.ndim == Xt.ndim == 2):
        raise DataError(
            f"'{p}': X_source has shape {Xs.shape} but X_target {Xt.shape}; source and target "
            "must have the same features (only the heterogeneous methods of 'transferkit "
            "compare', such as dama, accept [N, d] arrays of different widths)"
            + ("; series of different lengths: set data.length and data.length_rule"
               if Xs.ndim == Xt.ndim == 3 and Xs.shape[1] == Xt.shape[1] else "")
        )
    ys = _labels(arr["y_source"], "y_source")
    yt = _labels(arr["y_target"], "y_target") if "y_target" in arr else None
    yte = _labels(arr["y_target_test"], "y_target_test") if "y_target_test" in arr else None
    k = _num_classes(ys, yt, yte)
    source = Domain(Xs, ys, "source", k)
    target = Domain(Xt, yt, "target", k)
    test = None
    if yte is not None:
        Xte = _as_length(p, "X_target_test", arr["X_target_test"], length, length_rule)
        if Xte.shape[1:] != Xt.shape[1:]:
            raise DataError(f"'{p}': X_target_test has {Xte.shape[1:]} features, X_target {Xt.shape[1:]}")
        test = Domain(Xte, yte, "target_test", k)
    return source, target, test


def _as_length(p, key: str, X: np.ndarray, length: int | None, rule: str) -> np.ndarray:
    X = X.astype(np.float32)
    if length is None:
        return X
    from .timeseries import to_length

    if X.ndim != 3:
        raise DataError(f"'{p}': a series length needs {key} as series [N, C, T], got shape {X.shape}")
    return to_length(list(X), length, rule, where=f"'{p}' {key}").astype(np.float32)


def load_npz_multitask(path: str | os.PathLike, task_names=None, kinds="regression"):
    """Multi-task arrays from an ``.npz``: inputs ``X [N, ...]`` and labels ``Y [N, T]`` (one
    column per task; ``NaN`` marks a missing label)."""
    from .multitask import from_arrays

    p, arr = _npz(path)
    missing = [k for k in ("X", "Y") if k not in arr]
    if missing:
        raise DataError(f"'{p}' lacks arrays {missing} (multi-task .npz: X [N, ...], Y [N, tasks]); it has {sorted(arr)}")
    _nonempty(p, arr, ["X", "Y"])
    if len(arr["X"]) != len(arr["Y"]):
        raise DataError(f"'{p}': X has {len(arr['X'])} rows but Y has {len(arr['Y'])}")
    return from_arrays(arr["X"], arr["Y"], task_names, kinds, name=p.stem)


def load_table_multitask(path: str | os.PathLike, task_columns=None, kinds="regression"):
    """Multi-task data from a CSV/Parquet table: ``task_columns`` hold the labels (empty cells
    are missing labels); every other column is a numeric feature."""
    from .multitask import from_arrays

    p = _existing(path, "table")
    df = _read_table(p)
    if not task_columns:
        raise DataError(f"'{p}': a multi-task table needs data.task_columns (the label columns); columns: {list(df.columns)}")
    absent = [c for c in task_columns if c not in df.columns]
    if absent:
        raise DataError(f"'{p}' has no column {absent[0]!r}; columns: {list(df.columns)}")
    features = [c for c in df.columns if c not in task_columns]
    non_numeric = [c for c in features + list(task_columns) if df[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise DataError(f"'{p}': columns must be numeric; not numeric: {non_numeric}")
    if df.empty:
        raise DataError(f"'{p}' has no rows")
    return from_arrays(df[features].to_numpy(np.float32), df[list(task_columns)].to_numpy(np.float64),
                       list(task_columns), kinds, name=p.stem)


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


def _read_text_table(p: Path, text_column: str, label_column: str):
    """A TSV/CSV of sentences: GLUE's unquoted TSV first, then quoted fields (reviews that span
    lines inside ``"``), whichever parses into the two named columns."""
    import pandas as pd

    is_tsv = p.suffix.lower() in (".tsv", ".tab")
    attempts = ([csv.QUOTE_NONE, csv.QUOTE_MINIMAL] if is_tsv else [csv.QUOTE_MINIMAL])
    last: Exception | None = None
    for quoting in attempts:
        try:
            df = pd.read_csv(p, sep="\t" if is_tsv else ",", quoting=quoting, keep_default_na=False,
                             dtype=str, on_bad_lines="error")
        except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as err:
            last = err
            continue
        for col in (text_column, label_column):
            if col not in df.columns:
                raise DataError(f"'{p}' has no column '{col}'; columns: {list(df.columns)}")
        labels = df[label_column].str.strip()
        if (labels == "").any() and quoting != attempts[-1]:
            continue  # rows broken by quoted line breaks: try quoted fields
        return df
    raise DataError(f"'{p}' cannot be read as a {'TSV' if is_tsv else 'CSV'} of sentences: {last}")


def load_text_domain(
    path: str | os.PathLike,
    text_column: str = "sentence",
    label_column: str = "label",
    name: str | None = None,
    num_classes: int | None = None,
    class_names: list[str] | None = None,
) -> Domain:
    """Sentences and labels from a TSV (GLUE layout, unquoted or with quoted fields) or CSV.

    Integer labels are class ids; string labels ("positive", "negative") become classes in
    sorted order, or in the order of ``class_names`` (pass the target's to share indices).
    """
    p = _existing(path, "text")
    df = _read_text_table(p, text_column, label_column)
    if df.empty:
        raise DataError(f"'{p}' has no rows")
    texts = [str(t).strip() for t in df[text_column]]
    raw = df[label_column].str.strip()
    if (raw == "").any():
        raise DataError(f"'{p}': column '{label_column}' has {int((raw == '').sum())} empty labels")
    numeric = raw.str.fullmatch(r"-?\d+").all()
    if numeric and class_names is None:
        y = _labels(raw.astype(np.int64).to_numpy(), f"'{p}' column '{label_column}'")
        if y.min() < 0:
            raise DataError(f"'{p}': integer labels must be >= 0, found {int(y.min())}")
        return Domain(texts, y, name or p.stem, num_classes or _num_classes(y))
    names = list(class_names) if class_names is not None else sorted(raw.unique().tolist())
    index = {c: i for i, c in enumerate(names)}
    unknown = sorted(set(raw) - set(index))
    if unknown:
        raise DataError(f"'{p}': labels {unknown[:5]} are not among the classes {names}")
    y = raw.map(index).to_numpy(np.int64)
    return Domain(texts, y, name or p.stem, len(names), names)
