"""Digit loaders read the real files with the published counts, and fail clearly without them."""

import numpy as np
import pytest
from scipy.io import savemat

from transferkit.data import load_mnist, load_mnist_usps_jda, load_svhn, load_usps
from transferkit.exceptions import DataError


def test_mnist_test_set_matches_the_published_counts(data_root):
    d = load_mnist(data_root, split="test")
    assert d.X.shape == (10000, 1, 28, 28) and d.X.dtype == np.float32 and d.X.max() == 1.0
    assert np.bincount(d.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_usps_matches_the_standard_counts(data_root):
    train, test = load_usps(data_root, "train"), load_usps(data_root, "test")
    assert train.X.shape == (7291, 1, 16, 16) and test.X.shape == (2007, 1, 16, 16)
    assert np.bincount(test.y).tolist() == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]


def test_jda_pair_labels_are_digits(data_root):
    src, tgt = load_mnist_usps_jda(data_root)
    assert (len(src), len(tgt)) == (2000, 1800)
    assert np.bincount(src.y).tolist() == [196, 227, 207, 202, 196, 179, 191, 206, 195, 201]


def test_svhn_reads_the_mat_layout(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    savemat(tmp_path / "test_32x32.mat", {"X": X, "y": np.array([[10], [1], [2], [3], [10]])})
    d = load_svhn(tmp_path, "test")
    assert d.X.shape == (5, 3, 32, 32)
    assert d.y.tolist() == [0, 1, 2, 3, 0]  # label 10 is the digit 0
    np.testing.assert_allclose(d.X[1, 2], X[:, :, 2, 1] / 255.0)


def test_svhn_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="SVHN file 'train_32x32.mat' not found"):
        load_svhn(tmp_path, "train")


def test_mnist_usps_spec_keeps_the_official_usps_test_split(data_root):
    from transferkit.data._kinds import load_data
    from transferkit.experiments._config import CompareData

    d = load_data(CompareData(kind="mnist_usps", root=str(data_root)), "compare")
    assert (len(d.source), len(d.target), len(d.target_test)) == (10000, 7291, 2007)
    assert d.source.input_shape == d.target.input_shape == (1, 28, 28)
