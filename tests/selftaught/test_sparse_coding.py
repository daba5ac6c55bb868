"""Sparse-coding self-taught features: patches, codes against scikit-learn, pooling, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.decomposition import sparse_encode
from sklearn.feature_extraction.image import extract_patches_2d

from transferkit.exceptions import ConfigError, DataError
from transferkit.selftaught import SelfTaughtFeatures, sample_patches
from transferkit.selftaught._patches import dense_patches, normalize_patches


@pytest.fixture(scope="module")
def _fitted():
    rng = np.random.default_rng(0)
    source = [rng.random((20, 24)), rng.random((18, 30))]  # sizes differ, as photos do
    return SelfTaughtFeatures(12, patch_size=(4, 4), pool_grid=(2, 2), n_patches=400,
                              max_iter=1, random_state=0).fit(source)


@pytest.fixture
def fitted(_fitted):
    return copy.deepcopy(_fitted)  # each test may change parameters of its own copy


def test_dense_patches_are_sklearns_patches():
    rng = np.random.default_rng(1)
    imgs = rng.random((2, 7, 6))
    P = dense_patches(imgs, (3, 2), stride=1)
    for i in range(2):
        ref = extract_patches_2d(imgs[i], (3, 2)).reshape(-1, 6)
        np.testing.assert_array_equal(P[i].reshape(-1, 6), ref)
    np.testing.assert_array_equal(dense_patches(imgs, (3, 2), 2), P[:, ::2, ::2])


@pytest.mark.parametrize("algorithm,kw", [("omp", dict(transform_n_nonzero_coefs=3)),
                                          ("lasso_lars", dict(transform_alpha=0.1)),
                                          ("threshold", dict(transform_alpha=0.2))])
def test_codes_and_reconstruction_match_sklearn_on_the_same_dictionary(fitted, algorithm, kw):
    est = fitted.set_params(transform_algorithm=algorithm, **kw)
    rng = np.random.default_rng(2)
    patches = normalize_patches(rng.random((30, 16)), est.norm_eps)
    ref = sparse_encode(patches, est.dictionary_, algorithm=algorithm,
                        n_nonzero_coefs=kw.get("transform_n_nonzero_coefs"),
                        alpha=kw.get("transform_alpha"))
    codes = est.encode(patches)
    np.testing.assert_allclose(codes, ref, atol=1e-10)
    np.testing.assert_allclose(codes @ est.dictionary_, ref @ est.dictionary_, atol=1e-10)
    if algorithm == "omp":  # 3 atoms of 12 explain a good part of each patch
        err = np.linalg.norm(patches - codes @ est.dictionary_) / np.linalg.norm(patches)
        assert err < 0.9


def test_transform_pools_split_codes_over_the_grid(fitted):
    est = fitted.set_params(transform_algorithm="threshold", transform_alpha=0.2)
    rng = np.random.default_rng(3)
    X = rng.random((3, 10, 10))
    F = est.transform(X)
    assert F.shape == (3, est.n_features_out_) == (3, 2 * 12 * 4)
    # by hand: code every 4x4 patch (7x7 grid), split signs, sum each 2x2 region of the grid
    P = normalize_patches(dense_patches(X, (4, 4), 1).reshape(-1, 16), est.norm_eps)
    codes = sparse_encode(P, est.dictionary_, algorithm="threshold", alpha=0.2)
    codes = codes.reshape(3, 7, 7, 12)
    split = np.concatenate([np.maximum(codes, 0), np.maximum(-codes, 0)], axis=-1)
    edges = [0, 4, 7]  # round(linspace(0, 7, 3)) = 0, 3.5 -> 4, 7
    ref = np.concatenate([split[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]].sum((1, 2))
                          for i in range(2) for j in range(2)], axis=1)
    np.testing.assert_allclose(F, ref, atol=1e-10)
    assert np.all(F >= 0)
    # flat rows with image_shape give the same features
    flat = est.set_params(image_shape=(10, 10)).transform(X.reshape(3, 100))
    np.testing.assert_allclose(flat, F)


def test_flat_patches_get_the_zero_code(fitted):
    codes = fitted.encode(np.zeros((4, 16)))
    assert np.all(codes == 0)


def test_sample_patches_come_from_the_images():
    img = np.arange(60, dtype=float).reshape(6, 10)
    P = sample_patches([img], (2, 3), 20, random_state=0)
    allp = extract_patches_2d(img, (2, 3)).reshape(-1, 6)
    for p in P:
        assert np.any(np.all(allp == p, axis=1))


def test_errors_are_clear(fitted):
    with pytest.raises(ConfigError, match="not fitted"):
        SelfTaughtFeatures().transform(np.zeros((2, 8, 8)))
    with pytest.raises(ConfigError, match="transform_algorithm must be one of"):
        SelfTaughtFeatures(transform_algorithm="fista").fit([np.zeros((9, 9))])
    with pytest.raises(ConfigError, match="pass image_shape"):
        fitted.transform(np.zeros((2, 64)))
    with pytest.raises(DataError, match="smaller than the patch"):
        fitted.transform(np.zeros((2, 3, 3)))
    with pytest.raises(DataError, match="smaller than pool_grid"):
        fitted.transform(np.zeros((2, 4, 4)))
    with pytest.raises(ConfigError, match="alpha must be > 0, got 0"):
        SelfTaughtFeatures(alpha=0).fit([np.zeros((9, 9))])
