"""Zero-shot data: the GBU benchmark format, AwA class-attribute files, any class-attribute
matrix, and class descriptions.

* :func:`load_gbu`: the "xlsa17" format of Y. Xian, C. H. Lampert, B. Schiele, Z. Akata,
  "Zero-Shot Learning: A Comprehensive Evaluation of the Good, the Bad and the Ugly", TPAMI
  2018: ``att_splits.mat`` (``att``, ``original_att``, ``allclasses_names``, and the 1-based
  sample indices ``trainval_loc``, ``train_loc``, ``val_loc``, ``test_seen_loc``,
  ``test_unseen_loc``) with ``res101.mat`` (``features`` 2048 x N, ``labels`` N x 1, 1-based),
  so AwA1/AwA2/CUB/SUN/aPY run the standard proposed-split protocol;
* :func:`load_awa_attributes`: the Animals-with-Attributes class-attribute matrices (Lampert
  et al., CVPR 2009 / TPAMI 2014) and the proposed-split class lists, without image features;
* :func:`load_class_attributes`: a class-attribute matrix from any arrays file;
* :func:`load_class_descriptions`: one or more text descriptions per class.

Everything is returned 0-based: class ids index the rows of the class-embedding matrix.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._utils import resolve_root
from ..exceptions import DataError

__all__ = [
    "GBU_SPLITS",
    "ClassAttributes",
    "ZeroShotData",
    "check_seen_unseen",
    "load_awa_attributes",
    "load_class_attributes",
    "load_class_descriptions",
    "load_gbu",
]

logger = logging.getLogger(__name__)

#: the sample splits of the GBU proposed split, in the order of ``att_splits.mat``
GBU_SPLITS = ("trainval", "train", "val", "test_seen", "test_unseen")


def check_seen_unseen(seen: Sequence[int] | np.ndarray, unseen: Sequence[int] | np.ndarray, n_classes: int,
                      where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Seen and unseen class ids as sorted arrays; raise if they overlap or leave
    ``[0, n_classes)``."""
    s, u = np.unique(np.asarray(seen, np.int64)), np.unique(np.asarray(unseen, np.int64))
    pre = f"{where}: " if where else ""
    for name, ids in (("seen", s), ("unseen", u)):
        if ids.size == 0:
            raise DataError(f"{pre}there are no {name} classes")
        if ids.min() < 0 or ids.max() >= n_classes:
            raise DataError(
                f"{pre}{name} class ids must lie in [0, {n_classes - 1}] for {n_classes} classes, "
                f"found [{ids.min()}, {ids.max()}]"
            )
    both = np.intersect1d(s, u)
    if both.size:
        raise DataError(f"{pre}unseen classes overlap the seen classes: {both.tolist()} are in both")
    return s, u


@dataclass(frozen=True)
class ClassAttributes:
    """A class-attribute (or class-embedding) matrix ``[n_classes, a]`` with its names and,
    when known, the seen/unseen class split (0-based class ids)."""

    matrix: np.ndarray
    class_names: list[str]
    name: str
    attribute_names: list[str] | None = None
    seen_classes: np.ndarray | None = None
    unseen_classes: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2:
            raise DataError(f"{self.name}: class-attribute matrix must be 2-D, got shape {self.matrix.shape}")
        if len(self.class_names) != self.matrix.shape[0]:
            raise DataError(
                f"{self.name}: class-attribute matrix has {self.matrix.shape[0]} classes (rows) but "
                f"{len(self.class_names)} class names are given"
            )
        if self.attribute_names is not None and len(self.attribute_names) != self.matrix.shape[1]:
            raise DataError(
                f"{self.name}: class-attribute matrix has {self.matrix.shape[1]} attributes (columns) "
                f"but {len(self.attribute_names)} attribute names are given"
            )
        if (self.seen_classes is None) != (self.unseen_classes is None):
            raise DataError(f"{self.name}: give both seen_classes and unseen_classes, or neither")
        if self.seen_classes is not None:
            check_seen_unseen(self.seen_classes, self.unseen_classes, self.matrix.shape[0], self.name)


@dataclass(frozen=True)
class ZeroShotData:
    """Features, 0-based labels, the class embeddings and the GBU sample splits.

    ``splits`` maps a name of :data:`GBU_SPLITS` to 0-based sample indices. The seen classes
    are those of ``trainval``, the unseen ones those of ``test_unseen``; construction checks
    that they do not overlap and that ``test_seen`` holds only seen classes.
    """

    X: np.ndarray
    y: np.ndarray
    class_embeddings: np.ndarray
    class_names: list[str]
    splits: Mapping[str, np.ndarray]
    name: str
    attribute_names: list[str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        n, C = len(self.X), self.class_embeddings.shape[0]
        if self.y.shape != (n,):
            raise DataError(f"{self.name}: {n} feature rows but labels of shape {self.y.shape}")
        if len(self.class_names) != C:
            raise DataError(
                f"{self.name}: class-embedding matrix has {C} classes but {len(self.class_names)} "
                "class names are given"
            )
        if n and (self.y.min() < 0 or self.y.max() >= C):
            raise DataError(
                f"{self.name}: labels must lie in [0, {C - 1}] for an attribute matrix of {C} "
                f"classes, found [{self.y.min()}, {self.y.max()}]"
            )
        for key in ("trainval", "test_seen", "test_unseen"):
            if key not in self.splits:
                raise DataError(f"{self.name}: split '{key}' is missing")
        for key, idx in self.splits.items():
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise DataError(f"{self.name}: split '{key}' indexes samples outside [0, {n - 1}]")
        seen, unseen = check_seen_unseen(self.seen_classes, self.unseen_classes, C, self.name)
        stray = np.setdiff1d(np.unique(self.y[self.splits["test_seen"]]), seen)
        if stray.size:
            raise DataError(f"{self.name}: split 'test_seen' holds classes {stray.tolist()} absent from 'trainval'")

    @property
    def seen_classes(self) -> np.ndarray:
        return np.unique(self.y[self.splits["trainval"]])

    @property
    def unseen_classes(self) -> np.ndarray:
        return np.unique(self.y[self.splits["test_unseen"]])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of one split."""
        if name not in self.splits:
            raise DataError(f"{self.name}: no split '{name}'; splits: {', '.join(self.splits)}")
        idx = self.splits[name]
        return self.X[idx], self.y[idx]


# --------------------------------------------------------------------------- .mat helpers


def _loadmat(path: Path, what: str) -> dict:
    from scipy.io import loadmat

    if not path.is_file():
        raise DataError(f"{what}: file '{path.name}' not found in '{path.parent}'")
    try:
        return loadmat(str(path))
    except (ValueError, NotImplementedError, OSError) as err:
        raise DataError(f"{what}: cannot read '{path}' as a MATLAB v5 file ({err})") from None


def _key(mat: Mapping, key: str, path: Path) -> np.ndarray:
    if key not in mat:
        present = sorted(k for k in mat if not k.startswith("__"))
        raise DataError(f"'{path.name}' has no key '{key}' (keys: {', '.join(present)})")
    return np.asarray(mat[key])


def _names(cells: np.ndarray) -> list[str]:
    out = []
    for c in np.asarray(cells, dtype=object).reshape(-1):
        while isinstance(c, np.ndarray) and c.dtype == object and c.size == 1:
            c = c.reshape(-1)[0]
        out.append(str(np.asarray(c).reshape(-1)[0]) if isinstance(c, np.ndarray) else str(c))
    return [s.strip() for s in out]


def load_gbu(
    root: str | os.PathLike | None = None,
    dataset: str | None = None,
    attributes: str = "att",
    features_file: str = "res101.mat",
    splits_file: str = "att_splits.mat",
) -> ZeroShotData:
    """A GBU ("xlsa17") data set: ResNet-101 features, 0-based labels, class embeddings, splits.

    ``root`` is the folder that holds ``splits_file`` and ``features_file`` (or its parent,
    with ``dataset`` naming the sub-folder, e.g. ``load_gbu("xlsa17/data", "AWA2")``).
    ``attributes`` picks ``att`` (class embeddings L2-normalised per class, the GBU default)
    or ``original_att`` (raw attribute values). Both are stored attributes x classes in the
    file and returned classes x attributes. All ``*_loc`` indices and labels are 1-based in
    the files and 0-based here.
    """
    what = f"GBU {dataset}" if dataset else "GBU"
    base = resolve_root(root, dataset or "", what)
    if attributes not in ("att", "original_att"):
        raise DataError(f"attributes must be 'att' or 'original_att', got '{attributes}'")
    sp_path = base / splits_file
    sp = _loadmat(sp_path, what)
    ft_path = base / features_file
    ft = _loadmat(ft_path, what)
    names = _names(_key(sp, "allclasses_names", sp_path))
    att = np.asarray(_key(sp, attributes, sp_path), np.float64)
    if att.ndim != 2:
        raise DataError(f"'{sp_path.name}' key '{attributes}' must be a 2-D attributes x classes matrix, got {att.shape}")
    if att.shape[1] != len(names):
        raise DataError(
            f"'{sp_path.name}' key '{attributes}' has {att.shape[1]} classes (columns; shape "
            f"{att.shape}, attributes x classes) but 'allclasses_names' names {len(names)} classes"
        )
    feats = np.asarray(_key(ft, "features", ft_path))
    labels = np.asarray(_key(ft, "labels", ft_path)).reshape(-1).astype(np.int64)
    if feats.ndim != 2 or labels.size not in feats.shape:
        raise DataError(
            f"'{ft_path.name}': 'features' must be dim x N with N = {labels.size} labels, got {feats.shape}"
        )
    X = (feats.T if feats.shape[1] == labels.size and feats.shape[0] != labels.size else feats).astype(np.float32)
    if labels.size and labels.min() < 1:
        raise DataError(f"'{ft_path.name}': 'labels' must be 1-based class numbers, found {labels.min()}")
    if labels.size and labels.max() > len(names):
        raise DataError(
            f"'{ft_path.name}': labels go up to {labels.max()} but the attribute matrix in "
            f"'{sp_path.name}' has {len(names)} classes"
        )
    splits = {}
    for key in GBU_SPLITS:
        loc = np.asarray(_key(sp, f"{key}_loc", sp_path)).reshape(-1).astype(np.int64)
        if loc.size and (loc.min() < 1 or loc.max() > len(labels)):
            raise DataError(
                f"'{sp_path.name}' key '{key}_loc' holds indices in [{loc.min()}, {loc.max()}]; "
                f"they are 1-based and must lie in [1, {len(labels)}] (the samples of '{ft_path.name}')"
            )
        splits[key] = loc - 1
    return ZeroShotData(X, labels - 1, att.T.copy(), names, splits, dataset or base.name)


# --------------------------------------------------------------------------- AwA attributes


def _read_list(path: Path) -> list[str]:
    """Names, one a line; a leading index column (``1\\tantelope``) is dropped."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        out.append(parts[-1] if len(parts) > 1 and parts[0].isdigit() else line.strip())
    return out


def load_awa_attributes(root: str | os.PathLike | None = None, version: str = "AWA2",
                        kind: str = "continuous") -> ClassAttributes:
    """The Animals-with-Attributes class-attribute matrix, 50 classes x 85 attributes.

    ``root`` is the folder with ``AWA1/`` and ``AWA2/`` (default ``<data root>/awa_attributes``).
    ``kind``:

    * ``"continuous"``: ``predicate-matrix-continuous.txt`` (values 0-100);
    * ``"binary"``: ``predicate-matrix-binary.txt`` (the continuous matrix thresholded at its
      overall mean, see :func:`transferkit.zeroshot.binarize_attributes`);
    * ``"att"`` / ``"original_att"``: the matrices of the GBU ``att_splits.mat`` (``att``:
      L2-normalised per class; ``original_att``: continuous, with its missing entries, marked
      -1 in the file, set to 0 as in ``predicate-matrix-continuous.txt``).

    Class names come from ``att_splits.mat`` or ``classes.txt``, attribute names from
    ``predicates.txt`` when present, and the seen/unseen split from ``trainvalclasses.txt``
    and ``testclasses.txt`` (the proposed split of Xian et al.) when present, else ``None``.
    """
    if kind not in ("continuous", "binary", "att", "original_att"):
        raise DataError(f"kind must be 'continuous', 'binary', 'att' or 'original_att', got '{kind}'")
    base = resolve_root(root, "awa_attributes", "AwA attributes")
    folder = base / version
    if not folder.is_dir():
        raise DataError(f"AwA attributes: folder '{version}' not found under '{base}'")
    names: list[str] | None = None
    if kind in ("att", "original_att") or (folder / "att_splits.mat").is_file():
        if (folder / "att_splits.mat").is_file():
            mat = _loadmat(folder / "att_splits.mat", f"AwA {version}")
            names = _names(_key(mat, "allclasses_names", folder / "att_splits.mat"))
    if kind in ("att", "original_att"):
        mat = _loadmat(folder / "att_splits.mat", f"AwA {version}")
        A = np.asarray(_key(mat, kind, folder / "att_splits.mat"), np.float64).T.copy()
        if kind == "original_att":
            A[A < 0] = 0.0
    else:
        fname = f"predicate-matrix-{kind}.txt"
        if not (folder / fname).is_file():
            raise DataError(f"AwA attributes: file '{fname}' not found in '{folder}'")
        A = np.loadtxt(folder / fname, dtype=np.float64)
    if names is None:
        if not (folder / "classes.txt").is_file():
            raise DataError(f"AwA attributes: neither 'att_splits.mat' nor 'classes.txt' in '{folder}' names the classes")
        names = _read_list(folder / "classes.txt")
    attr_names = _read_list(folder / "predicates.txt") if (folder / "predicates.txt").is_file() else None
    seen = unseen = None
    tv, te = folder / "trainvalclasses.txt", folder / "testclasses.txt"
    if tv.is_file() and te.is_file():
        index = {n: i for i, n in enumerate(names)}
        ids = []
        for p in (tv, te):
            listed = _read_list(p)
            missing = [n for n in listed if n not in index]
            if missing:
                raise DataError(f"'{p.name}' lists classes {missing} that are not among the {len(names)} class names")
            ids.append(np.array([index[n] for n in listed], np.int64))
        seen, unseen = ids
    return ClassAttributes(A, names, f"awa_{version.lower()}_{kind}", attr_names, seen, unseen)


# --------------------------------------------------------------------------- any arrays file


def load_class_attributes(path: str | os.PathLike, key: str | None = None, class_names: Sequence[str] | None = None,
                          n_classes: int | None = None, transpose: bool = False) -> ClassAttributes:
    """A class-attribute matrix ``[n_classes, a]`` from an arrays file.

    Formats: ``.npy``; ``.npz`` or ``.mat`` (``key``, default the first of
    ``class_embeddings``, ``attributes``, ``att``, ``S`` present; an npz may also hold
    ``class_names``); ``.txt``/``.csv`` (whitespace or comma separated numbers, one class a
    row). ``transpose=True`` for files stored attributes x classes (like GBU's ``att``).
    ``n_classes``: the number of classes the data has; a matrix with another number of rows
    is an error.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"class-attribute file '{p}' does not exist")
    suffix = p.suffix.lower()
    names = list(class_names) if class_names is not None else None
    if suffix == ".npy":
        A = np.load(p)
    elif suffix in (".npz", ".mat"):
        store = dict(np.load(p, allow_pickle=False)) if suffix == ".npz" else _loadmat(p, "class attributes")
        keys = [key] if key else [k for k in ("class_embeddings", "attributes", "att", "S") if k in store]
        if not keys or keys[0] not in store:
            present = sorted(k for k in store if not k.startswith("__"))
            raise DataError(
                f"'{p.name}' has no key {repr(key) if key else 'class_embeddings/attributes/att/S'} "
                f"(keys: {', '.join(present)})"
            )
        A = store[keys[0]]
        if names is None and "class_names" in store:
            names = [str(s) for s in np.asarray(store["class_names"]).reshape(-1)]
        if names is None and "allclasses_names" in store:
            names = _names(store["allclasses_names"])
    elif suffix in (".txt", ".csv", ".tsv"):
        A = np.loadtxt(p, delimiter="," if suffix == ".csv" else ("\t" if suffix == ".tsv" else None), ndmin=2)
    else:
        raise DataError(f"class-attribute file '{p.name}': unknown format '{suffix}' (use .npy, .npz, .mat, .txt, .csv)")
    A = np.asarray(A, np.float64)
    if A.ndim != 2:
        raise DataError(f"'{p.name}': class-attribute matrix must be 2-D, got shape {A.shape}")
    if transpose:
        A = A.T.copy()
    if not np.isfinite(A).all():
        raise DataError(f"'{p.name}': class-attribute matrix contains NaN or inf")
    if n_classes is not None and A.shape[0] != int(n_classes):
        raise DataError(
            f"'{p.name}': class-attribute matrix has {A.shape[0]} classes (rows; shape {A.shape}) but "
            f"the data has {n_classes} classes" + (" (stored attributes x classes? pass transpose=True)"
                                                   if A.shape[1] == int(n_classes) else "")
        )
    names = names if names is not None else [str(i) for i in range(A.shape[0])]
    return ClassAttributes(A, names, p.stem)


# --------------------------------------------------------------------------- descriptions


def load_class_descriptions(path: str | os.PathLike, class_names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Text descriptions per class: ``{class name: [description, ...]}``.

    Formats: JSON (``{"name": "text"}`` or ``{"name": ["text", ...]}``), or a text file of
    ``name<TAB>description`` lines (several lines per class allowed; ``#`` starts a comment).
    ``class_names``: the classes the data has, in order; the result follows that order and a
    class without a description is an error naming it.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"class-description file '{p}' does not exist")
    out: dict[str, list[str]] = {}
    if p.suffix.lower() == ".json":
        raw = json.loads(p.read_text())
        if not isinstance(raw, dict):
            raise DataError(f"'{p.name}' must hold a JSON object mapping class names to descriptions")
        for k, v in raw.items():
            texts = [v] if isinstance(v, str) else list(v)
            if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                raise DataError(f"'{p.name}': class '{k}' needs one or more non-empty description strings")
            out[str(k)] = [t.strip() for t in texts]
    else:
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, sep, text = line.partition("\t")
            if not sep or not text.strip():
                raise DataError(f"'{p.name}' line {n}: expected 'class name<TAB>description', got {line!r}")
            out.setdefault(name.strip(), []).append(text.strip())
    if class_names is not None:
        missing = [c for c in class_names if c not in out]
        if missing:
            raise DataError(f"'{p.name}' has no description for classes {missing}")
        out = {c: out[c] for c in class_names}
    return out
