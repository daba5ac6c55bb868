"""``transferkit compare``: pretrain on the source, fine-tune on few target labels with every
strategy, several seeds and label budgets, and say honestly whether transfer helped.

Steps: (1) train the backbone on the labelled source (or start from pretrained weights);
(2) for each labels-per-class budget and seed, draw a few-shot target train/validation split;
(3) fine-tune a copy with each strategy (early stopping on the target validation split) and
test on held-out target data; (4) compare each strategy with the scratch baseline seed by
seed and write ``results.json``, ``report.md`` and figures.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._registry import create, get_method, list_methods
from ..backbones import create_backbone
from ..data._base import Domain, TransferData, few_shot_indices
from ..exceptions import ConfigError, DataError
from ..training import OptimConfig, TrainerConfig, fit_finetune, make_loader, predict
from ._config import MethodSpec, RunConfig
from ._datasets import build_transfer_data
from ._results import is_main_process, markdown_table, prepare_output_dir, write_json, write_results
from ._stats import mean_ci, paired_verdict

__all__ = ["run_compare", "default_methods", "build_model"]


def default_methods() -> list[MethodSpec]:
    """Every registered fine-tuning strategy, scratch first."""
    names = [m.name for m in list_methods("finetune")]
    names.sort(key=lambda n: (n != "scratch", n))
    return [MethodSpec(name=n) for n in names]


def _builtin_shape_params(name: str, params: dict, data: TransferData) -> dict:
    """Fill the input-shape parameters of the built-in nets from the data when not given."""
    shape = data.target.input_shape
    out = dict(params)
    if name == "mlp" and "in_features" not in out and shape:
        out["in_features"] = int(np.prod(shape))
    if name in ("lenet", "small_resnet") and len(shape) == 3:
        out.setdefault("in_channels", shape[0])
        if name == "lenet":
            out.setdefault("input_size", shape[-1])
    return out


def build_model(cfg: RunConfig, data: TransferData, num_outputs: int = 0):
    spec = cfg.backbone
    get_method("backbone", spec.name)  # unknown names fail here, with suggestions
    params = _builtin_shape_params(spec.name, spec.params, data)
    return create_backbone(spec.name, pretrained=spec.pretrained, num_outputs=num_outputs, **params)


def _trainer_config(cfg: RunConfig, epochs: int | None = None, batch_size: int | None = None,
                    patience: int | None = None) -> TrainerConfig:
    t = cfg.trainer
    return TrainerConfig(
        max_epochs=epochs or t.max_epochs, batch_size=batch_size or t.batch_size,
        accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision, accumulate_grad_batches=t.accumulate_grad_batches,
        patience=t.patience if patience is None else patience, deterministic=t.deterministic,
    )


def _accuracy(model, domain: Domain, batch_size: int = 512) -> float:
    pred, y = predict(model, make_loader(domain, batch_size, shuffle=False, backbone=model))
    return float((pred == y).float().mean())


def _pretrain(cfg: RunConfig, data: TransferData, out: Path, resume: bool, log) -> tuple[Any, dict]:
    """The source model (head = source classes) and facts about how it was obtained."""
    path = out / "pretrained.pt"
    p = cfg.pretrain
    torch.manual_seed(cfg.trainer.seeds[0])  # the source model's initial weights
    if data.source is None or p.epochs == 0 and p.checkpoint is None:
        model = build_model(cfg, data)
        return model, {"source": None, "pretrained_backbone": cfg.backbone.pretrained}
    model = build_model(cfg, data, num_outputs=data.source_num_classes)
    info: dict[str, Any] = {"source": data.source.name, "source_samples": len(data.source)}
    if p.checkpoint is not None or (resume and path.exists()):
        src = Path(p.checkpoint) if p.checkpoint is not None else path
        if not src.is_file():
            raise ConfigError(f"pretrain.checkpoint '{src}' does not exist")
        state = torch.load(src, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise ConfigError(f"pretrain.checkpoint '{src}' does not fit backbone '{cfg.backbone.name}': {err}") from None
        info["loaded_from"] = str(src)
    else:
        log(f"pretraining {cfg.backbone.name} on {data.source.name} ({len(data.source)} samples, {p.epochs} epochs)")
        strategy = create("finetune", "full", backbone_lr_scale=1.0)
        model.reset_head(data.source_num_classes)
        fit = fit_finetune(
            model, strategy, data.source, None,
            _trainer_config(cfg, epochs=p.epochs, batch_size=p.batch_size, patience=0),
            OptimConfig(name=cfg.trainer.optimizer, lr=p.lr), seed=cfg.trainer.seeds[0],
        )
        model = fit.model
        info["pretrain_seconds"] = fit.train_seconds
        if is_main_process():
            torch.save(model.state_dict(), path)
    info["source_train_accuracy"] = _accuracy(model, data.source)
    return model, info


def _run_id(method: MethodSpec, n: int, seed: int) -> str:
    return f"{method.display}__n{n}__seed{seed}"


def _one_run(cfg, data, pretrained, method: MethodSpec, n: int, seed: int, out: Path, resume: bool) -> dict:
    run_dir = out / "runs" / _run_id(method, n, seed)
    done = run_dir / "result.json"
    if resume and done.exists():
        return json.loads(done.read_text())
    val_n = cfg.data.val_per_class or n
    train_idx = few_shot_indices(data.target.y, n, seed)
    val_idx = few_shot_indices(data.target.y, val_n, seed + 7919, exclude=train_idx)
    train, val = data.target.subset(train_idx, "target_train"), data.target.subset(val_idx, "target_val")

    torch.manual_seed(seed)
    strategy = create("finetune", method.name, **method.params)
    base = pretrained if strategy.defaults.pretrained else build_model(cfg, data)
    reuse = cfg.pretrain.reuse_head and strategy.defaults.pretrained
    model = strategy.prepare(copy.deepcopy(base), data.num_classes, reuse_head=reuse)
    fit = fit_finetune(
        model, strategy, train, val, _trainer_config(cfg),
        OptimConfig(name=cfg.trainer.optimizer, lr=cfg.trainer.lr, weight_decay=cfg.trainer.weight_decay),
        seed=seed, ckpt_dir=run_dir / "checkpoints", resume=resume,
    )
    result = {
        "method": method.display,
        "strategy": method.name,
        "params": method.params,
        "seed": seed,
        "labels_per_class": n,
        "metrics": {"accuracy": _accuracy(fit.model, data.target_test), "val_accuracy": fit.best_val_acc},
        "epochs": fit.epochs,
        "train_seconds": fit.train_seconds,
        "peak_memory_mb": fit.peak_memory_mb,
        "trainable_params": fit.trainable_params,
    }
    if is_main_process():
        write_json(done, result)
        ckpt = run_dir / "checkpoints" / "last.ckpt"
        if ckpt.exists():
            ckpt.unlink()  # the run is complete: its result is what resuming needs
    return result


def summarize(runs: list[dict], baseline: str = "scratch") -> list[dict]:
    """Mean, 95% CI and the paired verdict against ``baseline`` per (method, budget)."""
    summary = []
    keys = sorted({(r["labels_per_class"], r["method"]) for r in runs}, key=lambda k: (k[0], k[1] != baseline, k[1]))
    for n, method in keys:
        scores = {r["seed"]: r["metrics"]["accuracy"] for r in runs if r["method"] == method and r["labels_per_class"] == n}
        base = {r["seed"]: r["metrics"]["accuracy"] for r in runs if r["method"] == baseline and r["labels_per_class"] == n}
        ci = mean_ci(list(scores.values()))
        row = {
            "method": method, "labels_per_class": n, "accuracy_mean": ci.mean, "accuracy_std": ci.std,
            "ci95_low": ci.ci_low, "ci95_high": ci.ci_high, "seeds": ci.n,
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs if r["method"] == method and r["labels_per_class"] == n])),
            "trainable_params": next(r["trainable_params"] for r in runs if r["method"] == method and r["labels_per_class"] == n),
        }
        if method == baseline:
            row["verdict"] = "baseline"
        elif base:
            v = paired_verdict(scores, base)
            row.update({"verdict": v.verdict, "gain_vs_scratch": v.diff_mean,
                        "gain_ci95_low": v.diff_ci_low, "gain_ci95_high": v.diff_ci_high, "p_value": v.p_value})
        summary.append(row)
    return summary


def _figures(out: Path, summary: list[dict]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    methods = list(dict.fromkeys(r["method"] for r in summary))
    budgets = sorted({r["labels_per_class"] for r in summary})
    top = budgets[-1]
    rows = {r["method"]: r for r in summary if r["labels_per_class"] == top}

    def err(r):
        return 0.0 if r["ci95_high"] is None or not math.isfinite(r["ci95_high"]) else r["ci95_high"] - r["accuracy_mean"]

    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(methods)) + 2.5, 4))
    palette = {"baseline": "#888888", "positive transfer": "#2a9d8f", "negative transfer": "#e76f51"}
    neutral = "#8ab0d0"
    colors = [palette.get(rows[m].get("verdict"), neutral) for m in methods]
    ax.bar(methods, [rows[m]["accuracy_mean"] for m in methods], yerr=[err(rows[m]) for m in methods], color=colors, capsize=3)
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"Accuracy per method, {top} labels per class (mean, 95% CI)")
    plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
    from matplotlib.patches import Patch

    legend = [Patch(color=c, label=lab) for lab, c in (("scratch (baseline)", palette["baseline"]),
              ("positive transfer", palette["positive transfer"]), ("no significant difference", neutral),
              ("negative transfer", palette["negative transfer"]))]
    ax.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(fig_dir / "accuracy_per_method.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in methods:
        pts = sorted((r["labels_per_class"], r["accuracy_mean"], err(r)) for r in summary if r["method"] == m)
        xs, ys, es = zip(*pts)
        ax.errorbar(xs, ys, yerr=es, marker="o", capsize=2, label=m, lw=2.5 if m == "scratch" else 1.2, color="black" if m == "scratch" else None)
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.set_xlabel("target labels per class")
    ax.set_ylabel("target test accuracy")
    ax.set_title("Accuracy against the number of target labels")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(fig_dir / "accuracy_vs_labels.png", dpi=120)
    plt.close(fig)
    return ["figures/accuracy_per_method.png", "figures/accuracy_vs_labels.png"]


def _report(out: Path, cfg: RunConfig, summary: list[dict], info: dict, figures: list[str]) -> str:
    cols = ["method", "labels_per_class", "accuracy_mean", "ci95_low", "ci95_high", "gain_vs_scratch", "p_value", "verdict", "trainable_params"]
    lines = [
        "# transferkit compare", "",
        f"Data: `{cfg.data.kind}`; backbone: `{cfg.backbone.name}`; seeds: {cfg.trainer.seeds}.",
        f"Source: {info.get('source') or 'none (pretrained backbone)'}"
        + (f", source train accuracy {info['source_train_accuracy']:.3f}" if info.get("source_train_accuracy") is not None else "")
        + ".", "",
        "Verdicts compare each method with training from scratch seed by seed (paired t-test, 95% interval "
        "of the accuracy gain): *positive transfer* when the whole interval is above zero, *negative transfer* "
        "when it is below, otherwise *no significant difference*.", "",
        markdown_table(summary, cols), "",
    ]
    negatives = sorted({r["method"] for r in summary if r.get("verdict") == "negative transfer"})
    if negatives:
        lines += [f"**Negative transfer**: {', '.join(negatives)} did worse than training from scratch for at least one label budget.", ""]
    if not any(r.get("verdict") == "positive transfer" for r in summary):
        lines += ["**No method transferred significantly better than scratch.** The source may be unrelated to the target.", ""]
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    text = "\n".join(lines) + "\n"
    if is_main_process():
        (out / "report.md").write_text(text)
    return text


def run_compare(
    cfg: RunConfig,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log=print,
) -> dict:
    """Run the comparison a config describes; returns the results dict also written to disk."""
    out = prepare_output_dir(Path(output_dir or cfg.output.dir), resume, overwrite)
    methods = cfg.method_list() if (cfg.methods or cfg.method) else default_methods()
    for m in methods:  # unknown names and bad parameters fail before any training
        create("finetune", m.name, **m.params)
    data = build_transfer_data(cfg.data)
    if cfg.pretrain.reuse_head and data.source is not None and data.source_num_classes != data.num_classes:
        raise ConfigError(
            f"pretrain.reuse_head needs the same classes in source and target; the source has "
            f"{data.source_num_classes}, the target {data.num_classes}"
        )
    for n in cfg.data.labels_per_class:  # impossible budgets fail before any training
        need = n + (cfg.data.val_per_class or n)
        try:
            few_shot_indices(data.target.y, need, 0)
        except DataError as err:
            raise DataError(
                f"data.labels_per_class={n} (plus {need - n} per class for validation) needs "
                f"{need} target samples per class: {err}"
            ) from None
    model_params = sum(p.numel() for p in build_model(cfg, data).parameters())
    _set_threads(cfg, model_params)
    plan = [(n, s, m) for n in cfg.data.labels_per_class for s in cfg.trainer.seeds for m in methods]
    workers = _workers(cfg, model_params, len(plan))  # a bad setting fails before any training
    start = time.perf_counter()
    pretrained, info = _pretrain(cfg, data, out, resume, log)

    runs: list[dict] = []
    bar = _progress(progress and is_main_process())
    with bar or nullcontext():
        task = bar.add_task("fine-tuning", total=len(plan)) if bar else None

        def done(result: dict) -> None:
            runs.append(result)
            if bar:
                bar.update(task, description=f"{result['method']:>18} n={result['labels_per_class']:<3} seed={result['seed']}")
                bar.advance(task)

        if workers > 1:
            _run_parallel(workers, cfg, data, pretrained, plan, out, resume, done)
        else:
            for n, seed, method in plan:
                done(_one_run(cfg, data, pretrained, method, n, seed, out, resume))
    order = {(n, s, m.display): i for i, (n, s, m) in enumerate(plan)}
    runs.sort(key=lambda r: order[(r["labels_per_class"], r["seed"], r["method"])])
    summary = summarize(runs)
    figures = _figures(out, summary) if is_main_process() else []
    config = cfg.model_dump(mode="json")
    results = write_results(
        out, config, runs, summary, command="compare",
        extra={"source": info, "total_seconds": time.perf_counter() - start, "figures": figures},
    )
    results["report"] = _report(out, cfg, summary, info, figures)
    return results


SMALL_MODEL_PARAMS = 5_000_000
MAX_AUTO_WORKERS = 4


def _workers(cfg: RunConfig, model_params: int, n_runs: int) -> int:
    """Parallel fine-tuning processes: explicit ``trainer.workers``, or one per core (at most
    4) for small models trained on one CPU device; 1 whenever a run spans devices."""
    t = cfg.trainer
    single_cpu = t.accelerator == "cpu" and str(t.devices) == "1" and t.strategy == "auto"
    if t.workers is not None:
        if t.workers > 1 and not single_cpu:
            raise ConfigError(
                "trainer.workers > 1 runs fine-tuning jobs side by side on the CPU; it needs "
                "accelerator: cpu, devices: 1 and strategy: auto (each run then uses one process)"
            )
        return max(1, min(t.workers, n_runs))
    if not (single_cpu and model_params < SMALL_MODEL_PARAMS):
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS, n_runs))


_WORKER_STATE: dict[str, Any] = {}


def _die_with_parent(parent_pid: int) -> None:
    """On Linux, have the kernel kill this worker when its parent dies (a killed run must not
    leave workers that go on writing into the output directory); exit at once if the parent
    died before this worker got here."""
    import signal
    import sys

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:  # pragma: no cover - no glibc
            pass
    if os.getppid() != parent_pid:
        os._exit(1)


def _worker_init(parent_pid: int, cfg_json: dict, data: TransferData, pretrained_state: bytes) -> None:
    import io

    _die_with_parent(parent_pid)
    torch.set_num_threads(1)
    cfg = RunConfig.model_validate(cfg_json)
    model = torch.load(io.BytesIO(pretrained_state), map_location="cpu", weights_only=False)
    _WORKER_STATE.update(cfg=cfg, data=data, pretrained=model)


def _worker_run(n: int, seed: int, method: dict, out: str, resume: bool) -> dict:
    st = _WORKER_STATE
    return _one_run(st["cfg"], st["data"], st["pretrained"], MethodSpec.model_validate(method), n, seed, Path(out), resume)


def _run_parallel(workers, cfg, data, pretrained, plan, out: Path, resume: bool, done) -> None:
    """Run the plan in ``workers`` spawned processes; every run is seeded on its own, so the
    results equal a sequential run's."""
    import io
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    buf = io.BytesIO()
    torch.save(pretrained, buf)
    with ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
        initargs=(os.getpid(), cfg.model_dump(mode="json"), data, buf.getvalue()),
    ) as pool:
        futures = [pool.submit(_worker_run, n, s, m.model_dump(mode="json"), str(out), resume) for n, s, m in plan]
        for fut in as_completed(futures):
            done(fut.result())


def _set_threads(cfg: RunConfig, model_params: int) -> None:
    """Honour ``trainer.num_threads``; by default use one thread for small models on CPU."""
    n = cfg.trainer.num_threads
    if n is None and cfg.trainer.accelerator == "cpu":
        n = 1 if model_params < SMALL_MODEL_PARAMS else None
    if n:
        torch.set_num_threads(int(n))


def _progress(enabled: bool):
    if not enabled:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
    )
