"""SER and STRUT (Segev et al., TPAMI 2017): the paper's properties on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from transferkit.parameter import (
    EditableTree,
    TransferForestClassifier,
    TransferTreeClassifier,
    pack_domains,
    ser,
    strut,
)


def _shift(seed=0, n_s=400, n_t=300, shift=2.0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_s, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(size=(n_t, 3)) + [shift, 0, 0]
    yt = (Xt[:, 0] > shift).astype(int)
    return Xs, ys, Xt, yt


def test_editable_tree_copies_sklearn_predictions():
    Xs, ys, Xt, _ = _shift()
    src = DecisionTreeClassifier(max_depth=4, random_state=0).fit(Xs, ys)
    t = EditableTree.from_sklearn(src, 2)
    np.testing.assert_allclose(t.predict_proba(Xt), src.predict_proba(Xt))
    np.testing.assert_array_equal(t.apply(Xt), src.apply(Xt))


def test_strut_moves_the_threshold_to_the_target_boundary_and_keeps_the_structure():
    Xs, ys, Xt, yt = _shift()
    src = DecisionTreeClassifier(max_depth=1, random_state=0).fit(Xs, ys)
    t0 = EditableTree.from_sklearn(src, 2)
    t = strut(t0, Xt[:100], yt[:100])
    assert t.feature[0] == t0.feature[0] == 0  # the feature is kept, only the threshold moves
    assert abs(t0.threshold[0]) < 0.2 and abs(t.threshold[0] - 2.0) < 0.2
    assert t.node_count == t0.node_count


def test_strut_prunes_nodes_no_target_row_reaches():
    Xs, _, Xt, yt = _shift()
    ys = (Xs[:, 0] + 0.5 * Xs[:, 1] > 0).astype(int)  # an oblique boundary: a bushy tree
    src = DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xs, ys)
    t0 = EditableTree.from_sklearn(src, 2)
    assert t0.node_count == 15
    t = strut(t0, Xt[:5], yt[:5])
    reach = t.paths(Xt[:5])
    for i in t.reachable():
        if not t.is_leaf(i):
            assert reach[i].size > 0
    assert t.node_count < t0.node_count


def test_ser_never_has_more_target_errors_than_the_source_tree_and_leaves_nothing_to_prune():
    Xs, ys, Xt, yt = _shift(shift=1.0)
    src = DecisionTreeClassifier(max_depth=4, random_state=0).fit(Xs, ys)
    t0 = EditableTree.from_sklearn(src, 2)
    Xl, yl = Xt[:80], yt[:80]
    t = ser(t0, Xl, yl)
    err0 = np.sum(t0.predict_proba(Xl).argmax(1) != yl)
    err = np.sum(t.predict_proba(Xl).argmax(1) != yl)
    assert err <= err0 and err == 0  # expansion grows full trees where target classes mix
    # reduction is complete: no internal node whose target leaf error <= its subtree's
    reach = t.paths(Xl)

    def sub_err(i):
        if t.is_leaf(i):
            idx = reach[i]
            return idx.size - (np.bincount(yl[idx], minlength=2).max() if idx.size else 0)
        return sub_err(t.left[i]) + sub_err(t.right[i])

    for i in t.reachable():
        idx = reach[i]
        if not t.is_leaf(i) and idx.size:
            assert idx.size - np.bincount(yl[idx], minlength=2).max() > sub_err(i)


def test_ser_keeps_a_tree_that_is_already_right_for_the_target():
    Xs, ys, Xt, yt = _shift(shift=0.0)
    src = DecisionTreeClassifier(max_depth=1, random_state=0).fit(Xs, ys)
    est = TransferTreeClassifier(src, algorithm="ser").fit(*pack_domains(Xs, ys, Xt[:50], yt[:50]))
    t = est.trees_[0]
    # the root split survives (it is needed); target-pure leaves are not expanded
    assert t.feature[0] == 0 and abs(t.threshold[0] - src.tree_.threshold[0]) < 1e-12
    assert est.score(Xt[50:], yt[50:]) > 0.95


@pytest.mark.parametrize("algorithm", ["ser", "strut"])
def test_forest_applies_the_algorithm_to_every_tree(algorithm):
    Xs, ys, Xt, yt = _shift()
    rf = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(Xs, ys)
    lab = np.full(len(Xt), -1)
    lab[:60] = yt[:60]
    X, y, sd = pack_domains(Xs, ys, Xt, lab)
    f = TransferForestClassifier(rf, algorithm=algorithm).fit(X, y, sd)
    fn = ser if algorithm == "ser" else strut
    probs = []
    for j, tree in enumerate(rf.estimators_):
        kw = {"random_state": j} if algorithm == "ser" else {}
        probs.append(fn(EditableTree.from_sklearn(tree, 2), Xt[:60], yt[:60], **kw).predict_proba(Xt))
    np.testing.assert_allclose(f.predict_proba(Xt), np.mean(probs, axis=0))
    assert f.score(Xt[60:], yt[60:]) > rf.score(Xt[60:], yt[60:]) + 0.2


def test_unfitted_tree_is_fitted_on_the_source_rows():
    Xs, ys, Xt, yt = _shift()
    X, y, sd = pack_domains(Xs, ys, Xt[:40], yt[:40])
    est = TransferTreeClassifier(DecisionTreeClassifier(max_depth=2, random_state=0),
                                 algorithm="strut").fit(X, y, sd)
    ref = DecisionTreeClassifier(max_depth=2, random_state=0).fit(Xs, ys)
    np.testing.assert_array_equal(est.source_estimator_.tree_.threshold, ref.tree_.threshold)
