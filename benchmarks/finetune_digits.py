"""Few-shot MNIST -> USPS: every fine-tuning strategy against training from scratch.

Source: a LeNet-5 (conv 6 / conv 16 / fc 120, 16x16 inputs) pretrained on MNIST. Offline only
MNIST's 10,000 *test* images exist (the training images are missing from the shared data), so
those 10,000 images are the source set. Target: USPS. The few-shot train and validation splits
(``n`` labels per class each) are drawn from the USPS *train* split (7,291 images) per seed and
budget; every model is tested on the full USPS *test* split (2,007 images). Images are 16x16,
USPS's native size. MNIST digits are size-normalised into a 20x20 box centred in a 28x28 frame
while USPS digits fill their frame, so MNIST's central 20x20 crop is resized to 16x16 (digit
scale then matches: the source-only model scores about 0.88 on USPS test instead of about 0.60
with the whole 28x28 frame resized; ``--no-crop`` shows the latter).

The registry's ``data.kind: mnist_usps`` (``transferkit.data._kinds.load_data``) keeps USPS's
official split too, but resizes MNIST's whole 28x28 frame; this script builds the
:class:`~transferkit.data.TransferData` itself (with the crop) and runs ``transferkit compare``'s
own steps on it: ``_pretrain``, ``_run_one`` per (budget, seed, strategy) through the same
executor, the ``source_only`` rows (the source model on USPS test, no target label) and the
same ``summarize`` (verdicts against ``scratch`` and ``source_only``, correlated t-test with the
test set's noise, Bonferroni over the table, ROPE ``trainer.rope``). Pretrained strategies
start from the MNIST head (``pretrain.reuse_head: null`` = auto: the classes match);
``--new-head`` gives them a fresh head, as before the option existed.

    python benchmarks/finetune_digits.py            # 4 budgets x 3 seeds x 10 strategies
    python benchmarks/finetune_digits.py --quick    # budgets 1 and 10, 2 seeds, 5 strategies
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from transferkit.data import Domain, TransferData
from transferkit.data.digits import load_mnist, load_usps, resize_images
from transferkit.experiments import compare as C
from transferkit.experiments._config import MethodSpec, parse_config
from transferkit.experiments._results import markdown_table, prepare_output_dir, write_results

ALL = ["scratch", "linear_probe", "full", "layer_transfer", "gradual_unfreezing",
       "discriminative_lr", "l2_sp", "lwf", "bss", "lora"]
QUICK = ["scratch", "linear_probe", "full", "l2_sp", "lora"]


def load_data(size: int = 16, crop: bool = True) -> TransferData:
    mnist = load_mnist(None, "test")
    X = mnist.X[:, :, 4:24, 4:24] if crop else mnist.X
    source = Domain(resize_images(X, size), mnist.y, "mnist_test_10k", 10, mnist.class_names)
    tr, te = load_usps(None, "train"), load_usps(None, "test")
    target = Domain(resize_images(tr.X, size), tr.y, "usps_train", 10, tr.class_names)
    test = Domain(resize_images(te.X, size), te.y, "usps_test", 10, te.class_names)
    return TransferData(source, target, test, "image")


def _gain(row: dict, base: str) -> str:
    g = row.get(f"gain_vs_{base}")
    if g is None:
        return ""
    lo, hi = row.get(f"gain_vs_{base}_low"), row.get(f"gain_vs_{base}_high")
    ok = lo is not None and hi is not None and lo == lo and hi == hi
    return f"{g:+.3f}" + (f" [{lo:+.3f}, {hi:+.3f}]" if ok else "")


def fmt(row: dict) -> dict:
    lo, hi = row["ci95_low"], row["ci95_high"]
    ci = "n/a" if lo is None or lo != lo else f"[{lo:.3f}, {hi:.3f}]"
    return {
        "labels/class": row["labels_per_class"],
        "method": row["method"],
        "head": row.get("head", ""),
        "accuracy (mean)": f"{row['accuracy_mean']:.3f}",
        "95% CI": ci,
        "gain vs scratch [interval]": _gain(row, "scratch"),
        "verdict vs scratch": row.get("verdict_vs_scratch", "baseline" if row["method"] == "scratch" else ""),
        "gain vs source_only [interval]": _gain(row, "source_only"),
        "verdict vs source_only": row.get("verdict_vs_source_only",
                                          "baseline" if row["method"] == "source_only" else ""),
        "trainable params": row["trainable_params"],
    }


COLS = ["labels/class", "method", "head", "accuracy (mean)", "95% CI", "gain vs scratch [interval]",
        "verdict vs scratch", "gain vs source_only [interval]", "verdict vs source_only", "trainable params"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-crop", action="store_true", help="resize MNIST's whole 28x28 frame")
    ap.add_argument("--new-head", action="store_true",
                    help="pretrained strategies start from a fresh head (pretrain.reuse_head: false)")
    ap.add_argument("--methods", help="comma-separated strategies (scratch is always added: verdicts need it)")
    ap.add_argument("--budgets", type=int, nargs="+", help="labels per class (default 1 5 10 50)")
    ap.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2)")
    ap.add_argument("--workers", type=int, default=1, help="fine-tuning processes side by side")
    ap.add_argument("--out", default="runs/bench_finetune_digits")
    args = ap.parse_args()
    torch.set_num_threads(1)
    methods = QUICK if args.quick else ALL
    if args.methods:
        methods = ["scratch"] + [m.strip() for m in args.methods.split(",") if m.strip() and m.strip() != "scratch"]
    budgets = args.budgets or ([1, 10] if args.quick else [1, 5, 10, 50])
    seeds = args.seeds or ([0, 1] if args.quick else [0, 1, 2])
    raw = {
        "data": {"kind": "mnist_usps", "labels_per_class": budgets},
        "backbone": {"name": "lenet", "params": {"widths": [6, 16], "feature_dim": 120, "input_size": 16}},
        "methods": [{"name": m} for m in methods],
        "pretrain": {"epochs": 5, "lr": 1e-3, "batch_size": 64, "reuse_head": False if args.new_head else None},
        "trainer": {"max_epochs": 40, "batch_size": 32, "lr": 1e-3, "patience": 8, "seeds": seeds,
                    "accelerator": "cpu", "num_threads": 1, "workers": args.workers},
    }
    cfg = parse_config(raw, "compare", "(finetune_digits)")
    out = prepare_output_dir(Path(args.out), resume=False, overwrite=True)
    data = load_data(crop=not args.no_crop)
    same = C._same_classes(data)
    reuse_head = same if cfg.pretrain.reuse_head is None else cfg.pretrain.reuse_head
    start = time.perf_counter()
    pretrained, info = C._pretrain(cfg, data, out, False, False)
    info["reuse_head"] = reuse_head
    ctx = C._Context(cfg, data, pretrained, reuse_head, str(out))
    specs = [MethodSpec(name=m) for m in methods]
    payloads = []
    for n in budgets:
        for seed in seeds:
            for m in specs:
                run_id = f"{m.display}__n{n}__seed{seed}"
                key = {"method": m.model_dump(mode="json"), "labels_per_class": n, "seed": seed}
                payloads.append({"run_id": run_id, "key": key, "n": n, "seed": seed,
                                 "method": m.model_dump(mode="json"), "resume": False})
    runs: list[dict] = []
    executor = C.make_executor(cfg.trainer, args.workers)
    executor.run(C._run_one, ctx, payloads, runs.append)
    source_only = C._source_only_runs(ctx, [(n, s) for n in budgets for s in seeds], out)
    runs.extend(source_only)
    print(f"source (MNIST test 10k, 16x16) train accuracy after pretraining: {info['source_train_accuracy']:.4f}; "
          f"source-only model on USPS test (0 target labels): {source_only[0]['metrics']['accuracy']:.4f}")
    summary = C._summarize(runs, cfg, out, 0.95)
    write_results(out, cfg.model_dump(mode="json"), runs, summary, command="compare",
                  extra={"source": info, "total_seconds": time.perf_counter() - start})
    total = time.perf_counter() - start
    print(f"\nMNIST (10k test images) -> USPS (test 2,007), LeNet-5 16x16, seeds {seeds}, "
          f"{'fresh heads' if not reuse_head else 'source head reused'}, rope {cfg.trainer.rope}, "
          f"total {total:.0f} s\n")
    print(markdown_table([fmt(r) for r in summary], COLS))
    verdicts = [r["verdict"] for r in summary if r["verdict"] != "baseline"]
    print("\nverdicts vs scratch: " + ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts)))


if __name__ == "__main__":
    main()
