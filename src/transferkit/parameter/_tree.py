"""A small mutable copy of a fitted scikit-learn decision tree, for SER and STRUT to edit."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_tree_input(X: np.ndarray) -> np.ndarray:
    """``X`` rounded to float32, as scikit-learn's trees read it (held in float64).

    scikit-learn fits and applies its trees on float32 copies of ``X``; a float64 value within
    float32 rounding of a threshold would otherwise take the other branch."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


class EditableTree:
    """Node arrays (``left``, ``right``, ``feature``, ``threshold``, ``value``) as Python lists.

    ``value[i]`` is the class distribution of node ``i`` over the ``n_classes`` global classes
    (it sums to 1); ``left[i] == -1`` marks a leaf. Node 0 is the root. Rows are compared with
    the thresholds after rounding to float32, as scikit-learn does (:func:`as_tree_input`).
    """

    def __init__(self, n_classes: int):
        self.n_classes = n_classes
        self.left: list[int] = []
        self.right: list[int] = []
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.value: list[np.ndarray] = []

    @classmethod
    def from_sklearn(cls, tree: Any, n_classes: int,
                     class_index: np.ndarray | None = None) -> EditableTree:
        """Copy ``tree`` (a fitted ``DecisionTreeClassifier``); ``class_index`` maps its classes
        to global class columns (identity by default)."""
        t = tree.tree_
        out = cls(n_classes)
        vals = t.value[:, 0, :]
        vals = vals / np.maximum(vals.sum(axis=1, keepdims=True), 1e-300)
        cols = np.arange(vals.shape[1]) if class_index is None else np.asarray(class_index)
        for i in range(t.node_count):
            v = np.zeros(n_classes)
            v[cols] = vals[i]
            out.left.append(int(t.children_left[i]))
            out.right.append(int(t.children_right[i]))
            out.feature.append(int(t.feature[i]))
            out.threshold.append(float(t.threshold[i]))
            out.value.append(v)
        return out

    @property
    def node_count(self) -> int:
        return len(self.left)

    def is_leaf(self, i: int) -> bool:
        return self.left[i] == -1

    def make_leaf(self, i: int, value: np.ndarray | None = None) -> None:
        self.left[i] = self.right[i] = -1
        self.feature[i] = -2
        self.threshold[i] = -2.0
        if value is not None:
            self.value[i] = value

    def graft(self, i: int, sub: EditableTree) -> None:
        """Replace node ``i`` by the whole of ``sub`` (its root takes the place of ``i``)."""
        offset = self.node_count - 1  # sub's node j > 0 goes to offset + j
        def new_id(j: int) -> int:
            return -1 if j == -1 else (i if j == 0 else offset + j)
        for j in range(sub.node_count):
            vals = (new_id(sub.left[j]), new_id(sub.right[j]), sub.feature[j], sub.threshold[j],
                    sub.value[j])
            if j == 0:
                self.left[i], self.right[i], self.feature[i], self.threshold[i], self.value[i] = vals
            else:
                self.left.append(vals[0])
                self.right.append(vals[1])
                self.feature.append(vals[2])
                self.threshold.append(vals[3])
                self.value.append(vals[4])

    def reachable(self) -> list[int]:
        """Nodes reachable from the root, parents before children."""
        out, stack = [], [0]
        while stack:
            i = stack.pop()
            out.append(i)
            if not self.is_leaf(i):
                stack += [self.right[i], self.left[i]]
        return out

    def compact(self) -> EditableTree:
        """A copy without the unreachable nodes left by pruning."""
        keep = self.reachable()
        new = {old: k for k, old in enumerate(keep)}
        out = EditableTree(self.n_classes)
        for old in keep:
            leaf = self.is_leaf(old)
            out.left.append(-1 if leaf else new[self.left[old]])
            out.right.append(-1 if leaf else new[self.right[old]])
            out.feature.append(self.feature[old])
            out.threshold.append(self.threshold[old])
            out.value.append(self.value[old].copy())
        return out

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (np.asarray(self.left), np.asarray(self.right), np.asarray(self.feature),
                np.asarray(self.threshold), np.vstack(self.value))

    def paths(self, X: np.ndarray) -> list[np.ndarray]:
        """For each node, the indices of the rows of ``X`` that pass through it."""
        X = as_tree_input(X)
        left, right, feat, thr, _ = self.arrays()
        reach: list[list[np.ndarray]] = [[] for _ in range(self.node_count)]
        frontier = [(0, np.arange(X.shape[0]))]
        while frontier:
            i, idx = frontier.pop()
            reach[i].append(idx)
            if left[i] != -1 and idx.size:
                go = X[idx, feat[i]] <= thr[i]
                frontier += [(left[i], idx[go]), (right[i], idx[~go])]
            elif left[i] != -1:
                frontier += [(left[i], idx), (right[i], idx)]
        return [np.concatenate(r) if r else np.empty(0, dtype=int) for r in reach]

    def apply(self, X: np.ndarray) -> np.ndarray:
        X = as_tree_input(X)
        left, right, feat, thr, _ = self.arrays()
        node = np.zeros(X.shape[0], dtype=int)
        active = left[node] != -1
        while active.any():
            a = np.flatnonzero(active)
            go = X[a, feat[node[a]]] <= thr[node[a]]
            node[a] = np.where(go, left[node[a]], right[node[a]])
            active = left[node] != -1
        return node

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.vstack(self.value)[self.apply(X)]

    def depth(self) -> int:
        d = {0: 0}
        for i in self.reachable():
            if not self.is_leaf(i):
                d[self.left[i]] = d[self.right[i]] = d[i] + 1
        return max(d[i] for i in self.reachable())
