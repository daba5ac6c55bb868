"""MultiMNIST (Sener & Koltun 2018) with a shared LeNet: balancing methods over 3 seeds.

Builds MultiMNIST from the MNIST copy under ``$TRANSFERKIT_DATA`` (offline: only the 10,000
MNIST *test* images exist, so training composites come from 8,000 of them and test composites
from the 2,000 held-out ones; Sener & Koltun used the 60,000 training images and 10,000 test
composites). Trains with ``transferkit multitask``'s own runner
(:func:`transferkit.experiments.multitask.run_multitask` on ``parse_config(raw, "multitask")``;
the data come from the registry's ``data.kind: multimnist``) and prints our table beside the
paper's Table 1 (left/right accuracy, %), with each method's verdict against single-task
training (per task and on Δm%; see the verdict rule in the run's report.md).

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
import pathlib
import shutil
import tempfile
import time

import torch

from transferkit.experiments._config import parse_config
from transferkit.experiments.multitask import run_multitask

# Sener & Koltun, NeurIPS 2018, Table 1 (MultiMNIST, left / right digit accuracy %)
PAPER = {
    "single_task": (97.23, 95.90),
    "equal": (96.46, 94.99),
    "uncertainty": (96.47, 95.29),
    "gradnorm": (96.27, 94.84),
    "mgda_ub": (97.26, 95.90),
    "pcgrad": None,
}


def _merge(dirs: list[str], out: pathlib.Path) -> None:
    """Copy the finished runs of ``dirs`` into ``out/runs``; resuming then keeps those whose
    settings match this run (each run's key is checked: data, backbone, architecture, trainer)
    and trains only the method x seed runs still missing."""
    if (out / "results.json").exists():
        raise SystemExit(f"--merge would overwrite {out / 'results.json'}; pass a new --out directory")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for d in dirs:
        runs = pathlib.Path(d) / "runs"
        if not runs.is_dir():
            raise SystemExit(f"--merge: {runs} does not exist")
        for run in sorted(runs.iterdir()):
            if (run / "result.json").exists() and not (out / "runs" / run.name).exists():
                shutil.copytree(run, out / "runs" / run.name)


def _cell(summary: list[dict], task: str, method: str, scale: float = 100.0) -> tuple[str, str]:
    row = next((r for r in summary if r["task"] == task and r["method"] == method), None)
    if row is None or row.get("mean") is None:
        return "—", ""
    value = f"{row['mean'] * scale:.2f} ± {row['std'] * scale:.2f}"
    return value, "baseline" if method == "single_task" else row.get("verdict_vs_single_task", "")


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
                    help="run only these (single_task is always added: Δm and the verdicts need it)")
    ap.add_argument("--out", type=str, default=None)
    ap.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                    help="start from the runs in these earlier --out directories (same data, model and "
                         "training settings; checked run by run) and train only the method x seed runs they "
                         "lack, e.g. to join runs made side by side in separate processes into one table")
    args = ap.parse_args()
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.seeds = 1000, 500, 1, [0]
    torch.set_num_threads(args.threads)
    raw = {
        "data": {"kind": "multimnist", "n_train": args.n_train, "n_test": args.n_test, "heldout_digits": 2000},
        "backbone": {"name": "lenet", "params": {"widths": [10, 20], "feature_dim": 50}},
        "architecture": {"name": "hard_sharing"},
        "methods": [m for m in ["single_task", "equal", "uncertainty",
                                {"name": "gradnorm", "params": {"alpha": 1.5}}, "mgda_ub"]
                    + ([] if args.no_pcgrad else ["pcgrad"])
                    if args.methods is None or (m if isinstance(m, str) else m["name"]) in args.methods],
        "trainer": {"max_epochs": args.epochs, "batch_size": args.batch_size, "lr": 1e-3, "optimizer": "adam",
                    "seeds": args.seeds, "num_threads": args.threads},
    }
    cfg = parse_config(raw, "multitask", "(multitask_multimnist)")
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="mtl_multimnist_"))
    if args.merge:
        _merge(args.merge, out)
    t0 = time.perf_counter()
    res = run_multitask(cfg, out, resume=bool(args.merge), overwrite=not args.merge and out.exists(), progress=False)
    total = time.perf_counter() - t0
    seeds = sorted({r["seed"] for r in res["runs"]})
    print(f"\nMultiMNIST: {args.n_train} train composites from 8,000 MNIST test images, {args.n_test} test "
          f"composites from 2,000 held-out ones; shared LeNet (10-20-50), Adam 1e-3, batch {args.batch_size}, "
          f"{args.epochs} epoch(s), seeds {seeds}, {args.threads} torch thread(s); total {total:.0f} s. "
          f"Output: {out}\n")
    print("| method | left acc % (ours) | verdict vs single-task | right acc % (ours) | verdict vs single-task "
          "| Δm% (ours) | verdict vs single-task | train s/run | left % (S&K) | right % (S&K) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = res["summary"]
    for m in dict.fromkeys(r["method"] for r in summary):
        (left, vl), (right, vr), (dm, vd) = (_cell(summary, "left", m), _cell(summary, "right", m),
                                             _cell(summary, "all main tasks", m, 1.0))
        secs = next(r["train_seconds"] for r in summary if r["method"] == m)
        p = PAPER.get(m)
        print(f"| {m} | {left} | {vl} | {right} | {vr} | {dm} | {vd} | {secs:.1f} | "
              f"{p[0] if p else '—'} | {p[1] if p else '—'} |")


if __name__ == "__main__":
    main()
