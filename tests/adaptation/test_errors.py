import numpy as np
import pytest
import torch

from transferkit.data import Domain
from transferkit.data.domains import make_partial_target
from transferkit.exceptions import DataError, UnknownNameError

from ._helpers import METHOD_NAMES, small_method


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_different_feature_dims(name):
    m = small_method(name)
    with pytest.raises(DataError, match="dimension 6.*dimension 4"):
        m(torch.randn(5, 6), torch.randn(5, 4), logits_s=torch.randn(5, 3),
          logits_t=torch.randn(5, 3), y_s=torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_empty_target_batch(name):
    m = small_method(name)
    with pytest.raises(DataError, match="target batch is empty"):
        m(torch.randn(5, 6), torch.randn(0, 6), logits_s=torch.randn(5, 3),
          logits_t=torch.randn(0, 3), y_s=torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_source_without_labels(name):
    m = small_method(name)
    with pytest.raises(DataError, match="no labels"):
        m.source_loss(torch.randn(5, 3), None)
    if m.needs_labels:
        with pytest.raises(DataError, match="needs source labels"):
            m(torch.randn(5, 6), torch.randn(4, 6), logits_s=torch.randn(5, 3), logits_t=torch.randn(4, 3))


def test_missing_logits_named():
    m = small_method("cdan")
    with pytest.raises(DataError, match="needs logits_s and logits_t"):
        m(torch.randn(5, 6), torch.randn(4, 6))


def test_bad_hyperparameters_named():
    import transferkit

    with pytest.raises(ValueError, match="feature_dim must be an integer > 0, got -1"):
        transferkit.create("adaptation", "dann", feature_dim=-1)
    with pytest.raises(ValueError, match="trade_off must be >= 0, got -1"):
        transferkit.create("adaptation", "deep_coral", trade_off=-1)
    with pytest.raises(UnknownNameError, match="Did you mean 'dann'"):
        transferkit.create("adaptation", "dan_n")


def _dom(labels, name, n_classes=None):
    y = np.asarray(labels)
    return Domain(np.zeros((len(y), 2), np.float32), y, name, n_classes)


def test_partial_transfer_class_mismatch():
    src = _dom(np.arange(10).repeat(3), "src", 10)
    tgt = _dom(np.arange(10).repeat(2), "tgt", 10)
    out = make_partial_target(src, tgt, 5)
    assert sorted(set(out.y.tolist())) == [0, 1, 2, 3, 4] and out.num_classes == 10
    with pytest.raises(DataError, match="between 1 and 9 target classes for 10 source classes, got 10"):
        make_partial_target(src, tgt, 10)
    with pytest.raises(DataError, match=r"no samples of classes \[3\]"):
        make_partial_target(src, _dom([0, 1, 2, 4], "tgt2", 10), 5)
    with pytest.raises(DataError, match=r"source domain 'src2' lacks classes \[9\]"):
        make_partial_target(_dom(np.arange(9), "src2", 10), tgt, 5)
    with pytest.raises(DataError, match=r"target classes \[12\] are not source classes"):
        make_partial_target(src, tgt, [0, 12])
