"""PathNet transfer (Fernando et al., arXiv:1701.08734, 2017, Sec. 2.3 / 3.1) on the 8x8 digits.

Task A: digits 0-4 (all their samples but a held-out test fifth); task B: digits 5-9 with few
labels (``--b-per-class`` per class; the rest of B is its test set). Per seed:

* ``pathnet``: a PathNet evolves a pathway for A (binary tournaments), fixes it (its modules
  frozen, every other module re-initialised), then evolves a new population for B, which may
  run through A's frozen modules;
* ``scratch`` (the paper's "independent learning" control): the same PathNet, initialised with
  the same seed, evolves B alone with the same budget.

Both B runs get the same tournaments, population, T, minibatches and learning rate. Printed:
B's test accuracy of the best pathway after ``--tournaments``; the tournaments until a
contestant first reaches training fitness ``--target`` (the paper's speed measure; the budget
+1 when never); how many of B's active modules are A's frozen ones; A's test accuracy after B
(must not change). The verdict on B's test accuracy is the project's correlated t-test
against ``scratch`` with a ROPE of 1 point (``transferkit.experiments._verdicts``); the
tournaments to ``--target``, the paper's measure, are compared per seed by a Wilcoxon
signed-rank test.

Differences from the paper: 5-class digit tasks rather than binary MNIST pairs, Adam rather
than SGD, a population of 16 rather than 64, a fixed tournament budget with the stopping rule
only measured. The paper reports that task B evolves faster from the learnt PathNet than from
scratch or by fine-tuning on binary MNIST (abstract and Sec. 3.1); we do not reproduce its
numbers here.

    python benchmarks/pathnet_transfer.py [--seeds 3] [--tournaments 40] [--b-per-class 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from transferkit.data.digits import load_sklearn_digits
from transferkit.experiments._verdicts import compare_to_baseline
from transferkit.multitask import PathNet, PathNetEvolution, Task


def split(seed: int, b_per_class: int):
    d = load_sklearn_digits()
    X = torch.tensor(d.X.reshape(len(d.X), -1), dtype=torch.float32)
    X = X / X.max()
    y = torch.tensor(d.y, dtype=torch.long)
    rng = np.random.default_rng(seed)
    a_idx = rng.permutation(np.where(d.y < 5)[0])
    n_test = len(a_idx) // 5
    a_tr, a_te = a_idx[n_test:], a_idx[:n_test]
    b_tr, b_te = [], []
    for c in range(5, 10):
        idx = rng.permutation(np.where(d.y == c)[0])
        b_tr += list(idx[:b_per_class])
        b_te += list(idx[b_per_class:])
    b_tr, b_te = np.array(b_tr), np.array(b_te)
    return ((X[a_tr], y[a_tr]), (X[a_te], y[a_te]), (X[b_tr], y[b_tr] - 5), (X[b_te], y[b_te] - 5))


def correct(net: PathNet, path, task: str, X, y) -> np.ndarray:
    net.eval()
    with torch.no_grad():
        return (net.forward_path(X, path, task).argmax(1) == y).numpy().astype(np.float32)


def evolve(net, task, X, y, args, seed):
    evo = PathNetEvolution(net, task, X, y, population=args.population, steps_per_pathway=args.T,
                           batch_size=16, lr=args.lr, seed=seed)
    reached = None
    for t in range(args.tournaments):
        if evo.step()["best_fitness"] >= args.target and reached is None:
            reached = t + 1
    return evo.finish(), (reached if reached is not None else args.tournaments + 1)


def one_seed(seed: int, args) -> dict:
    (xa, ya), (xa_te, ya_te), (xb, yb), (xb_te, yb_te) = split(seed, args.b_per_class)

    def fresh():
        torch.manual_seed(seed)
        return PathNet([Task("A", 5), Task("B", 5)], input_shape=(64,), layers=3, modules=10, active=3,
                       width=20, seed=seed)

    out = {}
    net = fresh()
    path_a, out["a_tournaments"] = evolve(net, "A", xa, ya, args, seed)
    a_before = correct(net, path_a, "A", xa_te, ya_te)
    path_b, t_b = evolve(net, "B", xb, yb, args, seed + 1000)
    a_after = correct(net, path_a, "A", xa_te, ya_te)
    frozen_a = set(net.path_modules(path_a))
    out["pathnet"] = {"samples": correct(net, path_b, "B", xb_te, yb_te), "tournaments": t_b,
                      "reused": len(frozen_a & set(net.path_modules(path_b))),
                      "active": len(net.path_modules(path_b))}
    out["a_acc"], out["a_unchanged"] = float(a_before.mean()), bool(np.array_equal(a_before, a_after))
    net = fresh()
    path_s, t_s = evolve(net, "B", xb, yb, args, seed + 1000)
    out["scratch"] = {"samples": correct(net, path_s, "B", xb_te, yb_te), "tournaments": t_s, "reused": 0,
                      "active": len(net.path_modules(path_s))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--tournaments", type=int, default=40)
    ap.add_argument("--population", type=int, default=16)
    ap.add_argument("--T", type=int, default=50, help="minibatches each contestant trains (the paper's T)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--b-per-class", type=int, default=20)
    ap.add_argument("--target", type=float, default=0.99, help="training fitness that counts as learnt")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    res = [one_seed(s, args) for s in range(args.seeds)]
    print(f"PathNet on 8x8 digits: A = 0-4, B = 5-9 with {args.b_per_class} labels per class; "
          f"{args.tournaments} tournaments, population {args.population}, T = {args.T}, {args.seeds} seeds "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"task A test accuracy {np.mean([r['a_acc'] for r in res]):.3f}; A unchanged after B trained: "
          f"{all(r['a_unchanged'] for r in res)}; A reached fitness {args.target} after "
          f"{[r['a_tournaments'] for r in res]} tournaments")
    print(f"| task B from | test accuracy (mean ± sd) | per seed | tournaments to fitness {args.target} "
          "| B's modules that are A's (of active) | gain vs scratch [95% interval] | verdict |")
    print("|---|---|---|---|---|---|---|")
    scr = {s: float(r["scratch"]["samples"].mean()) for s, r in enumerate(res)}
    for name in ("scratch", "pathnet"):
        accs = [float(r[name]["samples"].mean()) for r in res]
        cells = [f"{np.mean(accs):.3f} ± {np.std(accs, ddof=1) if len(accs) > 1 else 0.0:.3f}",
                 " ".join(f"{a:.3f}" for a in accs),
                 f"{np.mean([r[name]['tournaments'] for r in res]):.1f}",
                 " ".join(f"{r[name]['reused']}/{r[name]['active']}" for r in res)]
        if name == "scratch":
            cells += ["–", "baseline"]
        else:
            v = compare_to_baseline({s: a for s, a in enumerate(accs)}, scr, rope=0.01,
                                    method_samples={s: r["pathnet"]["samples"] for s, r in enumerate(res)},
                                    baseline_samples={s: r["scratch"]["samples"] for s, r in enumerate(res)})
            cells += [f"{v.diff_mean:+.3f} [{v.low:+.3f}, {v.high:+.3f}]", v.verdict]
        print(f"| {name} | " + " | ".join(cells) + " |")
    # the paper's own measure: how fast B is learnt (tournaments until training fitness --target)
    t_scr = np.array([r["scratch"]["tournaments"] for r in res])
    t_pn = np.array([r["pathnet"]["tournaments"] for r in res])
    print(f"\ntournaments to training fitness {args.target} (budget + 1 = never), per seed:")
    print(f"  scratch {t_scr.tolist()}\n  pathnet {t_pn.tolist()}")
    diff = t_pn - t_scr
    line = f"  pathnet - scratch: mean {diff.mean():+.2f}, median {np.median(diff):+.1f}"
    if len(diff) > 1 and np.any(diff != 0):
        from scipy.stats import wilcoxon

        line += f"; Wilcoxon signed-rank (two-sided) p = {wilcoxon(t_pn, t_scr).pvalue:.3g}"
    print(line)


if __name__ == "__main__":
    main()
