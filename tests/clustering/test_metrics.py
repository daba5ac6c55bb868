"""Cluster-to-class accuracy, NMI and entropy against independent references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from transferkit.clustering import cluster_accuracy, cluster_entropy, cluster_nmi
from transferkit.exceptions import DataError


def brute_force_accuracy(t: np.ndarray, p: np.ndarray) -> float:
    classes, clusters = np.unique(t), np.unique(p)
    best = 0
    slots = list(classes) + [None] * max(0, len(clusters) - len(classes))
    for perm in itertools.permutations(slots, len(clusters)):
        mapping = dict(zip(clusters, perm))
        best = max(best, sum(mapping[c] == k for c, k in zip(p, t)))
    return best / len(t)


@pytest.mark.parametrize("seed", range(12))
def test_accuracy_equals_brute_force_matching(seed):
    rng = np.random.default_rng(seed)
    n, k_true, k_pred = rng.integers(5, 30), rng.integers(2, 5), rng.integers(2, 6)
    t = rng.integers(0, k_true, n)
    p = rng.integers(0, k_pred, n) + 10  # cluster ids need not be 0..k-1
    assert cluster_accuracy(t, p) == pytest.approx(brute_force_accuracy(t, p))


def test_accuracy_is_one_for_a_relabelled_partition():
    t = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(t, np.array([5, 5, 3, 3, 9, 9])) == 1.0


def test_entropy_by_hand():
    # cluster a: 3 of class 0, 1 of class 1 -> H = -(3/4 log2 3/4 + 1/4 log2 1/4); cluster b pure
    t = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0, 0, 0, 0, 1, 1])
    h_a = -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25))
    assert cluster_entropy(t, p) == pytest.approx(4 / 6 * h_a)
    assert cluster_entropy(t, t) == 0.0


def test_nmi_is_sklearns_and_errors_name_lengths():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 50), rng.integers(0, 4, 50)
    assert cluster_nmi(t, p) == pytest.approx(normalized_mutual_info_score(t, p))
    with pytest.raises(DataError, match="3 vs 2"):
        cluster_accuracy([0, 1, 1], [0, 1])
