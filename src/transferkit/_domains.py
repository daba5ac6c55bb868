"""The one target-data convention of the scikit-learn estimators (instance, feature, parameter).

Every estimator of :mod:`transferkit.instance`, :mod:`transferkit.feature` and
:mod:`transferkit.parameter` is fitted as ``est.fit(X, y, sample_domain=sample_domain)``:

* ``X`` stacks source and target rows (numpy array or scipy sparse matrix);
* ``sample_domain`` holds one integer per row: ``>= 0`` for a source row, ``< 0`` for a
  target row (skada's convention; :func:`pack_domains` uses ``1`` and ``-2``);
* ``y`` holds the labels; an unlabelled target row has ``y = -1`` (classification) or
  ``NaN`` (regression). Source rows must be labelled.

When ``sample_domain`` is omitted, rows whose label is ``-1``/``NaN`` are the target and the
others the source (so a method that needs labelled target rows needs ``sample_domain``).
``predict``/``transform`` treat their rows as target rows. Because the domain information
travels as a per-sample array, the estimators work inside scikit-learn ``Pipeline`` (pass
``stepname__sample_domain=...``) and in ``cross_val_score(..., params={"sample_domain": sd})``
where scikit-learn slices it together with ``X`` and ``y``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .exceptions import ConfigError, DataError

__all__ = [
    "SOURCE",
    "TARGET",
    "Domains",
    "pack_domains",
    "pack_heterogeneous",
    "split_domains",
    "check_accepts_sample_weight",
    "effective_sample_size",
    "rbf_gamma",
    "weighted_mmd2",
]

logger = logging.getLogger(__name__)

#: Domain ids :func:`pack_domains` writes (skada uses the same signs: source >= 0, target < 0).
SOURCE = 1
TARGET = -2


def _n_features(X: Any, what: str) -> int:
    if not hasattr(X, "shape") or len(X.shape) != 2:
        raise DataError(f"{what} must be a 2-D array, got shape {getattr(X, 'shape', None)}")
    return int(X.shape[1])


def _labels(y: Any, n: int, what: str) -> np.ndarray:
    if y is None:
        return np.full(n, -1)
    y = np.asarray(y)
    if y.shape != (n,):
        raise DataError(f"{what} must have shape ({n},) to match its X, got {y.shape}")
    return y


def _stack(a: Any, b: Any) -> Any:
    if sp.issparse(a) or sp.issparse(b):
        return sp.vstack([sp.csr_matrix(a), sp.csr_matrix(b)], format="csr")
    return np.vstack([np.asarray(a), np.asarray(b)])


def _concat_labels(ys: np.ndarray, yt: np.ndarray) -> np.ndarray:
    if np.issubdtype(ys.dtype, np.floating) or np.issubdtype(yt.dtype, np.floating):
        ys, yt = ys.astype(float), yt.astype(float)
    return np.concatenate([ys, yt])


def pack_domains(Xs: Any, ys: Any, Xt: Any, yt: Any = None) -> tuple[Any, np.ndarray, np.ndarray]:
    """Stack a labelled source and a (partly) labelled target into ``X, y, sample_domain``.

    ``yt=None`` marks every target row unlabelled (``-1``); in a given ``yt`` use ``-1`` (or
    ``NaN`` for regression) for the unlabelled rows. Source and target must have the same
    number of features; heterogeneous data goes through :func:`pack_heterogeneous`.
    """
    ds, dt = _n_features(Xs, "Xs"), _n_features(Xt, "Xt")
    if ds != dt:
        raise DataError(
            f"source and target have different feature counts: Xs {tuple(Xs.shape)}, "
            f"Xt {tuple(Xt.shape)}; homogeneous methods need the same columns "
            "(use pack_heterogeneous for a heterogeneous method)"
        )
    ys = _labels(ys, Xs.shape[0], "ys")
    yt = _labels(yt, Xt.shape[0], "yt")
    sd = np.concatenate([np.full(Xs.shape[0], SOURCE), np.full(Xt.shape[0], TARGET)])
    return _stack(Xs, Xt), _concat_labels(ys, yt), sd


def pack_heterogeneous(
    Xs: Any, ys: Any, Xt: Any, yt: Any = None
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Block layout for source and target with different features: ``[[Xs, 0], [0, Xt]]``.

    Columns ``0..ds-1`` are the source features and ``ds..ds+dt-1`` the target features; the
    heterogeneous estimators take ``n_source_features=ds``. This is the matrix ``Z^T`` of
    Wang & Mahadevan (IJCAI 2011), so nothing is lost by the padding.
    """
    ds, dt = _n_features(Xs, "Xs"), _n_features(Xt, "Xt")
    ys = _labels(ys, Xs.shape[0], "ys")
    yt = _labels(yt, Xt.shape[0], "yt")
    if sp.issparse(Xs) or sp.issparse(Xt):
        X = sp.bmat([[sp.csr_matrix(Xs), None], [None, sp.csr_matrix(Xt)]], format="csr")
    else:
        X = np.zeros((Xs.shape[0] + Xt.shape[0], ds + dt))
        X[: Xs.shape[0], :ds] = Xs
        X[Xs.shape[0] :, ds:] = Xt
    sd = np.concatenate([np.full(Xs.shape[0], SOURCE), np.full(Xt.shape[0], TARGET)])
    return X, _concat_labels(ys, yt), sd


def _unlabelled(y: np.ndarray, regression: bool = False) -> np.ndarray:
    if np.issubdtype(y.dtype, np.floating):
        return np.isnan(y) if regression else (np.isnan(y) | (y == -1))
    if y.dtype.kind in "iu":
        return y == -1
    return np.zeros(y.shape, dtype=bool)


def check_X(X: Any, name: str, *, allow_sparse: bool = True) -> Any:
    """A finite 2-D float array or CSR matrix; a NaN/inf names its first row and column."""
    if sp.issparse(X):
        if not allow_sparse:
            X = X.toarray()
        else:
            X = sp.csr_matrix(X, dtype=float)
            data = X.data
            if not np.all(np.isfinite(data)):
                bad = np.flatnonzero(~np.isfinite(data))[0]
                row = int(np.searchsorted(X.indptr, bad, side="right") - 1)
                raise DataError(f"{name}: X has a NaN or infinite value in row {row}, "
                                f"column {X.indices[bad]}")
            return X
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(f"{name}: X must be numeric ({err})") from None
    if X.ndim != 2:
        raise DataError(f"{name}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{name}: X is empty, shape {X.shape}")
    finite = np.isfinite(X)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise DataError(f"{name}: X has a NaN or infinite value at row {r}, column {c} "
                        f"(shape {X.shape}); impute or drop it first")
    return X


@dataclass
class Domains:
    """Validated ``fit`` input: ``X`` and the boolean masks of its source/target rows."""

    X: Any
    y: np.ndarray | None
    source: np.ndarray
    target: np.ndarray
    target_labelled: np.ndarray

    @property
    def Xs(self) -> Any:
        return self.X[self.source]

    @property
    def Xt(self) -> Any:
        return self.X[self.target]

    @property
    def ys(self) -> np.ndarray:
        assert self.y is not None
        return self.y[self.source]


def split_domains(
    X: Any,
    y: Any,
    sample_domain: Any,
    name: str,
    *,
    need_source_labels: bool = True,
    need_target_labels: bool = False,
    allow_sparse: bool = True,
    regression: bool = False,
) -> Domains:
    """Validate ``fit(X, y, sample_domain)`` and split the rows; errors name shapes and keys.

    An unlabelled row has ``y = -1`` or ``NaN``; with ``regression=True`` only ``NaN``.
    """
    X = check_X(X, name, allow_sparse=allow_sparse)
    n = X.shape[0]
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise DataError(f"{name}: y must have shape ({n},) to match X {X.shape}, got {y.shape}")
    if sample_domain is None:
        if y is None:
            raise DataError(f"{name}: pass sample_domain (>= 0 source, < 0 target) or y with "
                            "-1/NaN marking the target rows; got neither")
        target = _unlabelled(y, regression)
    else:
        sd = np.asarray(sample_domain)
        if sd.shape != (n,):
            raise DataError(f"{name}: sample_domain must have shape ({n},) to match X {X.shape}, "
                            f"got {sd.shape}")
        if not np.issubdtype(sd.dtype, np.number) or not np.all(np.isfinite(sd)):
            raise DataError(f"{name}: sample_domain must hold finite integers (>= 0 source, "
                            "< 0 target)")
        target = sd < 0
    source = ~target
    if not target.any():
        raise DataError(f"{name}: no target samples (sample_domain < 0) among the {n} rows of X; "
                        "build the input with pack_domains(Xs, ys, Xt)")
    if not source.any():
        raise DataError(f"{name}: no source samples (sample_domain >= 0) among the {n} rows of X")
    labelled_t = np.zeros(n, dtype=bool)
    if y is not None:
        unl = _unlabelled(y, regression)
        if need_source_labels and unl[source].any():
            i = int(np.flatnonzero(source & unl)[0])
            raise DataError(f"{name}: source row {i} has no label (y = {y[i]}); every source row "
                            "needs one")
        labelled_t = target & ~unl
    elif need_source_labels:
        raise DataError(f"{name}: y is needed (labels of the source rows)")
    if need_target_labels and not labelled_t.any():
        raise DataError(f"{name}: needs a few labelled target rows (sample_domain < 0 and y != -1), "
                        f"got none among {int(target.sum())} target rows")
    return Domains(X, y, source, target, labelled_t)


def check_accepts_sample_weight(estimator: Any, owner: str) -> None:
    """Raise :class:`ConfigError` if ``estimator.fit`` has no ``sample_weight`` argument."""
    from sklearn.utils.validation import has_fit_parameter

    if not has_fit_parameter(estimator, "sample_weight"):
        raise ConfigError(
            f"{owner}: estimator {type(estimator).__name__} does not accept sample_weight in fit; "
            "choose one that does (e.g. LogisticRegression, SVC, DecisionTreeClassifier, Ridge)"
        )


def effective_sample_size(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2``."""
    w = np.asarray(w, dtype=float)
    s2 = float(np.dot(w, w))
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def rbf_gamma(gamma: float | str | None, X: Any) -> float:
    """``None``/``"auto"`` -> ``1/n_features`` (scikit-learn's default); ``"median"`` -> ``1/median
    squared distance`` on up to 1000 rows; a float is checked and returned."""
    if gamma is None or gamma == "auto":
        return 1.0 / X.shape[1]
    if gamma == "median":
        from sklearn.metrics.pairwise import euclidean_distances

        rng = np.random.default_rng(0)
        idx = rng.choice(X.shape[0], size=min(1000, X.shape[0]), replace=False)
        d2 = euclidean_distances(X[idx], squared=True)
        med = float(np.median(d2[np.triu_indices_from(d2, k=1)]))
        return 1.0 / med if med > 0 else 1.0
    if isinstance(gamma, str):
        raise ConfigError(f"gamma must be a positive float, None, 'auto' or 'median', got {gamma!r}")
    if not gamma > 0:
        raise ConfigError(f"gamma must be > 0, got {gamma}")
    return float(gamma)


def weighted_mmd2(Xs: Any, Xt: Any, weights: np.ndarray | None, gamma: float,
                  block: int = 4096) -> float:
    """Biased MMD² between the ``weights``-weighted source and the target, RBF kernel.

    ``|| sum_i w_i phi(xs_i) / sum w - mean_j phi(xt_j) ||^2`` computed in row blocks, so it
    runs on 50,000 rows per domain without holding a full kernel matrix.
    """
    from sklearn.metrics.pairwise import rbf_kernel

    ns, nt = Xs.shape[0], Xt.shape[0]
    w = np.ones(ns) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    u = np.full(nt, 1.0 / nt)

    def quad(A: Any, a: np.ndarray, B: Any, b: np.ndarray) -> float:
        tot = 0.0
        for i in range(0, A.shape[0], block):
            Kb = rbf_kernel(A[i : i + block], B, gamma=gamma)
            tot += float(a[i : i + block] @ (Kb @ b))
        return tot

    return quad(Xs, w, Xs, w) - 2 * quad(Xs, w, Xt, u) + quad(Xt, u, Xt, u)


class DomainEstimator:
    """Mixin: ``predict``/``predict_proba``/``decision_function``/``score`` on target rows.

    A subclass sets ``estimator_`` (the fitted base estimator) in ``fit`` and may override
    :meth:`_to_target` (how a target row is mapped before the base estimator sees it). Its
    scikit-learn estimator type (classifier or regressor) is the base estimator's, so
    ``cross_val_score`` stratifies and scores as it would for the base estimator.
    """

    estimator: Any

    def _to_target(self, X: Any) -> Any:
        return X

    def _base(self) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_in_")
        est = getattr(self, "estimator_", None)
        if est is None:
            raise ConfigError(f"{type(self).__name__} was fitted without an estimator: it only "
                              "learnt the adaptation, pass estimator=... to predict")
        return est

    def _check_predict_X(self, X: Any) -> Any:
        X = check_X(X, type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"{type(self).__name__}: X has {X.shape[1]} features, but the estimator "
                            f"was fitted with {self.n_features_in_} (shape {X.shape})")
        return X

    def predict(self, X: Any) -> np.ndarray:
        est = self._base()
        return est.predict(self._to_target(self._check_predict_X(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        est = self._base()
        return est.predict_proba(self._to_target(self._check_predict_X(X)))

    def decision_function(self, X: Any) -> np.ndarray:
        est = self._base()
        return est.decision_function(self._to_target(self._check_predict_X(X)))

    @property
    def classes_(self) -> np.ndarray:
        return self._base().classes_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classifier) or R² (regressor) on the labelled rows of ``X`` (as target rows).

        Rows whose label is ``-1``/``NaN`` (unlabelled) are left out, so scoring a held-out
        fold of packed data does not count the unlabelled target rows as a class.
        """
        from sklearn.base import is_classifier
        from sklearn.metrics import accuracy_score, r2_score

        y = np.asarray(y)
        keep = ~_unlabelled(y, regression=not is_classifier(self._base()))
        if not keep.all():
            X = X[keep]
            y = y[keep]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[keep]
        pred = self.predict(X)
        if is_classifier(self._base()):
            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()  # type: ignore[misc]
        if getattr(self, "estimator", None) is not None:
            base = get_tags(self.estimator)
            tags.estimator_type = base.estimator_type
            if base.classifier_tags is not None:
                tags.classifier_tags = base.classifier_tags
            if base.regressor_tags is not None:
                tags.regressor_tags = base.regressor_tags
        tags.input_tags.sparse = True
        return tags


def check_positive(name: str, value: Any, *, strict: bool = True) -> None:
    """``ConfigError("name must be > 0, got v")`` for a value out of range."""
    ok = value > 0 if strict else value >= 0
    if not ok:
        raise ConfigError(f"{name} must be {'>' if strict else '>='} 0, got {value}")


def fit_weighted(estimator: Any, X: Any, y: np.ndarray, w: np.ndarray | None, owner: str) -> Any:
    """Clone and fit ``estimator`` with ``sample_weight=w`` (checked first)."""
    from sklearn.base import clone

    est = clone(estimator)
    if w is None:
        return est.fit(X, y)
    check_accepts_sample_weight(est, owner)
    return est.fit(X, y, sample_weight=w)


class LabelledScore:
    """Mixin: ``score`` on the labelled rows only (accuracy for classifiers, R² otherwise)."""

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        from sklearn.base import is_classifier
        from sklearn.metrics import accuracy_score, r2_score

        y = np.asarray(y)
        clf = is_classifier(self)
        keep = ~_unlabelled(y, regression=not clf)
        sw = None if sample_weight is None else np.asarray(sample_weight)[keep]
        pred = self.predict(X[keep] if not keep.all() else X)  # type: ignore[attr-defined]
        if clf:
            return float(accuracy_score(y[keep], pred, sample_weight=sw))
        return float(r2_score(y[keep], pred, sample_weight=sw))
