"""Information-theoretic co-clustering and self-taught clustering: the loss, its monotone
descent, sparse/dense agreement, planted structure and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import transferkit
from transferkit.clustering import (
    InformationTheoreticCoClustering,
    KMeansClustering,
    SelfTaughtClustering,
    SpectralCoclusteringClustering,
    cluster_accuracy,
    select_lambda,
)
from transferkit.exceptions import ConfigError, DataError


def kl_loss(counts: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """KL(p || q) with q(x, y) = p(x^, y^) p(x|x^) p(y|y^) (Dhillon et al. 2003, Lemma 2.1),
    computed entry by entry, independently of the library's mutual-information code."""
    p = counts / counts.sum()
    px, py = p.sum(1), p.sum(0)
    total = 0.0
    for i in range(p.shape[0]):
        for j in range(p.shape[1]):
            if p[i, j] == 0:
                continue
            a, b = rows[i], cols[j]
            pab = p[rows == a][:, cols == b].sum()
            pa, pb = px[rows == a].sum(), py[cols == b].sum()
            q = pab * (px[i] / pa) * (py[j] / pb)
            total += p[i, j] * np.log(p[i, j] / q)
    return total


counts_strategy = st.tuples(
    st.integers(4, 9), st.integers(4, 9), st.integers(0, 2**31 - 1)
)


def _counts(n: int, m: int, seed: int, density: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    C = rng.poisson(2.0, size=(n, m)) * (rng.random((n, m)) < density)
    C[0, 0] += 1  # never all zero
    return C.astype(float)


@settings(max_examples=25, deadline=None)
@given(counts_strategy)
def test_itcc_loss_never_increases_and_matches_kl(args):
    n, m, seed = args
    C = _counts(n, m, seed)
    est = InformationTheoreticCoClustering(2, n_feature_clusters=3, random_state=seed,
                                           max_iter=20, tol=0).fit(C)
    h = est.objective_history_
    assert np.all(np.diff(h) <= 1e-12), h
    assert h[-1] == pytest.approx(kl_loss(C, est.labels_, est.feature_labels_), abs=1e-10)


@settings(max_examples=25, deadline=None)
@given(counts_strategy, st.sampled_from([0.0, 0.5, 1.0, 3.0]))
def test_stc_objective_never_increases(args, lam):
    n, m, seed = args
    X, Y = _counts(n, m, seed), _counts(n + 3, m, seed + 1)
    est = SelfTaughtClustering(2, n_feature_clusters=3, lam=lam, random_state=seed,
                               max_iter=20, tol=0).fit(sp.csr_matrix(X), aux=sp.csr_matrix(Y))
    h = est.objective_history_
    assert np.all(np.diff(h) <= 1e-12), h
    expected = kl_loss(X, est.labels_, est.feature_labels_) + lam * kl_loss(
        Y, est.aux_labels_, est.feature_labels_)
    assert h[-1] == pytest.approx(expected, abs=1e-10)


def test_sparse_and_dense_give_the_same_partitions():
    X, Y = _counts(30, 20, 1, 0.3), _counts(40, 20, 2, 0.3)
    kw = dict(n_feature_clusters=4, lam=0.7, random_state=3)
    dense = SelfTaughtClustering(3, **kw).fit(X, aux=Y)
    sparse = SelfTaughtClustering(3, **kw).fit(sp.csr_matrix(X), aux=sp.csr_matrix(Y))
    np.testing.assert_array_equal(dense.labels_, sparse.labels_)
    np.testing.assert_array_equal(dense.feature_labels_, sparse.feature_labels_)
    assert dense.loss_ == pytest.approx(sparse.loss_)


def _planted(n_per: int, rng: np.random.Generator, high: float = 3.0, low: float = 0.2,
             words: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Two document groups, each using mostly its own block of words."""
    y = np.repeat([0, 1], n_per)
    rate = np.full((2, 2 * words), low)
    rate[0, :words] = rate[1, words:] = high
    X = rng.poisson(rate[y]).astype(float)
    X[X.sum(1) == 0, 0] = 1  # no empty document
    return X, y


def test_itcc_recovers_planted_co_clusters():
    X, y = _planted(15, np.random.default_rng(0))
    est = InformationTheoreticCoClustering(2, n_feature_clusters=2, n_init=3, random_state=0)
    assert cluster_accuracy(y, est.fit_predict(X)) == 1.0
    assert cluster_accuracy(np.repeat([0, 1], 10), est.feature_labels_) == 1.0


def test_stc_uses_the_auxiliary_feature_clusters():
    """Four short target documents per group hardly show which words go together; 100 long
    auxiliary documents do. Over ten draws, self-taught clustering separates the target groups
    clearly more often than co-clustering the target alone."""
    acc_stc, acc_itcc = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        A, _ = _planted(50, rng)
        X, y = _planted(4, rng, high=0.5, low=0.1)
        stc = SelfTaughtClustering(2, n_feature_clusters=2, lam=5.0, n_init=3, random_state=0)
        itcc = InformationTheoreticCoClustering(2, n_feature_clusters=2, n_init=3, random_state=0)
        acc_stc.append(cluster_accuracy(y, stc.fit_predict(X, aux=A)))
        acc_itcc.append(cluster_accuracy(y, itcc.fit_predict(X)))
        assert cluster_accuracy(np.repeat([0, 1], 10), stc.feature_labels_) == 1.0
    assert np.mean(acc_stc) >= 0.9
    assert np.mean(acc_stc) >= np.mean(acc_itcc) + 0.1


def test_select_lambda_returns_the_most_stable_candidate():
    rng = np.random.default_rng(0)
    A, _ = _planted(20, rng)
    X, _ = _planted(5, rng)
    sel = select_lambda(X, A, (0.0, 1.0), n_runs=3, n_feature_clusters=2)
    assert set(sel.stability) == {0.0, 1.0}
    assert sel.stability[sel.lam] == max(sel.stability.values())
    with pytest.raises(ConfigError, match="lam"):
        select_lambda(X, A, (1.0,), lam=2.0)


@pytest.mark.parametrize("cls", [InformationTheoreticCoClustering, SelfTaughtClustering,
                                 KMeansClustering, SpectralCoclusteringClustering])
def test_bad_input_raises_clear_errors(cls):
    X = np.ones((5, 4))
    aux = np.ones((6, 4))
    with pytest.raises(DataError, match="n_clusters=6 exceeds the number of samples"):
        cls(6).fit(X, aux=aux)
    bad = X.copy()
    bad[1, 2] = -1
    with pytest.raises(DataError, match="non-negative"):
        cls(2).fit(bad, aux=aux)
    with pytest.raises(DataError, match="non-negative"):
        cls(2).fit(sp.csr_matrix(bad), aux=aux)
    with pytest.raises(ConfigError, match="n_clusters must be an int >= 1, got 0"):
        cls(0).fit(X, aux=aux)


def test_stc_specific_errors():
    X = np.ones((5, 4))
    with pytest.raises(DataError, match="X has 4 columns, aux has 3"):
        SelfTaughtClustering(2).fit(X, aux=np.ones((6, 3)))
    with pytest.raises(DataError, match="needs the auxiliary data"):
        SelfTaughtClustering(2).fit(X)
    with pytest.raises(ConfigError, match="lam must be a finite number >= 0, got -1"):
        SelfTaughtClustering(2, lam=-1).fit(X, aux=X)
    with pytest.raises(DataError, match="n_feature_clusters=9 exceeds"):
        SelfTaughtClustering(2, n_feature_clusters=9).fit(X, aux=X)
    with pytest.raises(DataError, match="sums to zero"):
        SelfTaughtClustering(2).fit(np.zeros((5, 4)), aux=X)


@pytest.mark.slow  # the registry imports every family (torch included)
def test_registered_in_the_clustering_family():
    names = {m.name for m in transferkit.list_methods("clustering")}
    assert {"stc", "itcc", "kmeans", "spectral_cocluster"} <= names
    est = transferkit.create("clustering", "stc", n_clusters=3, lam=0.5)
    assert isinstance(est, SelfTaughtClustering) and est.lam == 0.5


def test_stc_init_both_keeps_the_lower_objective_of_the_two_starts():
    """Each restart of init="both" runs the aux start (drawn first, as init="aux" draws it) and
    then a k-means start, and keeps the lower J: never above init="aux" with the same seed."""
    for seed in range(3):
        X, Y = _counts(25, 12, seed, 0.4), _counts(40, 12, seed + 7, 0.4)
        kw = dict(n_feature_clusters=3, lam=1.0, random_state=seed)
        aux = SelfTaughtClustering(2, init="aux", **kw).fit(X, aux=Y)
        both = SelfTaughtClustering(2, init="both", **kw).fit(X, aux=Y)
        assert both.loss_ <= aux.loss_ + 1e-12
        assert np.all(np.diff(both.objective_history_) <= 1e-12)
    with pytest.raises(ConfigError, match="init must be one of"):
        SelfTaughtClustering(2, init="best").fit(X, aux=Y)
