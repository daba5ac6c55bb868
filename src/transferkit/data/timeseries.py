"""Time series: a reader for the UCR/UEA ``.ts`` format and loaders of UCR/UEA data sets.

The ``.ts`` format (Bagnall et al., the UEA & UCR archive; the format sktime and aeon write)
is a header of ``@tag value`` lines (``@problemName``, ``@timeStamps``, ``@missing``,
``@univariate``, ``@dimensions``, ``@equalLength``, ``@seriesLength``, ``@classLabel true
<labels>``/``false``, ``@targetLabel``), ``#`` (or ARFF's ``%``) comment lines, then ``@data`` and one case per
line: the channels separated by ``:``, the values of a channel by ``,``, the class label last.
:func:`read_ts` is written from that description; it refuses, naming the file and the line, a
malformed header, a case with a missing value (``?``/``NaN``) inside a series, a case whose
channel count differs from the others, and a label the header does not declare.

Conventions of the loaders (:func:`load_ts_domain`, :func:`load_ucr`):

* inputs are ``float32`` arrays ``[N, C, T]`` (``C = 1`` for univariate sets);
* **z-normalisation per series**: each channel of each case is shifted to mean 0 and scaled to
  standard deviation 1 over time (the archives' convention; a constant channel becomes 0);
* **lengths**: series of unequal length are brought to one length ``T`` by ``length_rule``:
  ``"resample"`` (default: linear interpolation of each channel onto ``T`` evenly spaced points
  of its own time span), ``"pad"`` (zeros appended after z-normalisation; a series longer than
  ``T`` is an error) or ``"truncate"`` (the first ``T`` values kept, as aeon's ``Truncator``
  does; a series shorter than ``T`` is an error). Unless ``length`` is given, ``T`` is the
  longest series (``resample``, ``pad``) or the shortest (``truncate``) of the set;
* labels are integers ``0..K-1`` in the order the header's ``@classLabel`` declares them
  (``class_names`` keeps the declared strings).

Data sets by name: ``root`` may hold ``<Name>/<Name>_TRAIN.ts`` (the archive layout) or
``<Name>_TRAIN.ts``; without a ``root`` the sets shipped inside an installed aeon or sktime
wheel (``aeon/datasets/data/``, e.g. GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf,
BasicMotions, JapaneseVowels) are found offline, without importing either library.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import DataError
from ._base import Domain

__all__ = [
    "TSFile", "read_ts", "znormalise", "LENGTH_RULES", "default_length", "to_length", "load_ts_domain", "find_ucr", "offline_ucr_names",
    "load_ucr", "load_ucr_pair",
]

_BOOL_TAGS = {"timestamps", "missing", "univariate", "equallength"}
_INT_TAGS = {"serieslength", "dimensions", "dimension"}
_KNOWN_TAGS = _BOOL_TAGS | _INT_TAGS | {"problemname", "classlabel", "targetlabel", "data"}
#: how series of unequal length are brought to one length (``to_length``)
LENGTH_RULES = ("resample", "pad", "truncate")
#: packages whose wheels ship .ts files, and where (searched in this order)
_WHEEL_DATA = (("aeon", ("datasets", "data")), ("sktime", ("datasets", "data")))


@dataclass(frozen=True)
class TSFile:
    """The parsed content of one ``.ts`` file: ``series[i]`` is ``[C, T_i]`` float64."""

    path: str
    problem_name: str | None
    series: list[np.ndarray]
    labels: list[str] | None
    class_names: list[str] | None
    header: dict[str, object]

    @property
    def n_channels(self) -> int:
        return int(self.series[0].shape[0])

    @property
    def lengths(self) -> np.ndarray:
        return np.array([s.shape[1] for s in self.series])


def _bool(value: str, path: str, lineno: int, tag: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise DataError(f"{path}, line {lineno}: @{tag} must be 'true' or 'false', got '{value.strip()}'")
    return v == "true"


def read_ts(path: str | Path) -> TSFile:
    """Parse a UCR/UEA ``.ts`` file (see the module docstring for the format and the checks)."""
    path = str(Path(path).expanduser())
    if not Path(path).is_file():
        raise DataError(f"time series file '{path}' does not exist")
    header: dict[str, object] = {}
    class_names: list[str] | None = None
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith(("#", "%")):  # '%' as in ARFF, which .ts grew from
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise DataError(
                        f"{path}, line {lineno}: expected a header line '@tag value' or '@data' before the "
                        f"data, got '{line[:40]}'"
                    )
                tag, _, value = line[1:].partition(" ")
                tag = tag.lower()
                if tag not in _KNOWN_TAGS:
                    raise DataError(f"{path}, line {lineno}: unknown header tag '@{line[1:].split()[0]}'")
                if tag == "data":
                    in_data = True
                    continue
                if tag in _BOOL_TAGS:
                    header[tag] = _bool(value, path, lineno, tag)
                elif tag in _INT_TAGS:
                    try:
                        header["dimensions" if tag == "dimension" else tag] = int(value)
                    except ValueError:
                        raise DataError(
                            f"{path}, line {lineno}: @{tag} must be an integer, got '{value.strip()}'"
                        ) from None
                elif tag == "classlabel":
                    parts = value.split()
                    if not parts:
                        raise DataError(f"{path}, line {lineno}: @classLabel needs 'true <labels...>' or 'false'")
                    header[tag] = _bool(parts[0], path, lineno, tag)
                    if header[tag]:
                        if len(parts) < 2:
                            raise DataError(f"{path}, line {lineno}: @classLabel true declares no class labels")
                        class_names = parts[1:]
                elif tag == "targetlabel":
                    header[tag] = _bool(value, path, lineno, tag)
                else:
                    header[tag] = value.strip()
                continue
            # ---- a case
            if header.get("timestamps"):
                raise DataError(f"{path}: @timeStamps true (timestamped values) is not supported")
            fields = line.split(":")
            if header.get("classlabel") or header.get("targetlabel"):
                if len(fields) < 2:
                    raise DataError(f"{path}, line {lineno}: a case needs its series and a label after ':'")
                label = fields[-1].strip()
                fields = fields[:-1]
                if class_names is not None and label not in class_names:
                    raise DataError(
                        f"{path}, line {lineno}: class label '{label}' is not among those the header "
                        f"declares ({' '.join(class_names)})"
                    )
                labels.append(label)
            channels = []
            for d, field in enumerate(fields):
                try:
                    values = np.array([float(v) if v.strip() != "?" else np.nan for v in field.split(",")])
                except ValueError as err:
                    raise DataError(f"{path}, line {lineno}, channel {d}: not a number ({err})") from None
                if not np.isfinite(values).all():
                    where = int(np.flatnonzero(~np.isfinite(values))[0])
                    raise DataError(
                        f"{path}, line {lineno}, channel {d}: missing value (NaN or '?') at time step {where} "
                        f"of {len(values)}; fill or drop it before loading"
                    )
                channels.append(values)
            lengths = {len(c) for c in channels}
            if len(lengths) != 1:
                raise DataError(
                    f"{path}, line {lineno}: the channels of one case differ in length ({sorted(lengths)})"
                )
            if series and len(channels) != series[0].shape[0]:
                raise DataError(
                    f"{path}, line {lineno}: {len(channels)} channels, but the first case has "
                    f"{series[0].shape[0]}"
                )
            series.append(np.stack(channels))
    if not in_data:
        raise DataError(f"{path}: no '@data' line; not a .ts file")
    if not series:
        raise DataError(f"{path}: no cases after '@data'")
    dims = header.get("dimensions")
    if dims is not None and dims != series[0].shape[0]:
        raise DataError(f"{path}: @dimensions {dims} but the cases have {series[0].shape[0]} channels")
    if header.get("univariate") is True and series[0].shape[0] != 1:
        raise DataError(f"{path}: @univariate true but the cases have {series[0].shape[0]} channels")
    length = header.get("serieslength")
    if header.get("equallength") and length is not None:
        bad = next((i for i, s in enumerate(series) if s.shape[1] != length), None)
        if bad is not None:
            raise DataError(
                f"{path}: @seriesLength {length} but case {bad} has {series[bad].shape[1]} values"
            )
    return TSFile(path, header.get("problemname"), series, labels or None, class_names, header)  # type: ignore[arg-type]


def znormalise(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Each channel of each series to mean 0, standard deviation 1 over time (last axis);
    a channel with standard deviation below ``eps`` is only centred."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return (x - mean) / np.where(std < eps, 1.0, std)


def default_length(lengths: Sequence[int] | np.ndarray, rule: str = "resample") -> int:
    """The length ``rule`` brings series to when none is given: the shortest for ``truncate``
    (nothing is padded), the longest otherwise (nothing is cut)."""
    _check_rule(rule)
    lengths = np.asarray(lengths)
    return int(lengths.min() if rule == "truncate" else lengths.max())


def _check_rule(rule: str) -> None:
    if rule not in LENGTH_RULES:
        raise DataError(f"length_rule must be one of {', '.join(LENGTH_RULES)}, got '{rule}'")


def to_length(series: Sequence[np.ndarray], length: int, rule: str = "resample", where: str = "series") -> np.ndarray:
    """Stack ``[C, T_i]`` series into ``[N, C, length]``.

    ``resample``: linear interpolation of each channel from its ``T_i`` evenly spaced points
    onto ``length`` points spanning the same interval (a series of one value is repeated);
    ``pad``: zeros appended, a longer series is an error; ``truncate``: the first ``length``
    values kept, a shorter series is an error. ``where`` names the series in errors (a file).
    """
    _check_rule(rule)
    if length <= 0:
        raise DataError(f"length must be > 0, got {length}")
    out = np.zeros((len(series), series[0].shape[0], length))
    grid = np.linspace(0.0, 1.0, length)
    for i, s in enumerate(series):
        t = s.shape[1]
        if t == length:
            out[i] = s
        elif rule == "pad":
            if t > length:
                raise DataError(f"{where}: case {i} has {t} values, more than the padded length {length} "
                                "(length_rule 'pad' never cuts; use 'truncate' or 'resample')")
            out[i, :, :t] = s
        elif rule == "truncate":
            if t < length:
                raise DataError(f"{where}: case {i} has {t} values, fewer than the truncated length {length} "
                                "(length_rule 'truncate' never pads; use 'pad' or 'resample')")
            out[i] = s[:, :length]
        elif t == 1:
            out[i] = s[:, :1]
        else:
            src = np.linspace(0.0, 1.0, t)
            out[i] = np.stack([np.interp(grid, src, ch) for ch in s])
    return out


def load_ts_domain(
    path: str | Path | TSFile,
    name: str | None = None,
    class_names: Sequence[str] | None = None,
    length: int | None = None,
    length_rule: str = "resample",
    znorm: bool = True,
) -> Domain:
    """A ``.ts`` file (or its parsed :class:`TSFile`) as a :class:`Domain` ``[N, C, T]`` float32
    (conventions: module docstring).

    ``class_names`` fixes the label order (a test split uses its training split's); a label
    outside it is an error naming the file.
    """
    ts = path if isinstance(path, TSFile) else read_ts(path)
    if ts.labels is None or ts.class_names is None and class_names is None:
        raise DataError(f"{ts.path}: the file has no class labels (@classLabel false); a labelled domain needs them")
    names = list(class_names) if class_names is not None else list(ts.class_names or [])
    index = {c: i for i, c in enumerate(names)}
    unknown = sorted({lab for lab in ts.labels if lab not in index})
    if unknown:
        raise DataError(f"{ts.path}: class labels {unknown} are not among {names}")
    series = [znormalise(s) for s in ts.series] if znorm else ts.series
    target_len = int(length) if length is not None else default_length(ts.lengths, length_rule)
    X = to_length(series, target_len, length_rule, where=ts.path).astype(np.float32)
    y = np.array([index[lab] for lab in ts.labels], dtype=np.int64)
    return Domain(X, y, name or ts.problem_name or Path(ts.path).stem, len(names), names)


def _wheel_roots() -> list[Path]:
    """Data folders inside installed aeon / sktime wheels, found without importing them."""
    roots = []
    for package, sub in _WHEEL_DATA:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            folder = Path(loc).joinpath(*sub)
            if folder.is_dir():
                roots.append(folder)
    return roots


def _declares_classes(path: Path) -> bool:
    """Whether a ``.ts`` header says ``@classLabel true`` (reads the header only)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            words = line.strip().lower().split()
            if words[:1] == ["@data"]:
                return False
            if words[:2] == ["@classlabel", "true"]:
                return True
    return False


def offline_ucr_names() -> list[str]:
    """Names of the classification ``.ts`` data sets (train and test split, ``@classLabel
    true``) shipped inside installed aeon / sktime wheels."""
    names = set()
    for root in _wheel_roots():
        for train in root.glob("*/*_TRAIN.ts"):
            name = train.name[: -len("_TRAIN.ts")]
            if (train.parent / f"{name}_TEST.ts").is_file() and _declares_classes(train):
                names.add(name)
    return sorted(names)


def find_ucr(name: str, root: str | Path | None = None) -> tuple[Path, Path]:
    """``(train, test)`` paths of data set ``name`` under ``root`` or in an installed wheel."""
    roots = [Path(root).expanduser()] if root is not None else _wheel_roots()
    for r in roots:
        # the archive layout, a flat folder, and files kept in another set's folder (aeon keeps
        # JapaneseVowels_eq in JapaneseVowels/)
        for folder in (r / name, r, *sorted(p.parent for p in r.glob(f"*/{name}_TRAIN.ts"))):
            train, test = folder / f"{name}_TRAIN.ts", folder / f"{name}_TEST.ts"
            if train.is_file() and test.is_file():
                return train, test
    if root is not None:
        raise DataError(
            f"UCR/UEA data set '{name}' not found under '{root}': expected {name}/{name}_TRAIN.ts and "
            f"{name}_TEST.ts (or both directly in that folder)"
        )
    available = offline_ucr_names()
    hint = (f" Offline sets: {', '.join(available)}." if available else
            " Install aeon (pip install aeon; its wheel ships a few sets) or give data.root.")
    raise DataError(f"UCR/UEA data set '{name}' is not shipped offline and no root was given.{hint}")


def load_ucr(
    name: str,
    split: str = "train",
    root: str | Path | None = None,
    length: int | None = None,
    length_rule: str = "resample",
    znorm: bool = True,
) -> Domain:
    """One official split (``train`` or ``test``) of a UCR/UEA data set as a :class:`Domain`.

    The test split uses the training split's class order and length (unless ``length``).
    """
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got '{split}'")
    train_path, test_path = find_ucr(name, root)
    train_ts, test_ts = read_ts(train_path), read_ts(test_path)
    if length is None:
        length = default_length(np.concatenate([train_ts.lengths, test_ts.lengths]), length_rule)
    ts = train_ts if split == "train" else test_ts
    return load_ts_domain(ts, name if split == "train" else f"{name}_test", train_ts.class_names, length,
                          length_rule, znorm)


def load_ucr_pair(
    source: str,
    target: str,
    root: str | Path | None = None,
    length_rule: str = "resample",
    znorm: bool = True,
    length: int | None = None,
) -> tuple[Domain, Domain, Domain]:
    """``(source train, target train, target test)`` for transfer from one data set to another.

    All three are brought to ``length`` (default: the target's own length under
    ``length_rule``, train and test together) by ``length_rule``, so one network reads both
    sets. The channel counts must match.
    """
    t_train, t_test = find_ucr(target, root)
    s_train, _ = find_ucr(source, root)
    tgt_train, tgt_test = read_ts(t_train), read_ts(t_test)
    src = read_ts(s_train)
    if src.n_channels != tgt_train.n_channels:
        raise DataError(
            f"source '{source}' ({s_train}) has {src.n_channels} channels but target '{target}' ({t_train}) "
            f"has {tgt_train.n_channels}; one network cannot read both"
        )
    if length is None:
        length = default_length(np.concatenate([tgt_train.lengths, tgt_test.lengths]), length_rule)
    names = tgt_train.class_names
    return (
        load_ts_domain(src, source, src.class_names, length, length_rule, znorm),
        load_ts_domain(tgt_train, target, names, length, length_rule, znorm),
        load_ts_domain(tgt_test, f"{target}_test", names, length, length_rule, znorm),
    )
