"""Do the transferability scores pick the right source model? A zoo trained by transferkit itself.

Target: USPS (28x28, the official split: the scores read a few labelled samples per class of
the 7,291 training images, fine-tuning is tested on the 2,007 test images). Zoo: LeNets
(transferkit's ``lenet``, 128-d features, a 10-class source head) trained here from scratch on

* ``mnist``: MNIST (the first ``--n-source`` of the 10,000 offline test images);
* ``mnist_0to4``: the same images of digits 0-4 only (a 5-class head);
* ``mnist_inverted``: the same images with inverted intensities (white background);
* ``sklearn_digits``: scikit-learn's 1,797 embedded 8x8 digits, resized to 28x28;
* ``mnist_shuffled``: the same MNIST images with randomly permuted labels (features that
  memorise noise: should rank at the bottom);
* ``random``: no training at all (random weights, random head).

Then ``transferkit rank`` with ``--validate`` (the command's runner: scores on the target
pool, fine-tuning every candidate with one strategy over several seeds, agreement of each
score's ranking with the measured accuracies), and the same scores on a larger pool with the
same accuracies.

    PYTHONPATH=src python benchmarks/transferability_zoo.py --root ../shared/data --out runs/zoo
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from transferkit.backbones import create_backbone
from transferkit.data.digits import load_mnist, load_sklearn_digits, resize_images
from transferkit.experiments import parse_config
from transferkit.experiments.rank import agreement, run_rank


def train_source(X: np.ndarray, y: np.ndarray, classes: int, epochs: int, seed: int) -> tuple[torch.nn.Module, float]:
    """A LeNet trained from scratch with Adam (lr 1e-3, batch 64); returns it and its train accuracy."""
    torch.manual_seed(seed)
    model = create_backbone("lenet", num_outputs=classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(Xt), generator=g).split(64):
            opt.zero_grad()
            F.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return model, _accuracy(model, X, y)


def _accuracy(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model.eval()
    with torch.no_grad():
        return float(torch.cat([model(Xt[i : i + 512]).argmax(1) for i in range(0, len(Xt), 512)]).eq(yt).float().mean())


def build_zoo(root: str, out: Path, n_source: int, epochs: int, reuse: bool = False) -> list[dict]:
    mnist = load_mnist(root, split="test")
    X, y = mnist.X[:n_source], mnist.y[:n_source]
    digits = load_sklearn_digits()
    Xd = resize_images(digits.X, 28)
    rng = np.random.default_rng(12345)
    low = y < 5
    sources = {
        "mnist": (X, y, 10),
        "mnist_0to4": (X[low], y[low], 5),
        "mnist_inverted": (1.0 - X, y, 10),
        "sklearn_digits": (Xd.astype(np.float32), digits.y, 10),
        "mnist_shuffled": (X, rng.permutation(y), 10),
    }
    zoo = []
    out.mkdir(parents=True, exist_ok=True)
    for name, (Xs, ys, k) in sources.items():
        start = time.perf_counter()
        path = out / f"{name}.pt"
        if reuse and path.is_file():  # trained by an earlier run of this script with the same options
            model = create_backbone("lenet", num_outputs=k, checkpoint=str(path))
            acc, how = _accuracy(model, Xs, ys.astype(np.int64)), "reused"
        else:
            model, acc = train_source(Xs, ys.astype(np.int64), k, epochs, seed=0)
            torch.save(model.state_dict(), path)
            how = "trained"
        print(f"# source {name}: {len(Xs)} images, {k} classes, {epochs} epochs, train accuracy {acc:.3f} "
              f"({how}, {time.perf_counter() - start:.0f} s)", flush=True)
        zoo.append({"name": "lenet", "checkpoint": str(path), "label": name, "source_train_accuracy": acc})
    torch.manual_seed(0)
    path = out / "random.pt"
    torch.save(create_backbone("lenet", num_outputs=10).state_dict(), path)
    zoo.append({"name": "lenet", "checkpoint": str(path), "label": "random", "source_train_accuracy": None})
    return zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default="../shared/data")
    ap.add_argument("--out", default="runs/transferability_zoo")
    ap.add_argument("--n-source", type=int, default=5000)
    ap.add_argument("--source-epochs", type=int, default=3)
    ap.add_argument("--labels", type=int, default=10, help="target labels per class (scores and fine-tuning)")
    ap.add_argument("--big-pool", type=int, default=100, help="labels per class of the second scoring pool")
    ap.add_argument("--strategy", default="full")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reuse-zoo", action="store_true", help="load source checkpoints already in OUT/zoo")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    t0 = time.perf_counter()
    print(f"# transferability zoo -> USPS; machine: {platform.machine()}, {platform.system()}, python "
          f"{platform.python_version()}, torch {torch.__version__}, {args.threads} threads")
    zoo = build_zoo(args.root, out / "zoo", args.n_source, args.source_epochs, args.reuse_zoo)
    cands = [{k: c[k] for k in ("name", "checkpoint", "label")} for c in zoo]
    data = {"kind": "mnist_usps", "root": args.root, "labels_per_class": args.labels}
    cfg = parse_config({
        "data": data, "candidates": cands,
        "validate": {"strategy": args.strategy, "labels_per_class": args.labels, "seeds": args.seeds},
        "trainer": {"max_epochs": args.max_epochs, "patience": args.patience, "num_threads": args.threads,
                    "workers": 1},
    }, "rank")
    res = run_rank(cfg, out / f"rank_{args.strategy}_n{args.labels}", overwrite=True, progress=False)
    names = res["ranking"]["scores"]
    rows = res["summary"]
    acc = {r["candidate"]: r["accuracy_mean"] for r in rows}
    print(f"\n# rank --validate: target pool {res['ranking']['target_samples']} samples ({args.labels} per class); "
          f"{args.strategy} fine-tuning, {args.labels} labels per class, seeds {args.seeds}, "
          f"max_epochs {args.max_epochs}, patience {args.patience}")
    src_acc = {c["label"]: c["source_train_accuracy"] for c in zoo}
    print("\n| source model | source train acc. | fine-tuned USPS acc. (mean ± sd) | " + " | ".join(names) + " |")
    print("|---|---:|---:|" + "---:|" * len(names))
    for r in sorted(rows, key=lambda r: -r["accuracy_mean"]):
        sa = src_acc[r["candidate"]]
        cells = [f"{r[n]:.4g} ({r['rank_' + n]})" if r[n] is not None else "–" for n in names]
        print(f"| {r['candidate']} | {'–' if sa is None else f'{sa:.3f}'} | {r['accuracy_mean']:.3f} ± "
              f"{r['accuracy_std']:.3f} | " + " | ".join(cells) + " |")
    print("\n(score (rank by that score))\n")
    print("| score | weighted tau | Kendall tau | Pearson | top-1 regret | top-1 choice | bottom two by the score |")
    print("|---|---:|---:|---:|---:|---|---|")
    for a in res["agreement"]:
        n = a["score"]
        bottom = [r["candidate"] for r in sorted(rows, key=lambda r: r[n])[:2]]
        print(f"| {n} | {a['weighted_tau']:.3f} | {a['kendall_tau']:.3f} | {a['pearson']:.3f} | "
              f"{a['top1_regret']:.3f} | {a['top1_choice']} | {', '.join(bottom)} |")
    # the same accuracies against scores on a larger pool (no fine-tuning again)
    big = parse_config({"data": {**data, "labels_per_class": args.big_pool}, "candidates": cands}, "rank")
    res2 = run_rank(big, out / f"rank_pool{args.big_pool}", overwrite=True, progress=False)
    rows2 = res2["summary"]
    print(f"\n# the same accuracies, scores on a pool of {res2['ranking']['target_samples']} samples "
          f"({args.big_pool} per class)\n")
    print("| score | weighted tau | Kendall tau | Pearson | top-1 regret | top-1 choice | bottom two by the score |")
    print("|---|---:|---:|---:|---:|---|---|")
    for n in names:
        s = [r[n] for r in rows2]
        a = agreement(s, [acc[r["candidate"]] for r in rows2])
        first = max(rows2, key=lambda r: r[n])["candidate"]
        bottom = [r["candidate"] for r in sorted(rows2, key=lambda r: r[n])[:2]]
        print(f"| {n} | {a['weighted_tau']:.3f} | {a['kendall_tau']:.3f} | {a['pearson']:.3f} | "
              f"{a['top1_regret']:.3f} | {first} | {', '.join(bottom)} |")
    (out / "zoo_summary.json").write_text(json.dumps({"validated": rows, "pool": rows2,
                                                       "agreement": res["agreement"]}, indent=1, default=str))
    print(f"\n# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
