import numpy as np
import pytest
import torch
from torch import nn

from transferkit.exceptions import DataError
from transferkit.zeroshot import DescriptionSimilarity, encode_texts


class CharCounts(nn.Module):
    """A stand-in text encoder: counts of 'a', 'b', 'c' per text."""

    calls = 0

    def features(self, texts):
        CharCounts.calls += 1
        return torch.tensor([[t.count(c) for c in "abc"] for t in texts], dtype=torch.float32)


def test_encode_texts_batches_and_caches(tmp_path):
    enc = CharCounts()
    texts = ["aa", "b", "cc c", "abc", "a"]
    CharCounts.calls = 0
    emb = encode_texts(texts, encoder=enc, batch_size=2, cache=tmp_path / "e.npy")
    np.testing.assert_array_equal(emb, [[2, 0, 0], [0, 1, 0], [0, 0, 3], [1, 1, 1], [1, 0, 0]])
    assert CharCounts.calls == 3  # ceil(5 / 2) batches
    again = encode_texts(texts, encoder=enc, cache=tmp_path / "e.npy")
    assert CharCounts.calls == 3 and np.array_equal(again, emb)  # read from the cache
    with pytest.raises(DataError, match="no texts"):
        encode_texts([], encoder=enc)


def test_description_similarity_is_the_cosine():
    X = np.array([[1.0, 0.0], [1.0, 1.0]])
    S = np.array([[2.0, 0.0], [0.0, 3.0]])
    m = DescriptionSimilarity().fit(X, np.array([0, 0]), S, seen_classes=[0])
    np.testing.assert_allclose(m.decision_function(X), [[1.0, 0.0], [2 ** -0.5, 2 ** -0.5]])
    with pytest.raises(DataError, match="one embedding space"):
        DescriptionSimilarity().fit(np.ones((2, 3)), np.array([0, 0]), S)
