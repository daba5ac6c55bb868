"""Speed of self-taught clustering: seconds to fit against the number of documents.

Synthetic sparse counts shaped like 20 Newsgroups bags of words (about 50 distinct words per
document drawn from a Zipf-like vocabulary of ``--features`` words), target and auxiliary data
of ``n`` documents each; 2 target clusters, 32 feature clusters, default settings
(``init='both'``: the auxiliary and the k-means start, the lower objective kept; at most 50
rounds). Prints the fit time, the rounds and the time per round, and
the same for the single auxiliary start (``init='aux'``) and for co-clustering the target
alone. Wall seconds depend on the machine's load; CPU
seconds (``time.process_time``, all threads of this process) much less so.

    nice -n 5 python benchmarks/cluster_speed.py [--sizes 500,1000,2000,4000,8000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp

from transferkit.clustering import InformationTheoreticCoClustering, SelfTaughtClustering


def corpus(n: int, m: int, rng: np.random.Generator, words: int = 50) -> sp.csr_matrix:
    topic = rng.integers(0, 2, n)
    base = 1.0 / np.arange(1, m + 1)
    tilt = np.where(np.arange(m) % 2 == 0, 1.5, 0.5)
    probs = np.stack([base * tilt, base / tilt])
    probs /= probs.sum(1, keepdims=True)
    rows = np.repeat(np.arange(n), words)
    cols = np.concatenate([rng.choice(m, words, p=probs[t]) for t in topic])
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, m))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,1000,2000,4000,8000")
    ap.add_argument("--features", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print("| documents (target = auxiliary) | features | method | fit wall seconds | "
          "fit CPU seconds | rounds | CPU seconds per round |")
    print("|---|---|---|---|---|---|---|")
    for n in map(int, args.sizes.split(",")):
        X, A = corpus(n, args.features, rng), corpus(n, args.features, rng)
        for name, est, kw in (("stc", SelfTaughtClustering(2, random_state=0), {"aux": A}),
                              ("stc, init=aux", SelfTaughtClustering(2, init="aux", random_state=0),
                               {"aux": A}),
                              ("itcc", InformationTheoreticCoClustering(2, random_state=0), {})):
            t, c = time.perf_counter(), time.process_time()
            est.fit(X, **kw)
            dt, dc = time.perf_counter() - t, time.process_time() - c
            print(f"| {n} | {args.features} | {name} | {dt:.2f} | {dc:.2f} | {est.n_iter_} | "
                  f"{dc / max(est.n_iter_, 1):.3f} |", flush=True)


if __name__ == "__main__":
    main()
