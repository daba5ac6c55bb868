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

The library's ``data.kind: mnist_usps`` pools USPS train+test and holds out half of it as test,
so this script builds the :class:`~transferkit.data.TransferData` itself and reuses
``transferkit compare``'s own steps (``_pretrain``, ``_one_run``, ``summarize``, the results
writer): same strategies, early stopping, paired verdict against scratch.

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


def fmt(row: dict) -> dict:
    ci = "n/a" if row["ci95_low"] != row["ci95_low"] else f"[{row['ci95_low']:.3f}, {row['ci95_high']:.3f}]"
    gain = row.get("gain_vs_scratch")
    return {
        "labels/class": row["labels_per_class"],
        "method": row["method"],
        "accuracy (mean)": f"{row['accuracy_mean']:.3f}",
        "95% CI": ci,
        "gain vs scratch": "" if gain is None else f"{gain:+.3f}",
        "p": "" if row.get("p_value") is None else f"{row['p_value']:.3f}",
        "verdict": row["verdict"],
        "trainable params": row["trainable_params"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-crop", action="store_true", help="resize MNIST's whole 28x28 frame")
    ap.add_argument("--out", default="runs/bench_finetune_digits")
    args = ap.parse_args()
    torch.set_num_threads(1)
    methods = QUICK if args.quick else ALL
    budgets = [1, 10] if args.quick else [1, 5, 10, 50]
    seeds = [0, 1] if args.quick else [0, 1, 2]
    raw = {
        "data": {"kind": "mnist_usps", "labels_per_class": budgets},
        "backbone": {"name": "lenet", "params": {"widths": [6, 16], "feature_dim": 120, "input_size": 16}},
        "methods": [{"name": m} for m in methods],
        "pretrain": {"epochs": 5, "lr": 1e-3, "batch_size": 64},
        "trainer": {"max_epochs": 40, "batch_size": 32, "lr": 1e-3, "patience": 8, "seeds": seeds,
                    "accelerator": "cpu", "num_threads": 1},
    }
    cfg = parse_config(raw, "(finetune_digits)")
    out = prepare_output_dir(Path(args.out), resume=False, overwrite=True)
    data = load_data(crop=not args.no_crop)
    start = time.perf_counter()
    pretrained, info = C._pretrain(cfg, data, out, False, print)
    source_only = C._accuracy(pretrained, data.target_test)
    print(f"source (MNIST test 10k, 16x16) train accuracy after pretraining: {info['source_train_accuracy']:.4f}; "
          f"source-only model on USPS test (0 target labels): {source_only:.4f}")
    info["source_only_usps_test_accuracy"] = source_only
    runs = []
    for n in budgets:
        for seed in seeds:
            for m in methods:
                runs.append(C._one_run(cfg, data, pretrained, MethodSpec(name=m), n, seed, out, False))
    summary = C.summarize(runs)
    write_results(out, cfg.model_dump(mode="json"), runs, summary, command="compare",
                  extra={"source": info, "total_seconds": time.perf_counter() - start})
    total = time.perf_counter() - start
    print(f"\nMNIST (10k test images) -> USPS (test 2,007), LeNet-5 16x16, seeds {seeds}, "
          f"total {total:.0f} s\n")
    print(markdown_table([fmt(r) for r in summary],
                         ["labels/class", "method", "accuracy (mean)", "95% CI", "gain vs scratch", "p",
                          "verdict", "trainable params"]))


if __name__ == "__main__":
    main()
