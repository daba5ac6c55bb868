"""MultiMNIST (Sener & Koltun 2018) with a shared LeNet: balancing methods over 3 seeds.

Builds MultiMNIST from the MNIST copy under ``$TRANSFERKIT_DATA`` (offline: only the 10,000
MNIST *test* images exist, so training composites come from 8,000 of them and test composites
from the 2,000 held-out ones; Sener & Koltun used the 60,000 training images and 10,000 test
composites). Trains with :func:`transferkit.experiments.multitask.run` and prints our table
beside the paper's Table 1 (left/right accuracy, %).

    python benchmarks/multitask_multimnist.py            # 20,000 train composites, 2 epochs, 3 seeds
    python benchmarks/multitask_multimnist.py --quick    # 1,000 composites, 1 epoch, 1 seed
    python benchmarks/multitask_multimnist.py --n-train 60000 --epochs 10   # closer to the paper
    # the same, split over two processes, then joined into one table (no retraining):
    python benchmarks/multitask_multimnist.py --n-train 60000 --epochs 10 --methods single_task equal uncertainty --out A
    python benchmarks/multitask_multimnist.py --n-train 60000 --epochs 10 --methods gradnorm mgda_ub pcgrad --out B
    python benchmarks/multitask_multimnist.py --n-train 60000 --epochs 10 --merge A B --out AB

Composites are pairs of digits, so the 8,000 training source images give far more distinct
composites than images (8,000^2 ordered pairs); the test composites use only the 2,000
held-out source images, so every test digit image is unseen in training.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time

import torch

from transferkit.experiments.multitask import run

# Sener & Koltun, NeurIPS 2018, Table 1 (MultiMNIST, left / right digit accuracy %)
PAPER = {
    "single_task": (97.23, 95.90),
    "equal": (96.46, 94.99),
    "uncertainty": (96.47, 95.29),
    "gradnorm": (96.27, 94.84),
    "mgda_ub": (97.26, 95.90),
    "pcgrad": None,
}


def _merge(dirs: list[str], cfg: dict, out: pathlib.Path) -> None:
    """Write ``out/results.json`` holding the runs of ``dirs`` (their settings must match ``cfg``)."""
    target = out / "results.json"
    if target.exists():
        raise SystemExit(f"--merge would overwrite {target}; pass a new --out directory")

    def settings(c: dict) -> tuple:
        return c["data"], c["architecture"], {k: v for k, v in c["trainer"].items() if k != "seeds"}

    mine = settings(json.loads(json.dumps(cfg)))  # as a results.json stores it (tuples -> lists)
    runs: list[dict] = []
    seen: set[tuple[str, int]] = set()
    for d in dirs:
        path = pathlib.Path(d) / "results.json"
        if not path.exists():
            raise SystemExit(f"--merge: {path} does not exist")
        res = json.loads(path.read_text())
        if settings(res["config"]) != mine:
            raise SystemExit(f"--merge: {path} was made with other data, model or training settings "
                             f"({settings(res['config'])}) than this run ({mine})")
        for r in res["runs"]:
            if (r["method"], r["seed"]) not in seen:
                seen.add((r["method"], r["seed"]))
                runs.append(r)
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"schema": 1, "config": cfg, "runs": runs}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--n-test", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-pcgrad", action="store_true", help="leave PCGrad out (it is not in S&K's table)")
    ap.add_argument("--methods", nargs="+", default=None, choices=list(PAPER),
                    help="run only these (default: all; Δm needs single_task in the same run)")
    ap.add_argument("--out", type=str, default=None)
    ap.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                    help="start from the runs in these earlier --out directories (same data, model and "
                         "training settings; checked) and train only the method x seed runs they lack, "
                         "e.g. to join runs made side by side in separate processes into one table")
    args = ap.parse_args()
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.seeds = 1000, 500, 1, [0]
    torch.set_num_threads(args.threads)
    cfg = {
        "data": {"kind": "multimnist", "n_train": args.n_train, "n_test": args.n_test, "heldout_digits": 2000},
        "architecture": {"name": "hard_sharing", "backbone": "lenet",
                         "backbone_params": {"widths": [10, 20], "feature_dim": 50}},
        "methods": [m for m in ["single_task", "equal", "uncertainty",
                                {"name": "gradnorm", "params": {"alpha": 1.5}}, "mgda_ub"]
                    + ([] if args.no_pcgrad else ["pcgrad"])
                    if args.methods is None or (m if isinstance(m, str) else m["name"]) in args.methods],
        "trainer": {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": 1e-3, "optimizer": "adam",
                    "seeds": args.seeds},
    }
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="mtl_multimnist_"))
    if args.merge:
        _merge(args.merge, cfg, out)
    t0 = time.perf_counter()
    res = run(cfg, out, resume=bool(args.merge))
    total = time.perf_counter() - t0
    print(f"\nMultiMNIST: {args.n_train} train composites from 8,000 MNIST test images, {args.n_test} test "
          f"composites from 2,000 held-out ones; shared LeNet (10-20-50), Adam 1e-3, batch {args.batch_size}, "
          f"{args.epochs} epoch(s), seeds {args.seeds}, {args.threads} torch thread(s); total {total:.0f} s. "
          f"Output: {out}\n")
    print("| method | left acc % (ours) | right acc % (ours) | Δm% (ours) | train s/run | left % (S&K) | right % (S&K) |")
    print("|---|---|---|---|---|---|---|")
    for row in res["summary"]:
        m = row["method"]

        def f(k, scale=100.0, row=row):
            v = row.get(k)
            return f"{v['mean'] * scale:.2f} ± {v['std'] * scale:.2f}" if isinstance(v, dict) else "—"

        p = PAPER.get(m)
        print(f"| {m} | {f('left/accuracy')} | {f('right/accuracy')} | {f('delta_m', 1.0)} | "
              f"{row['train_seconds']:.1f} | {p[0] if p else '—'} | {p[1] if p else '—'} |")


if __name__ == "__main__":
    main()
