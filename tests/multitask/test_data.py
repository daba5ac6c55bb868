"""Multi-task data: MultiMNIST generator, School and Landmine loaders, generic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from transferkit._utils import default_data_root
from transferkit.data.multitask import from_arrays, load_landmine, load_school, make_multimnist
from transferkit.exceptions import DataError

DATA = default_data_root()


def _digits(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 1, 28, 28), np.float32)
    for i in range(n):  # a distinct bright square per image
        r, c = rng.integers(0, 20, 2)
        X[i, 0, r : r + 8, c : c + 8] = 1.0
    return X, np.arange(n) % 10


def test_multimnist_layout_and_reproducibility():
    X, y = _digits()
    d1 = make_multimnist(X, y, 50, seed=3)
    d2 = make_multimnist(X, y, 50, seed=3)
    np.testing.assert_array_equal(d1.X, d2.X)
    assert d1.X.shape == (50, 1, 28, 28) and d1.X.min() >= 0 and d1.X.max() <= 1
    assert set(d1.targets) == {"left", "right"}
    assert not np.array_equal(d1.X, make_multimnist(X, y, 50, seed=4).X)
    # reconstruct sample 0 by hand: left digit top-left, right digit bottom-right, pixel max
    rng = np.random.default_rng(3)
    left, right = rng.integers(0, 20, 50), rng.integers(0, 20, 50)
    canvas = np.zeros((36, 36), np.float32)
    canvas[:28, :28] = X[left[0], 0]
    canvas[8:, 8:] = np.maximum(canvas[8:, 8:], X[right[0], 0])
    from transferkit.data.digits import resize_images

    np.testing.assert_allclose(d1.X[0, 0], resize_images(canvas[None, None], 28)[0, 0], atol=1e-6)
    assert d1.targets["left"][0] == y[left[0]] and d1.targets["right"][0] == y[right[0]]
    with pytest.raises(DataError, match="28, 28"):
        make_multimnist(np.zeros((3, 1, 16, 16)), np.zeros(3), 5, 0)


@pytest.mark.skipif(not (DATA / "school" / "school.mat").exists(), reason="shared School data absent")
def test_school():
    d = load_school(DATA)
    assert len(d.targets) == 139 and len(d) == 15362 and d.X.shape[1] == 28
    labelled = np.stack([np.isfinite(v) for v in d.targets.values()], 1)
    assert (labelled.sum(1) == 1).all()  # each student belongs to exactly one school task
    ys = np.concatenate([v[np.isfinite(v)] for v in d.targets.values()])
    assert ys.min() >= 1 and ys.max() <= 70
    tr, te = d.split(0.25, seed=0)
    assert len(tr) + len(te) == len(d) and set(np.unique(te.task_index)) == set(range(139))


@pytest.mark.skipif(not (DATA / "landmine" / "LandmineData.mat").exists(), reason="shared Landmine data absent")
def test_landmine():
    d = load_landmine(DATA)
    assert len(d.targets) == 29 and len(d) == 14820 and d.X.shape[1] == 9
    pos = sum(int((v == 1).sum()) for v in d.targets.values())
    assert pos == 904


def test_from_arrays_missing_labels():
    Y = np.array([[1.0, 0], [np.nan, 2], [0.5, np.nan]])
    d = from_arrays(np.zeros((3, 4)), Y, ["r", "c"], ["regression", "classification"])
    assert np.isnan(d.targets["r"][1]) and d.targets["c"][2] == -1 and d.num_outputs["c"] == 3
    with pytest.raises(DataError, match="2 label columns but 1 task names"):
        from_arrays(np.zeros((3, 4)), Y, ["r"])


def test_from_arrays_binary_kind_is_a_two_class_task():
    # data.task_kinds: binary passed the config but every run then failed with "task 'task0':
    # kind must be one of ('classification', ...), got 'binary'"
    Y = np.array([[1.0, 0.3], [np.nan, 1.2], [0.0, 2.0]])
    d = from_arrays(np.zeros((3, 4)), Y, ["b", "r"], ["binary", "regression"])
    assert d.kinds["b"] == "classification" and d.num_outputs["b"] == 2
    assert d.targets["b"].tolist() == [1, -1, 0]
    with pytest.raises(DataError, match="binary task 'r' has labels other than 0 and 1"):
        from_arrays(np.zeros((3, 4)), Y, ["b", "r"], "binary")
