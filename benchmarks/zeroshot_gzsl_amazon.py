"""(b) Generalised zero-shot learning on Amazon reviews: 8 classes = 4 domains x 2 polarities.

Classes: books, dvd, electronics, kitchen (Blitzer et al., ACL 2007; ``amazon_reviews_text``)
x negative/positive. Inputs: all-MiniLM-L6-v2 review embeddings (384-d, offline, cached; a
seeded balanced subset of ``--max-per-domain`` reviews per domain). Class embeddings: MiniLM
embeddings of one fixed description per class, "A {negative|positive} review of {a book | a
DVD | an electronics product | a kitchen product}.".

Two classes are unseen (two fixed splits, so that every domain and every polarity is still
seen in some class): U1 = {books-positive, kitchen-negative}, U2 = {dvd-negative,
electronics-positive}. Per split and seed (3 seeds): each seen class's reviews are split
60 % trainval / 40 % test-seen; all unseen-class reviews are test-unseen.

Calibrated stacking (Chao et al., ECCV 2016): γ is chosen on validation data only, GBU style:
2 seen classes (one negative, one positive, drawn per seed) are held out as validation-unseen
classes, the model is trained on the other seen classes' trainval reviews minus a 25 %
validation part, γ maximises H on (that validation part + the validation-unseen classes'
reviews), then the model is re-trained on all trainval reviews and tested with that γ.

Methods: ``description_similarity`` (no training: cosine between review and description
embeddings), ``eszsl`` (γ = λ = 1), ``conse`` (T = 10, i.e. all 6 seen classes),
``ale``, ``sje``, ``devise`` (bilinear compatibility from review embeddings to description
embeddings, Adam lr 1e-3, 30 epochs). Reported: class-averaged u, s, H without and with
calibrated stacking, and AUSUC, mean ± sd over the runs (``--splits U1,U2`` x 3 seeds;
one split per process runs them side by side).

    python benchmarks/zeroshot_gzsl_amazon.py [--max-per-domain 1000] [--seeds 3] [--splits U1,U2]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from zeroshot_common import embed, encoder, load_amazon_text

import transferkit
from transferkit.zeroshot import (
    encode_texts,
    gzsl_evaluate,
    seen_unseen_curve,
    select_calibration_gamma,
)

DOMAINS = {"books": "a book", "dvd": "a DVD", "electronics": "an electronics product", "kitchen": "a kitchen product"}
POLARITY = ("negative", "positive")
CLASSES = [f"{d}-{p}" for d in DOMAINS for p in POLARITY]
DESCRIPTIONS = [f"A {p} review of {DOMAINS[d]}." for d in DOMAINS for p in POLARITY]
SPLITS = {"U1": ("books-positive", "kitchen-negative"), "U2": ("dvd-negative", "electronics-positive")}
METHODS = ["description_similarity", "eszsl", "conse", "ale", "sje", "devise"]


def make(name: str, seed: int):
    if name in ("ale", "sje", "devise"):
        return transferkit.create("zeroshot", name, epochs=30, seed=seed)
    return transferkit.create("zeroshot", name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-per-domain", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--splits", default="U1,U2", help="which unseen-class splits to run (comma-separated)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: on a shared 2-core machine, 2 threads made the small bilinear models ~18x slower)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    splits = {k: SPLITS[k] for k in args.splits.split(",")}
    t0 = time.time()
    Xs, ys = [], []
    for k, d in enumerate(DOMAINS):
        texts, pol = load_amazon_text(d, args.max_per_domain)
        Xs.append(embed(f"amazon_{d}_{args.max_per_domain}", texts))
        ys.append(2 * k + pol)
    X, y = np.concatenate(Xs).astype(np.float64), np.concatenate(ys)
    S = encode_texts(DESCRIPTIONS, encoder=encoder())
    rows = {m: {k: [] for k in ("u", "s", "h", "u_cal", "s_cal", "h_cal", "gamma", "ausuc")} for m in METHODS}
    for split, names in splits.items():
        unseen = np.array([CLASSES.index(c) for c in names])
        seen = np.setdiff1d(np.arange(8), unseen)
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            trainval, test_seen = [], []
            for c in seen:
                idx = rng.permutation(np.flatnonzero(y == c))
                cut = int(0.6 * len(idx))
                trainval.append(idx[:cut])
                test_seen.append(idx[cut:])
            trainval, test_seen = np.concatenate(trainval), np.concatenate(test_seen)
            test_unseen = np.flatnonzero(np.isin(y, unseen))
            # validation for gamma: one negative + one positive seen class held out
            val_unseen = np.array([rng.choice([c for c in seen if c % 2 == p]) for p in (0, 1)])
            val_seen_cls = np.setdiff1d(seen, val_unseen)
            tv_pool = trainval[np.isin(y[trainval], val_seen_cls)]
            tv_pool = rng.permutation(tv_pool)
            n_val = len(tv_pool) // 4
            val_part, fit_part = tv_pool[:n_val], tv_pool[n_val:]
            val_idx = np.concatenate([val_part, trainval[np.isin(y[trainval], val_unseen)]])
            test_idx = np.concatenate([test_seen, test_unseen])
            for name in METHODS:
                cand_val = np.concatenate([val_seen_cls, val_unseen])
                m_val = make(name, seed).fit(X[fit_part], y[fit_part], S, seen_classes=val_seen_cls)
                gamma = select_calibration_gamma(
                    m_val.decision_function(X[val_idx], candidate_classes=cand_val), y[val_idx],
                    val_seen_cls, val_unseen, candidate_classes=cand_val)
                model = make(name, seed).fit(X[trainval], y[trainval], S, seen_classes=seen)
                F = model.decision_function(X[test_idx])
                raw = gzsl_evaluate(F, y[test_idx], seen, unseen)
                cal = gzsl_evaluate(F, y[test_idx], seen, unseen, gamma=gamma)
                curve = seen_unseen_curve(F, y[test_idx], seen, unseen)
                r = rows[name]
                for k, v in (("u", raw.u), ("s", raw.s), ("h", raw.h), ("u_cal", cal.u), ("s_cal", cal.s),
                             ("h_cal", cal.h), ("gamma", gamma), ("ausuc", curve.ausuc)):
                    r[k].append(v)
            print(f"  {split} seed {seed}: " + ", ".join(
                f"{m} H {100 * rows[m]['h'][-1]:.1f}->{100 * rows[m]['h_cal'][-1]:.1f}" for m in METHODS), flush=True)

    n = len(splits) * args.seeds
    print(f"\n# GZSL, Amazon 4 domains x 2 polarities (8 classes, 2 unseen), MiniLM review and description "
          f"embeddings; {len(y)} reviews; {n} runs (splits {','.join(splits)} x {args.seeds} seeds); {platform.machine()}, "
          f"{time.strftime('%Y-%m-%d')}, {time.time() - t0:.0f}s")
    print("# class-averaged accuracy, %, mean ± sd over runs; 'cal.' = calibrated stacking, γ from validation only\n")
    print("| method | u | s | H | u cal. | s cal. | H cal. | γ | AUSUC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in METHODS:
        r = rows[name]
        cells = [f"{100 * np.mean(r[k]):.1f} ± {100 * np.std(r[k]):.1f}"
                 for k in ("u", "s", "h", "u_cal", "s_cal", "h_cal")]
        cells.append(f"{np.mean(r['gamma']):.3g} ± {np.std(r['gamma']):.2g}")
        cells.append(f"{100 * np.mean(r['ausuc']):.1f} ± {100 * np.std(r['ausuc']):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
