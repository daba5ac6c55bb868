"""Amazon reviews (Blitzer et al.), 12 domain pairs: the shallow DANN of Ganin et al.
(JMLR 2016, Section 5.1.2 and Algorithm 1) vs the same network without the domain regressor
(their "NN"), beside the paper's Table 1 DANN row on the 5,000-dim unigram/bigram features.

Protocol, as in the paper and the authors' code (GRAAL-Research/domain_adversarial_neural_
network, ``DANN.py`` / ``experiments_amazon.py``), as far as the offline files allow:

* data: ``amazon_reviews_dann_5000`` (the authors' own files); raw term counts, not binarised;
  labelled source ``*_train`` split 90 % train / last 10 % validation, unlabelled target
  ``*_train`` (2,000), accuracy on the target ``*_test`` (3,586-5,945 reviews);
* network: one hidden layer of 50 *sigmoid* units, softmax output, Glorot-uniform weights
  (``sqrt(6 / (in + out))``), zero biases; domain regressor a logistic unit on the hidden
  layer, initialised at zero (``transferkit`` ``dann`` with ``hidden=()``);
* optimisation: plain SGD (no momentum, no weight decay), constant lr 1e-3 per sample,
  constant adaptation weight lambda on both the regressor and (through the GRL) the
  encoder; one random target sample per source sample;
* early stopping on the source validation risk with the authors' patience rule (keep going
  for at least 30 epochs and until 1.5 x the best epoch), best weights restored.

Differences, for CPU time on a shared 2-core machine: mini-batches of 50 source + 50 target
samples with *summed* losses (so the step per sample matches lr 1e-3), at most
``--max-epochs`` (60) epochs, ``--seeds`` (3) seeds, printed as mean ± sd over seeds
with the paired gain of DEV-selected DANN over NN (same seed, same pair). The paper chose
lambda (and the hidden size) per pair by reverse validation; here lambda is chosen per pair from ``--lambdas`` by the label-free
DEV scorer (You et al., ICML 2019; ``transferkit.create("scorer", "dev")``) on the *source
validation* split against the unlabelled target: no target label is used for selection.

    python benchmarks/adapt_amazon.py [--lambdas 0.1,1] [--max-epochs 60] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from torch import nn

import transferkit
from transferkit.adaptation import build_method
from transferkit.backbones import SequentialBackbone
from transferkit.data.domains import load_amazon_reviews

PAPER_DANN = {"B→D": 78.4, "B→E": 73.3, "B→K": 77.9, "D→B": 72.3, "D→E": 75.4, "D→K": 78.3,
              "E→B": 71.3, "E→D": 73.8, "E→K": 85.4, "K→B": 70.9, "K→D": 74.0, "K→E": 84.3}
NAMES = {"B": "books", "D": "dvd", "E": "electronics", "K": "kitchen"}
HIDDEN = 50


def make_network(seed: int, in_features: int = 5000) -> SequentialBackbone:
    """x -> sigmoid(W x + b) (50) -> logits (2), Glorot-uniform as in the authors' code."""
    torch.manual_seed(seed)
    lin = nn.Linear(in_features, HIDDEN)
    net = SequentialBackbone([nn.Sequential(lin, nn.Sigmoid())], HIDDEN, 2)
    for m in (lin, net.head):
        e = math.sqrt(6.0 / (m.in_features + m.out_features))
        nn.init.uniform_(m.weight, -e, e)
        nn.init.zeros_(m.bias)
    return net


def train(Xs, ys, Xt, Xv, yv, *, lam: float, lr: float, batch: int, max_epochs: int, seed: int):
    """Shallow DANN (``lam > 0``) or the plain network (``lam == 0``); returns the network
    with the weights of its best source-validation epoch, and that epoch."""
    net = make_network(seed)
    method = build_method("dann", HIDDEN, 2, hidden=(), grl_coeff=1.0)
    for p in method.parameters():
        nn.init.zeros_(p)
    opt = torch.optim.SGD(list(net.parameters()) + list(method.parameters()), lr=lr)
    g = torch.Generator().manual_seed(seed)
    best_risk, until, best_state, best_epoch = 2.0, 30, None, 0
    n = len(Xs)
    for epoch in range(max_epochs):
        order = torch.randperm(n, generator=g)
        tgt_idx = torch.randint(len(Xt), (n,), generator=g)
        for k in range(0, n, batch):
            i, j = order[k : k + batch], tgt_idx[k : k + batch]
            f_s = net.features(Xs[i])
            loss = nn.functional.cross_entropy(net.head(f_s), ys[i], reduction="sum")
            if lam > 0:  # the method averages each domain's BCE; x len -> per-sample sums
                loss = loss + lam * len(i) * method(f_s, net.features(Xt[j]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            risk = float((net(Xv).argmax(1) != yv).float().mean())
        if risk <= best_risk:
            best_risk, best_epoch = risk, epoch
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
            until = max(until, int(1.5 * epoch))
        elif epoch > until:
            break
    net.load_state_dict(best_state)
    return net, best_epoch


@torch.no_grad()
def outputs(net, X):
    f = net.features(X)
    return f.numpy(), net.head(f).softmax(1).numpy()


def pm(values, digits: int = 1) -> str:
    """``mean ± sd`` in percent (sample sd over seeds; 0.0 for one seed)."""
    v = 100 * np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lambdas", default="0.1,1")
    ap.add_argument("--max-epochs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1")
    ap.add_argument("--quick", action="store_true", help="2 pairs, 35 epochs")
    args = ap.parse_args()
    lambdas = [float(v) for v in args.lambdas.split(",")]
    seeds = list(range(args.seeds))
    pairs = list(PAPER_DANN)
    if args.quick:
        pairs, args.max_epochs = pairs[:2], 35
    torch.set_num_threads(1)
    start = time.perf_counter()
    dev = transferkit.create("scorer", "dev")
    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    data = {k: (load_amazon_reviews(v, "train"), load_amazon_reviews(v, "test")) for k, v in NAMES.items()}
    lam_cols = " | ".join(f"DANN λ={v:g}" for v in lambdas)
    print(f"accuracy %, mean ± sd over seeds {seeds}\n")
    print(f"| pair | NN (ours) | {lam_cols} | DANN, λ by DEV (ours) | DEV − NN | λ chosen | "
          f"DANN (Ganin et al. 2016) |")
    print("|---|---|" + "---|" * len(lambdas) + "---|---|---|---|")
    keys = ["nn", *(f"l{v}" for v in lambdas), "sel"]
    # acc[key][pair index][seed index]
    acc: dict[str, list[list[float]]] = {k: [] for k in keys}
    for pair in pairs:
        s, tg = pair.split("→")
        src, (tgt, tgt_test) = data[s][0], data[tg]
        n_tr = int(0.9 * len(src))  # the authors' split: last 10 % of the source for validation
        Xs, ys, Xv, yv = t(src.X[:n_tr]), t(src.y[:n_tr]), t(src.X[n_tr:]), t(src.y[n_tr:])
        Xt, Xte, yte = t(tgt.X), t(tgt_test.X), np.asarray(tgt_test.y)
        def accuracy(net, Xte=Xte, yte=yte):
            return float((outputs(net, Xte)[1].argmax(1) == yte).mean())

        row = {k: [] for k in keys}
        chosen_lams = []
        for seed in seeds:
            kw = dict(lr=args.lr, batch=args.batch, max_epochs=args.max_epochs, seed=seed)
            row["nn"].append(accuracy(train(Xs, ys, Xt, Xv, yv, lam=0.0, **kw)[0]))
            runs = []
            for lam in lambdas:
                net, _ = train(Xs, ys, Xt, Xv, yv, lam=lam, **kw)
                fv, pv = outputs(net, Xv)
                ft, _ = outputs(net, Xt)
                runs.append((dev(features_s=fv, probs_s=pv, y_s=yv.numpy(), features_t=ft), accuracy(net)))
                row[f"l{lam}"].append(runs[-1][1])
            chosen = max(range(len(lambdas)), key=lambda k: runs[k][0])
            row["sel"].append(runs[chosen][1])
            chosen_lams.append(lambdas[chosen])
        for k in keys:
            acc[k].append(row[k])
        gain = np.subtract(row["sel"], row["nn"])
        counts = ", ".join(f"{v:g}×{chosen_lams.count(v)}" for v in lambdas if v in chosen_lams)
        cells = " | ".join(pm(row[f"l{v}"]) for v in lambdas)
        print(f"| {pair} | {pm(row['nn'])} | {cells} | {pm(row['sel'])} | {pm(gain, 2)} | {counts} "
              f"| {PAPER_DANN[pair]} |", flush=True)

    def over_pairs(k):  # per seed: mean over the pairs
        return np.mean(acc[k], axis=0)

    gain = over_pairs("sel") - over_pairs("nn")
    lam_means = " | ".join(pm(over_pairs(f"l{v}")) for v in lambdas)
    print(f"| mean | {pm(over_pairs('nn'))} | {lam_means} | {pm(over_pairs('sel'))} | {pm(gain, 2)} | "
          f"| {np.mean([PAPER_DANN[p] for p in pairs]):.1f} |")
    print("\nmean over the pairs, per seed:")
    for k in keys:
        print(f"  {k}: " + ", ".join(f"{100 * v:.2f}" for v in over_pairs(k)))
    print("  DEV − NN: " + ", ".join(f"{100 * v:+.2f}" for v in gain))
    for v in lambdas:
        g = over_pairs(f"l{v}") - over_pairs("nn")
        print(f"  λ={v:g} − NN: " + ", ".join(f"{100 * x:+.2f}" for x in g) + f"  ({pm(g, 2)})")
    pair_gain = np.subtract(acc["sel"], acc["nn"])  # pairs x seeds
    print(f"pair x seed cases where DEV-selected DANN beats NN: {(pair_gain > 0).sum()} of {pair_gain.size}, "
          f"ties {(pair_gain == 0).sum()}")
    print(f"\nsigmoid 50, SGD lr {args.lr:g}/sample, batch {args.batch}+{args.batch}, ≤{args.max_epochs} epochs, "
          f"early stopping on source validation, seeds {seeds}; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
