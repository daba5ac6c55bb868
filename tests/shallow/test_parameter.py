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
    rng = np.random.RandomState(0)  # SER: one stream for all trees, in order
    for tree in rf.estimators_:
        kw = {"random_state": rng} if algorithm == "ser" else {}
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


def _hand_tree(nodes):
    """An EditableTree from ``[(left, right, feature, threshold, value)]`` (node 0 = root)."""
    t = EditableTree(2)
    for left, right, f, thr, v in nodes:
        t.left.append(left)
        t.right.append(right)
        t.feature.append(f)
        t.threshold.append(thr)
        t.value.append(np.asarray(v, float))
    return t


# root x0 <= 0 -> A (x1 <= 0 -> [1, 0] | [0, 1]; source value 0.9/0.1) | B (leaf, class 1)
_AB = [(1, 4, 0, 0.0, [0.5, 0.5]), (2, 3, 1, 0.0, [0.9, 0.1]), (-1, -1, -2, -2.0, [1, 0]),
       (-1, -1, -2, -2.0, [0, 1]), (-1, -1, -2, -2.0, [0, 1])]


def test_strut_swaps_the_children_when_the_target_reverses_the_sides():
    # Worked by hand. Target rows sorted by x0 have labels 1 1 1 0 0 1; the information gain
    # of the cuts 1.5 .. 5.5 is 0.109, 0.252, 0.459, 0.044, 0.109 (bits): local maxima at 3.5
    # and 5.5. At 3.5 the target sides are P_L = (0, 1), P_R = (2/3, 1/3): against the source
    # children in their order, Q_L = A = (0.9, 0.1) and Q_R = B = (0, 1), both JSDs are large;
    # swapped (P_L against B, P_R against A) DG = 1 - 0 - 1/2 JSD((2/3, 1/3), (0.9, 0.1)) ~ 0.97,
    # the largest of the four candidates, so x0 <= 3.5 now leads to B and x0 > 3.5 to A,
    # whose x1 split is re-thresholded at 0 on the rows (4, -1, 0), (5, -1, 0), (6, 1, 1).
    X = np.array([[1, 0], [2, 0], [3, 0], [4, -1], [5, -1], [6, 1]], float)
    y = np.array([1, 1, 1, 0, 0, 1])
    t = strut(_hand_tree(_AB), X, y)
    assert t.threshold[0] == 3.5 and t.feature[0] == 0
    left, right = t.left[0], t.right[0]
    assert t.is_leaf(left) and np.allclose(t.value[left], [0, 1])
    assert t.feature[right] == 1 and t.threshold[right] == 0.0
    np.testing.assert_array_equal(t.predict_proba(np.array([[2, 0], [5, -1], [5, 1]])).argmax(1), [1, 0, 1])


def test_strut_makes_a_leaf_of_a_node_with_one_target_class_or_one_feature_value():
    t = strut(_hand_tree(_AB), np.array([[1.0, 0], [5, 2]]), np.array([1, 1]))
    assert t.node_count == 1 and np.allclose(t.value[0], [0, 1])  # one class: nothing to split
    t = strut(_hand_tree(_AB), np.array([[2.0, 0], [2, 1]]), np.array([0, 1]))
    assert t.node_count == 1 and np.allclose(t.value[0], [0.5, 0.5])  # x0 equal: no threshold


def test_ser_prune_unreached_removes_the_splits_the_target_rows_do_not_use():
    # Worked by hand. Every target row has x0 <= 0 and x1 <= 0, so it reaches the leaf A1 of
    # _AB (root left, A left); B and A2 get no target row. A1 sees labels 0 0 1 1 along
    # x0 = -4 .. -1, so expansion grows x0 <= -2.5 there; the error rule prunes nothing (the
    # expanded subtree has 0 errors, A and the root as leaves 2 each).
    X = np.array([[-4, -1], [-3, -1], [-2, -1], [-1, -1]], float)
    y = np.array([0, 0, 1, 1])
    kept = ser(_hand_tree(_AB), X, y)
    pruned = ser(_hand_tree(_AB), X, y, prune_unreached=True)
    # kept: B and A2 keep their source predictions (class 1 for x0 > 0 or x1 > 0)
    probe = np.array([[5.0, 5.0], [-5.0, 5.0], [-5.0, -5.0], [-1.5, -5.0]])
    np.testing.assert_array_equal(kept.predict_proba(probe).argmax(1), [1, 1, 0, 1])
    # pruned: root -> A -> A1's expansion tree: one split x0 <= -2.5 decides everything
    assert pruned.node_count == 3 and pruned.feature[0] == 0 and pruned.threshold[0] == -2.5
    np.testing.assert_array_equal(pruned.predict_proba(probe).argmax(1), [1, 0, 0, 1])


def test_editable_tree_reads_rows_as_scikit_learn_does_in_float32():
    # a float64 value just above a threshold but equal to it after rounding to float32 goes
    # left in scikit-learn (it fits and applies trees on float32 copies); the copy must agree
    X = np.array([[0.0], [1.0]])
    src = DecisionTreeClassifier().fit(X, [0, 1])
    thr = src.tree_.threshold[0]
    x = np.nextafter(np.float64(np.float32(thr)), np.inf)  # > thr in float64, == after float32
    probe = np.array([[x]])
    assert np.float32(x) <= thr < x
    t = EditableTree.from_sklearn(src, 2)
    np.testing.assert_array_equal(t.apply(probe), src.apply(probe))
    np.testing.assert_allclose(t.predict_proba(probe), src.predict_proba(probe))
