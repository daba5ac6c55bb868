"""SER and STRUT decision-tree transfer (Segev, Harel, Mannor, Crammer & El-Yaniv, TPAMI 2017)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state

from .._domains import LabelledScore, check_X, split_domains
from .._registry import register
from ..exceptions import ConfigError, DataError
from ._tree import EditableTree, as_tree_input

__all__ = ["TransferTreeClassifier", "TransferForestClassifier", "ser", "strut"]


def _counts(y: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y[idx], minlength=k).astype(float)


def _collapse(t: EditableTree, i: int, child: int) -> None:
    """Replace node ``i`` by its child ``child`` (the split at ``i`` and the other side go)."""
    t.left[i], t.right[i] = t.left[child], t.right[child]
    t.feature[i], t.threshold[i] = t.feature[child], t.threshold[child]
    t.value[i] = t.value[child]


def ser(tree: EditableTree, X: np.ndarray, y: np.ndarray, *, random_state: Any = 0,
        max_depth: int | None = None, prune_unreached: bool = False) -> EditableTree:
    """Structure Expansion/Reduction (Segev et al. 2017, Sec. 3.1) on target rows ``X, y``.

    *Expansion*: every leaf reached by target rows of more than one class is replaced by a
    decision tree grown on those rows alone; the trees are grown in pre-order (left first)
    from one random stream, ``check_random_state(random_state)`` (an int seed gives the same
    trees as ADAPT after ``np.random.seed(seed)``). *Reduction*: bottom-up, every internal node
    reached by target rows whose error as a leaf (rows not of its target majority class) is
    at most the summed error of its (already reduced) subtree is pruned to a leaf. Nodes
    reached by target rows take the target class distribution.

    Nodes no target row reaches: with ``prune_unreached=False`` (default) they keep the
    source subtree and its distributions (the only evidence there is about that region);
    with ``True`` a kept node one of whose children no target row reaches is replaced by its
    other child (ADAPT 0.4.5's rule), so every remaining split is used by the target rows.
    ``y`` holds global class indices.
    """
    from sklearn.tree import DecisionTreeClassifier

    k = tree.n_classes
    X = as_tree_input(X)  # the float32 values scikit-learn's trees see
    rng = check_random_state(random_state)
    t = copy.deepcopy(tree)
    reach = t.paths(X)
    for leaf in [i for i in t.reachable() if t.is_leaf(i)]:
        idx = reach[leaf]
        if idx.size and np.unique(y[idx]).size > 1:
            sub = DecisionTreeClassifier(random_state=rng, max_depth=max_depth)
            sub.fit(X[idx], y[idx])
            t.graft(leaf, EditableTree.from_sklearn(sub, k, sub.classes_.astype(int)))
    reach = t.paths(X)
    err: dict[int, float] = {}
    for i in reversed(t.reachable()):  # children before parents
        idx = reach[i]
        c = _counts(y, idx, k)
        if idx.size:
            t.value[i] = c / c.sum()
        leaf_err = float(idx.size - c.max()) if idx.size else 0.0
        if t.is_leaf(i):
            err[i] = leaf_err
            continue
        sub_err = err[t.left[i]] + err[t.right[i]]
        if idx.size and leaf_err <= sub_err:
            t.make_leaf(i)
            err[i] = leaf_err
            continue
        err[i] = sub_err
        if prune_unreached and idx.size:
            for gone, kept in ((t.left[i], t.right[i]), (t.right[i], t.left[i])):
                if reach[gone].size == 0:
                    _collapse(t, i, kept)
                    break
    return t.compact()


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log2(p), 0.0), axis=-1)


def _jsd(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between rows of ``p`` and ``q``."""
    m = 0.5 * (p + q)
    return _entropy(m) - 0.5 * _entropy(p) - 0.5 * _entropy(q)


def _strut_threshold(x: np.ndarray, yk: np.ndarray, k: int, q_left: np.ndarray,
                     q_right: np.ndarray) -> tuple[float, bool] | None:
    """``(threshold, swap)`` maximising the divergence gain over the local maxima of the
    information gain and both orientations of the children, or None when no threshold
    separates the rows or none has a divergence gain above 0 (the node becomes a leaf)."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], yk[order]
    cuts = np.flatnonzero(np.diff(xs) > 0)  # split after position c
    if cuts.size == 0:
        return None
    onehot = np.eye(k)[ys]
    cum = np.cumsum(onehot, axis=0)
    n = xs.size
    nl = (cuts + 1).astype(float)
    cl = cum[cuts]
    cr = cum[-1] - cl
    pl, pr = cl / nl[:, None], cr / (n - nl)[:, None]
    wl, wr = nl / n, (n - nl) / n
    ig = _entropy(cum[-1] / n) - wl * _entropy(pl) - wr * _entropy(pr)
    pad = np.concatenate([[-np.inf], ig, [-np.inf]])
    local = (pad[1:-1] >= pad[:-2]) & (pad[1:-1] >= pad[2:])
    dg = 1.0 - wl * _jsd(q_left[None, :], pl) - wr * _jsd(q_right[None, :], pr)
    dg_swap = 1.0 - wl * _jsd(q_right[None, :], pl) - wr * _jsd(q_left[None, :], pr)
    dg, dg_swap = np.where(local, dg, -np.inf), np.where(local, dg_swap, -np.inf)
    j, j_swap = int(np.argmax(dg)), int(np.argmax(dg_swap))
    swap = bool(dg_swap[j_swap] > dg[j])
    j = j_swap if swap else j
    if max(dg[j], dg_swap[j]) <= 0.0:
        return None
    c = cuts[j]
    return float(0.5 * (xs[c] + xs[c + 1])), swap


def strut(tree: EditableTree, X: np.ndarray, y: np.ndarray) -> EditableTree:
    """STRUcture Transfer (Segev et al. 2017, Sec. 3.2) on target rows ``X, y``.

    The source tree's structure and features are kept; top-down, each node's threshold is
    re-chosen on the target rows that reach it (with the new thresholds above): among the
    thresholds that are local maxima of the target information gain, the one maximising the
    divergence gain ``DG = 1 - |L|/n JSD(Q_L, P_L) - |R|/n JSD(Q_R, P_R)`` (``Q``: source class
    distributions of the children, ``P``: target ones; Jensen-Shannon divergence, base 2),
    computed for both assignments of the source children to the two sides: when the swapped
    one is larger the children are swapped. As in the authors' reference code (strlet,
    ``Strut.java``), a node whose target rows are all of one class, whose rows share one
    value of its feature, or where no local maximum has ``DG > 0`` becomes a leaf; a node no
    target row reaches would become a leaf with its parent's target distribution, but a new
    threshold lies between two target values, so both children of a re-thresholded node are
    reached and no split without target rows remains. Nodes take the target class
    distribution. ``y`` holds global class indices.
    """
    k = tree.n_classes
    X = as_tree_input(X)  # cuts between float32 values, as scikit-learn's trees see them
    t = copy.deepcopy(tree)
    stack: list[tuple[int, np.ndarray, np.ndarray | None]] = [(0, np.arange(X.shape[0]), None)]
    while stack:
        i, idx, parent = stack.pop()
        if idx.size == 0:
            t.make_leaf(i, None if parent is None else parent.copy())
            continue
        c = _counts(y, idx, k)
        t.value[i] = c / c.sum()
        if t.is_leaf(i):
            continue
        if np.count_nonzero(c) == 1:
            t.make_leaf(i)
            continue
        f = t.feature[i]
        found = _strut_threshold(X[idx, f], y[idx], k, t.value[t.left[i]], t.value[t.right[i]])
        if found is None:
            t.make_leaf(i)
            continue
        t.threshold[i], swap = found
        if swap:
            t.left[i], t.right[i] = t.right[i], t.left[i]
        go = X[idx, f] <= t.threshold[i]
        stack += [(t.right[i], idx[~go], t.value[i]), (t.left[i], idx[go], t.value[i])]
    return t.compact()


_ALGORITHMS = {"ser": ser, "strut": strut}


def _is_fitted(est: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(est)
        return True
    except NotFittedError:
        return False


class _TreeTransferBase(LabelledScore, ClassifierMixin, BaseEstimator):
    _name = ""
    _need_target_labels = True  # the runners refuse it where no target row has a label
    _kind: Any = None

    def _check_params(self) -> None:
        if self.algorithm not in _ALGORITHMS:
            raise ConfigError(f"algorithm must be 'ser' or 'strut', got {self.algorithm!r}")
        if not isinstance(self.prune_unreached, (bool, np.bool_)):
            raise ConfigError(f"prune_unreached must be a bool, got {self.prune_unreached!r}")

    def _ser_kw(self, random_state: Any) -> dict[str, Any]:
        return {"random_state": random_state, "prune_unreached": bool(self.prune_unreached)}

    def _prepare(self, X: Any, y: Any, sample_domain: Any) -> tuple[Any, np.ndarray, np.ndarray]:
        self._check_params()
        d = split_domains(X, y, sample_domain, self._name, need_target_labels=self._need_target_labels,
                          allow_sparse=False)
        self.n_features_in_ = d.X.shape[1]
        base = self._default() if self.estimator is None else self.estimator
        if not isinstance(base, self._kind):
            raise ConfigError(f"{self._name}: estimator must be a {self._kind.__name__}, got "
                              f"{type(base).__name__}")
        if _is_fitted(base):
            src = copy.deepcopy(base)
            if src.n_features_in_ != d.X.shape[1]:
                raise DataError(f"{self._name}: the fitted estimator has {src.n_features_in_} "
                                f"features, X has {d.X.shape[1]} (shape {d.X.shape})")
        else:
            src = clone(base).fit(d.Xs, d.ys)
        self.source_estimator_ = src
        self.classes_ = src.classes_
        yt = d.y[d.target_labelled]
        unknown = np.setdiff1d(yt, self.classes_)
        if unknown.size:
            raise DataError(f"{self._name}: target labels {unknown.tolist()} are not classes of "
                            f"the source tree ({self.classes_.tolist()})")
        return d.X[d.target_labelled], np.searchsorted(self.classes_, yt), d.X

    def _check_predict_X(self, X: Any) -> np.ndarray:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "trees_")
        X = check_X(X, self._name, allow_sparse=False)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"{self._name}: X has {X.shape[1]} features, fitted with "
                            f"{self.n_features_in_} (shape {X.shape})")
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._check_predict_X(X)
        return np.mean([t.predict_proba(X) for t in self.trees_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@register("parameter", "tree")
class TransferTreeClassifier(_TreeTransferBase):
    """Transfer a source decision tree to the target with SER or STRUT.

    Segev, Harel, Mannor, Crammer & El-Yaniv, "Learn on Source, Refine on Target: A Model
    Transfer Learning Framework with Random Forests", IEEE TPAMI 39(9), 2017: SER (structure
    expansion/reduction, :func:`ser`) and STRUT (structure transfer, :func:`strut`).

    ``estimator`` is a ``DecisionTreeClassifier``: if it is already fitted it is the source
    model (a copy is edited; ``clone`` in cross-validation gives an unfitted one), otherwise it
    is fitted on the source rows of ``fit``. The labelled target rows of
    ``fit(X, y, sample_domain)`` refine it. Sparse input is densified. ``random_state`` seeds
    the one stream SER's expansion trees are grown from; ``prune_unreached`` (SER only; see
    :func:`ser`) removes splits one side of which no target row reaches, as ADAPT does.

    Attributes:
        source_estimator_: the source tree; trees_: ``[EditableTree]`` (the refined tree);
        classes_: class labels.
    """

    _name = "TransferTreeClassifier"

    def __init__(self, estimator: Any = None, *, algorithm: str = "ser",
                 random_state: int | None = 0, prune_unreached: bool = False):
        self.estimator = estimator
        self.algorithm = algorithm
        self.random_state = random_state
        self.prune_unreached = prune_unreached

    @property
    def _kind(self) -> Any:  # type: ignore[override]
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier

    def _default(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(random_state=self.random_state)

    def fit(self, X: Any, y: Any, sample_domain: Any = None) -> TransferTreeClassifier:
        Xt, yt, _ = self._prepare(X, y, sample_domain)
        t0 = EditableTree.from_sklearn(self.source_estimator_, self.classes_.size)
        kw = self._ser_kw(self.random_state) if self.algorithm == "ser" else {}
        self.trees_ = [_ALGORITHMS[self.algorithm](t0, Xt, yt, **kw)]
        return self


@register("parameter", "forest")
class TransferForestClassifier(_TreeTransferBase):
    """SER or STRUT applied to every tree of a random forest (Segev et al. 2017, Sec. 4).

    ``estimator`` is a ``RandomForestClassifier`` (fitted: the source model; unfitted: fitted
    on the source rows). Each tree is refined with all labelled target rows; the forest
    averages the refined trees' class distributions. SER grows the expansion trees of all
    trees, in order, from one stream ``check_random_state(random_state)`` (as ADAPT does).
    """

    _name = "TransferForestClassifier"

    def __init__(self, estimator: Any = None, *, algorithm: str = "ser",
                 random_state: int | None = 0, prune_unreached: bool = False):
        self.estimator = estimator
        self.algorithm = algorithm
        self.random_state = random_state
        self.prune_unreached = prune_unreached

    @property
    def _kind(self) -> Any:  # type: ignore[override]
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier

    def _default(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=10, random_state=self.random_state)

    def fit(self, X: Any, y: Any, sample_domain: Any = None) -> TransferForestClassifier:
        Xt, yt, _ = self._prepare(X, y, sample_domain)
        k = self.classes_.size
        fn = _ALGORITHMS[self.algorithm]
        rng = check_random_state(self.random_state)  # one stream for all trees, in order
        self.trees_ = []
        for tree in self.source_estimator_.estimators_:
            t0 = EditableTree.from_sklearn(tree, k, tree.classes_.astype(int))
            kw = self._ser_kw(rng) if self.algorithm == "ser" else {}
            self.trees_.append(fn(t0, Xt, yt, **kw))
        return self


