"""Every transferability score: hand computations, invariances, input handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.covariance import LedoitWolf

import transferkit as tk
from transferkit.exceptions import ConfigError, DataError, UnknownNameError
from transferkit.transferability import (
    FEATURE_SCORES,
    SOURCE_OUTPUT_SCORES,
    gbc,
    h_score,
    leep,
    nce,
    shrinkage_h_score,
    transferability_scores,
    transrate,
)


def _data(n=120, d=6, c=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    y[:c] = np.arange(c)
    f = rng.standard_normal((c, d))[y] + rng.standard_normal((n, d))
    probs = rng.dirichlet(np.ones(5), n)
    return f, y, probs


def test_registry_lists_every_score_and_create_computes_it():
    names = {m.name for m in tk.list_methods("transferability")}
    assert names == set(FEATURE_SCORES) | set(SOURCE_OUTPUT_SCORES)
    f, y, p = _data()
    assert (
        tk.create("transferability", "logme", features=f, labels=y)
        == transferability_scores(y, features=f, names=["logme"])["logme"]
    )
    assert tk.create("transferability", "leep", source_probs=p, labels=y) == leep(p, y)


def test_leep_by_hand():
    theta = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    y = np.array([0, 1, 0])
    # joint P(y, z) = [[1.3, 0.7], [0.2, 0.8]] / 3, P(z) = [1.5, 1.5] / 3
    # expected predictions: 0.7*1.3/1.5 + 0.3*0.7/1.5, 0.2*0.2/1.5 + 0.8*0.8/1.5, ...
    expected = np.mean(np.log(np.array([1.12, 0.68, 1.06]) / 1.5))
    assert leep(theta, y) == pytest.approx(expected, abs=1e-12)


def test_leep_source_class_with_zero_probability_is_not_nan():
    theta = np.array([[0.7, 0.0, 0.3], [0.2, 0.0, 0.8], [0.6, 0.0, 0.4]])
    y = np.array([0, 1, 0])
    assert leep(theta, y) == pytest.approx(np.mean(np.log(np.array([1.12, 0.68, 1.06]) / 1.5)))


def test_leep_rejects_logits():
    with pytest.raises(DataError, match="softmax outputs"):
        leep(np.array([[2.0, -1.0], [0.5, 0.1]]), np.array([0, 1]))


def test_nce_by_hand():
    z = np.array([0, 0, 1, 1])
    y = np.array([0, 1, 1, 1])
    # P(y,z): (0,0) 1/4, (1,0) 1/4, (1,1) 1/2; P(z) = 1/2, 1/2
    assert nce(z, y) == pytest.approx(0.5 * np.log(0.5), abs=1e-12)
    assert nce(np.eye(2)[z], y) == nce(z, y)  # probabilities -> arg-max labels
    assert nce(y, y) == pytest.approx(0.0)  # source label determines the target label


def test_h_score_of_noise_free_class_means_is_their_rank():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 4
    f = rng.standard_normal((4, 10))[y]
    # cov(f) = cov(E[f|y]) of rank C - 1 = 3, so tr(cov(f)^+ cov(E[f|y])) = 3
    assert h_score(f, y) == pytest.approx(3.0, abs=1e-6)


def test_h_score_matches_its_definition_with_sample_covariances():
    f, y, _ = _data()
    g = np.stack([f[y == c].mean(0) for c in range(4)])[y]  # each sample -> its class mean
    expected = np.trace(np.linalg.pinv(np.cov(f, rowvar=False)) @ np.cov(g, rowvar=False))
    assert h_score(f, y) == pytest.approx(expected, rel=1e-9)


def test_shrinkage_h_score_matches_sklearn_ledoit_wolf():
    f, y, _ = _data(n=40, d=30)
    lw = LedoitWolf().fit(f)
    fc = f - f.mean(0)
    g = np.stack([fc[y == c].mean(0) for c in range(4)])[y]
    expected = np.trace(np.linalg.inv(lw.covariance_) @ ((1 - lw.shrinkage_) * (g.T @ g / len(f))))
    assert shrinkage_h_score(f, y) == pytest.approx(expected, rel=1e-9)


def test_transrate_matches_coding_rates_in_feature_space():
    f, y, _ = _data(n=60, d=25)  # classes have fewer samples than dimensions: the Gram swaps

    def rate(z, eps=1e-4):
        return 0.5 * np.linalg.slogdet(np.eye(z.shape[1]) + z.T @ z / (len(z) * eps))[1]

    zc = f - f.mean(0)
    expected = rate(zc) - np.mean([rate(zc[y == c]) for c in range(4)])
    assert transrate(f, y) == pytest.approx(expected, rel=1e-9)


def test_gbc_by_hand():
    f = np.array([[-1.0], [1.0], [2.0], [4.0]])
    y = np.array([0, 0, 1, 1])
    # means 0 and 3, variances 1 and 1: D_B = 9 / 8, two ordered pairs
    assert gbc(f, y) == pytest.approx(-2 * np.exp(-9 / 8))
    assert gbc(f, y, gaussian="diagonal") == pytest.approx(-2 * np.exp(-9 / 8))
    # equal means, spherical variances 1 and 4 in D = 2: D_B = D/2 log(2.5 / 2) -> BC = 0.8
    f2 = np.array([[1, 1], [-1, -1], [2, -2], [-2, 2.0]])
    y2 = np.array([0, 0, 1, 1])
    assert gbc(f2, y2) == pytest.approx(-1.6)
    assert gbc(f2, y2, gaussian="diagonal") == pytest.approx(-1.6)


@pytest.mark.parametrize("name", FEATURE_SCORES + SOURCE_OUTPUT_SCORES)
def test_every_score_is_invariant_to_renaming_class_ids(name):
    f, y, p = _data()
    renamed = np.array([7, 2, 40, 5])[y]  # a permutation of the ids, with gaps
    src_perm = np.array([3, 0, 4, 1, 2])
    if name in FEATURE_SCORES:
        a = transferability_scores(y, features=f, names=[name])[name]
        b = transferability_scores(renamed, features=f, names=[name])[name]
    else:  # also rename the source classes (permute the probability columns)
        a = transferability_scores(y, source_probs=p, names=[name])[name]
        b = transferability_scores(renamed, source_probs=p[:, src_perm], names=[name])[name]
    assert np.isfinite(a)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_feature_scores_accept_torch_tensors(name):
    f, y, _ = _data()
    a = transferability_scores(y, features=f, names=[name])[name]
    b = transferability_scores(torch.from_numpy(y), features=torch.from_numpy(f), names=[name])[
        name
    ]
    assert b == pytest.approx(a, rel=1e-9)


@pytest.mark.parametrize("name", FEATURE_SCORES)
def test_feature_scores_rank_separable_features_above_noise(name):
    rng = np.random.default_rng(1)
    y = np.arange(200) % 4
    centres = rng.standard_normal((4, 8))
    good = 3 * centres[y] + rng.standard_normal((200, 8))
    bad = 0.1 * centres[y] + rng.standard_normal((200, 8))
    s = transferability_scores(y, features=good, names=[name])[name]
    t = transferability_scores(y, features=bad, names=[name])[name]
    assert s > t


def test_scores_helper_errors():
    f, y, p = _data()
    assert set(transferability_scores(y, features=f, source_probs=p)) == set(FEATURE_SCORES) | set(
        SOURCE_OUTPUT_SCORES
    )
    with pytest.raises(UnknownNameError, match="'logme'"):
        transferability_scores(y, features=f, names=["logm"])
    with pytest.raises(ConfigError, match="needs source_probs"):
        transferability_scores(y, features=f, names=["leep"])
    with pytest.raises(ConfigError, match="gaussian must be"):
        gbc(f, y, gaussian="full")
    with pytest.raises(DataError, match=r"shape \[N, D\]"):
        transrate(f[0], y)
