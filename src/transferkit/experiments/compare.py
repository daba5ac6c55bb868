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
import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from .._registry import create, list_methods
from ..data._base import Domain, TransferData, few_shot_indices
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError
from ..training import OptimConfig, TrainerConfig, fit_finetune, make_loader, predict
from ._common import (
    build_backbone,
    check_logger_installed,
    make_logger,
    method_errors,
    resolve_pretrained,
    threads,
    trainer_key,
)
from ._config import CompareConfig, MethodSpec
from ._executor import (
    PeakMemory,
    RunTask,
    check_resumable,
    finish_run,
    grid_task,
    make_executor,
    plan_runs,
    run_digest,
)
from ._results import (
    check_output_dir,
    is_main_process,
    prepare_output_dir,
    write_json,
    write_results,
)
from ._shallow import (
    base_name,
    check_heterogeneous,
    fit_shallow,
    is_shallow_baseline,
    shallow_baseline_names,
    shallow_family,
)
from ._shallow import validate as validate_shallow
from ._summary import save_samples, summarize, verdict_columns, write_report
from ._verdicts import DECIDED, SequentialPlan

__all__ = ["run_compare", "default_methods", "build_model", "BASELINES"]

log = logging.getLogger("transferkit")

#: the baselines of the labelled-target setting, in the order verdicts use them
BASELINES = ("scratch", "source_only")


def default_methods() -> list[MethodSpec]:
    """Every registered fine-tuning strategy, scratch first."""
    names = [m.name for m in list_methods("finetune")]
    names.sort(key=lambda n: (n != "scratch", n))
    return [MethodSpec(name=n) for n in names]


def build_model(cfg: CompareConfig, data: TransferData, num_outputs: int = 0, pretrained: bool | None = None):
    return build_backbone(cfg.backbone, data.target.input_shape, num_outputs, pretrained)


def _trainer_config(cfg: CompareConfig, epochs: int | None = None, batch_size: int | None = None,
                    patience: int | None = None, progress: bool = False, logger=False) -> TrainerConfig:
    t = cfg.trainer
    return TrainerConfig(
        max_epochs=epochs or t.max_epochs, batch_size=batch_size or t.batch_size,
        accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
        precision=t.precision, accumulate_grad_batches=t.accumulate_grad_batches,
        patience=t.patience if patience is None else patience, deterministic=t.deterministic,
        progress=progress, logger=logger,
    )


def _correct(model, domain: Domain, batch_size: int = 512) -> np.ndarray:
    """Per-sample correctness (1/0) of ``model`` on ``domain``."""
    pred, y = predict(model, make_loader(domain, batch_size, shuffle=False, backbone=model))
    return (pred == y).numpy().astype(np.float32)


def _same_classes(data: TransferData) -> bool:
    """Source and target share their label set: by names when both carry names, else by count."""
    s, t = data.source, data.target
    if s is None:
        return False
    if s.class_names is not None and t.class_names is not None:
        return list(s.class_names) == list(t.class_names)
    # unnamed class ids: the same count is not enough (ids 0-2 in the source, 5-7 in the target)
    return data.source_num_classes == data.num_classes and set(np.unique(s.y).tolist()) == set(np.unique(t.y).tolist())


def _data_key(cfg: CompareConfig) -> dict:
    return cfg.data.model_dump(mode="json", exclude={"labels_per_class", "val_per_class"})


def _pretrain_key(cfg: CompareConfig, pretrained_backbone: bool) -> dict:
    t = cfg.trainer
    return {
        "data": _data_key(cfg), "backbone": {**cfg.backbone.model_dump(mode="json"), "pretrained": pretrained_backbone},
        "pretrain": cfg.pretrain.model_dump(mode="json"), "seed": cfg.trainer.seed_list()[0],
        "trainer": {k: getattr(t, k) for k in ("optimizer", "precision", "deterministic", "accelerator")},
    }


def _pretrain(cfg: CompareConfig, data: TransferData, out: Path, resume: bool, progress: bool) -> tuple[Any, dict]:
    """The source model (head = source classes) and facts about how it was obtained."""
    path = out / "pretrained.pt"
    p = cfg.pretrain
    pretrained_backbone = resolve_pretrained(cfg.backbone)
    seed = cfg.trainer.seed_list()[0]
    torch.manual_seed(seed)  # the source model's initial weights
    if data.source is None or p.epochs == 0 and p.checkpoint is None:
        model = build_model(cfg, data, pretrained=pretrained_backbone)
        return model, {"source": None, "pretrained_backbone": pretrained_backbone}
    model = build_model(cfg, data, num_outputs=data.source_num_classes, pretrained=pretrained_backbone)
    info: dict[str, Any] = {"source": data.source.name, "source_samples": len(data.source),
                            "pretrained_backbone": pretrained_backbone}
    key = _pretrain_key(cfg, pretrained_backbone)
    stamp = out / "pretrained.json"
    reuse = resume and path.exists() and check_resumable(stamp, key, "the pretrained source model")
    if p.checkpoint is not None or reuse:
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
        # pretrained weights are adapted, not re-learnt: a smaller rate for the encoder
        lr = p.lr if p.lr is not None else (1e-4 if pretrained_backbone else 1e-3)
        scale = p.backbone_lr_scale if p.backbone_lr_scale is not None else (0.1 if pretrained_backbone else 1.0)
        log.info("pretraining %s on %s (%d samples, %d epochs, lr %g, encoder lr x%g)", cfg.backbone.name,
                 data.source.name, len(data.source), p.epochs, lr, scale)
        strategy = create("finetune", "full", backbone_lr_scale=scale)
        model.reset_head(data.source_num_classes)
        fit = fit_finetune(
            model, strategy, data.source, None,
            _trainer_config(cfg, epochs=p.epochs, batch_size=p.batch_size, patience=0, progress=progress),
            OptimConfig(name=cfg.trainer.optimizer, lr=lr), seed=seed,
        )
        model = fit.model
        info.update(pretrain_seconds=fit.train_seconds, pretrain_lr=lr, pretrain_backbone_lr_scale=scale)
        if is_main_process():
            torch.save(model.state_dict(), path)
            write_json(stamp, {"key": key, "digest": run_digest(key)})
    acc = float(_correct(model, data.source).mean())
    info["source_train_accuracy"] = acc
    chance = 1.0 / max(data.source_num_classes, 1)
    if acc < 1.5 * chance:
        info["warning"] = (f"the source model is at chance on its own training data (accuracy {acc:.3f}, "
                           f"chance {chance:.3f}): pretraining failed (learning rate too high for a pretrained "
                           "encoder? see pretrain.lr and pretrain.backbone_lr_scale)")
        log.warning(info["warning"])
    return model, info


def few_shot_split(data: TransferData, n: int, val_n: int, seed: int) -> tuple[Domain, Domain]:
    """The few-shot target split of one seed: ``n`` training and ``val_n`` validation samples per
    class, disjoint, drawn from the target pool (the test split is never touched)."""
    train_idx = few_shot_indices(data.target.y, n, seed)
    val_idx = few_shot_indices(data.target.y, val_n, seed + 7919, exclude=train_idx)
    return data.target.subset(train_idx, "target_train"), data.target.subset(val_idx, "target_val")


@dataclass
class _Context:
    """What every fine-tuning run of a grid shares (sent once to each worker)."""

    cfg: CompareConfig
    data: TransferData
    pretrained: Any
    reuse_head: bool
    out: str


def _run_one(ctx: _Context, payload: dict) -> dict:
    """One fine-tuning run: draw the few-shot split, fine-tune, test; writes its result.json."""
    cfg, data = ctx.cfg, ctx.data
    method = MethodSpec.model_validate(payload["method"])
    n, seed = payload["n"], payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    run_dir = runs_dir / task.run_id
    train, val = few_shot_split(data, n, cfg.data.val_per_class or n, seed)
    if is_shallow_baseline(method.name) or shallow_family(method.name):
        return _run_shallow(ctx, method, n, seed, task, train, runs_dir)

    torch.manual_seed(seed)
    strategy = create("finetune", method.name, **method.params)
    base = ctx.pretrained if strategy.defaults.pretrained else build_model(cfg, data, pretrained=False)
    reuse = ctx.reuse_head and strategy.defaults.pretrained
    with PeakMemory() as mem:
        model = strategy.prepare(copy.deepcopy(base), data.num_classes, reuse_head=reuse)
        fit = fit_finetune(
            model, strategy, train, val, _trainer_config(cfg, logger=make_logger(cfg.trainer.logger, run_dir)),
            OptimConfig(name=cfg.trainer.optimizer, lr=cfg.trainer.lr, weight_decay=cfg.trainer.weight_decay),
            seed=seed, ckpt_dir=run_dir / "checkpoints", resume=payload.get("resume", False),
        )
        correct = _correct(fit.model, data.target_test)
    result = {
        "method": method.display, "strategy": method.name, "params": method.params, "seed": seed,
        "labels_per_class": n,
        "head": "source head" if reuse else ("new head" if strategy.defaults.pretrained else "from scratch"),
        "metrics": {"accuracy": float(correct.mean()), "val_accuracy": fit.best_val_acc},
        "epochs": fit.epochs, "train_seconds": fit.train_seconds, "peak_memory_mb": mem.peak_mb,
        "trainable_params": fit.trainable_params,
    }
    if is_main_process():
        result["samples"] = save_samples(run_dir, correct)
        ckpt = run_dir / "checkpoints" / "last.ckpt"
        if ckpt.exists():
            ckpt.unlink()  # the run is complete: its result is what resuming needs
    return finish_run(runs_dir, task, result, write=is_main_process())


def _run_shallow(ctx: _Context, method: MethodSpec, n: int, seed: int, task: RunTask, train: Domain,
                 runs_dir: Path) -> dict:
    """A scikit-learn transfer method (TrAdaBoost, FA, tree transfer, ...) or a base learner on
    the source or on the few target labels only, on the same few-shot split as the networks."""
    data = ctx.data
    if data.source is None:
        raise ConfigError(f"method '{method.name}' needs a labelled source domain")
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        correct, extra = fit_shallow(method.name, method.params, seed, data.source.X, data.source.y, train.X,
                                     train.y, data.target_test.X, data.target_test.y,
                                     runs_dir / task.run_id if is_main_process() else None)
    result = {
        "method": method.display, "strategy": method.name, "params": method.params, "seed": seed,
        "labels_per_class": n, "metrics": {"accuracy": float(correct.mean()),
                                           **{k: v for k, v in extra.items() if k != "weights"}},
        "epochs": 0, "train_seconds": time.perf_counter() - t0, "peak_memory_mb": mem.peak_mb, "trainable_params": None,
    }
    if is_main_process():
        result["samples"] = save_samples(runs_dir / task.run_id, correct)
    return finish_run(runs_dir, task, result, write=is_main_process())


def _source_only_runs(ctx: _Context, plan: list[tuple[int, int]], out: Path) -> list[dict]:
    """The source model on the target test set, with no target label: the same prediction for
    every budget and seed (one source model), so a strategy can be compared with it seed by seed."""
    correct = _correct(ctx.pretrained, ctx.data.target_test)
    runs_dir = out / "runs"
    run_dir = runs_dir / "source_only"
    name = save_samples(run_dir, correct) if is_main_process() else None
    return [{
        "run_id": "source_only", "method": "source_only", "strategy": "source_only", "params": {}, "seed": s,
        "labels_per_class": n, "head": "source head", "samples": name,
        "metrics": {"accuracy": float(correct.mean())}, "epochs": 0, "train_seconds": 0.0,
        "peak_memory_mb": None, "trainable_params": 0,
    } for n, s in plan]


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

    def err(r) -> tuple[float, float]:
        lo, hi, m = r.get("ci95_low"), r.get("ci95_high"), r["accuracy_mean"]
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            return 0.0, 0.0
        return max(m - lo, 0.0), max(hi - m, 0.0)

    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(methods)) + 2.5, 4))
    palette = {"baseline": "#888888", "positive transfer": "#2a9d8f", "negative transfer": "#e76f51",
               "practically equivalent": "#e9c46a"}
    neutral = "#8ab0d0"
    colors = [palette.get(rows[m].get("verdict"), neutral) for m in methods]
    bars = [err(rows[m]) for m in methods]
    ax.bar(methods, [rows[m]["accuracy_mean"] for m in methods], yerr=np.array(bars).T, color=colors, capsize=3)
    ax.set_ylim(0, 1)
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"Accuracy per method, {top} labels per class (mean, 95% interval)")
    plt.setp(ax.get_xticklabels(), rotation=40, ha="right")
    from matplotlib.patches import Patch

    legend = [Patch(color=c, label=lab) for lab, c in (("baseline", palette["baseline"]),
              ("positive transfer", palette["positive transfer"]), ("practically equivalent", palette["practically equivalent"]),
              ("inconclusive / n/a", neutral), ("negative transfer", palette["negative transfer"]))]
    ax.legend(handles=legend, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(fig_dir / "accuracy_per_method.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in methods:
        pts = sorted((r["labels_per_class"], r["accuracy_mean"], *err(r)) for r in summary if r["method"] == m)
        xs, ys, lo, hi = zip(*pts)
        ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=2, label=m, lw=2.5 if m == "scratch" else 1.2, color="black" if m == "scratch" else None)
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


def run_compare(
    cfg: CompareConfig,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Run the comparison a config describes; returns the results dict also written to disk.

    Everything is validated (methods, data, budgets, output directory) before the output
    directory is created or anything trains.
    """
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    check_logger_installed(cfg.trainer.logger)
    listed = cfg.listed_methods() or default_methods()
    methods = list(listed)
    if not any(m.name == "scratch" for m in methods):
        methods.insert(0, MethodSpec(name="scratch"))
    for m in methods:  # unknown names and bad parameters fail before any training
        with method_errors(m.display):
            if shallow_family(m.name):
                validate_shallow(m.name, m.params)
            else:
                create("finetune", m.name, **m.params)
    data = load_data(cfg.data, "compare")
    hetero = _heterogeneous(data)
    if hetero:  # only heterogeneous methods; no network, no source-only learner can read both
        check_heterogeneous([m.name for m in listed], hetero["X_source"], hetero["X_target"])
        methods = list(listed)
    shallow_bases = shallow_baseline_names(methods, with_target=True, with_source=not hetero)
    methods += [MethodSpec(name=b) for b in shallow_bases]
    same = _same_classes(data)
    # pretrain.epochs: 0 without a checkpoint trains no source model, so there is no source head
    source_model = data.source is not None and not (cfg.pretrain.epochs == 0 and cfg.pretrain.checkpoint is None)
    reuse_head = same and source_model if cfg.pretrain.reuse_head is None else cfg.pretrain.reuse_head
    if reuse_head and not source_model:
        raise ConfigError("pretrain.reuse_head needs a source model, and pretrain.epochs is 0 with no "
                          "pretrain.checkpoint (or the data has no source)")
    if reuse_head and not same:
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
    auto = cfg.trainer.seeds == "auto"
    plan = SequentialPlan.from_range(min(3, cfg.trainer.max_seeds), cfg.trainer.max_seeds) if auto else None
    level = plan.look_level(0.95) if plan else 0.95
    n_first = plan.min_seeds if plan else len(cfg.trainer.seed_list())
    model_params = 0 if hetero else sum(p.numel() for p in build_model(cfg, data, pretrained=False).parameters())
    workers = _workers(cfg, model_params, len(cfg.data.labels_per_class) * n_first * len(methods))
    executor = make_executor(cfg.trainer, workers)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    tasks: list[RunTask] = []
    runs: list[dict] = []
    seeds: list[int] = []
    with threads(cfg.trainer, model_params):
        if hetero:
            pretrained, info = None, {"source": data.source.name, "pretrained_backbone": False,
                                      "heterogeneous": hetero}
        else:
            pretrained, info = _pretrain(cfg, data, out, resume, progress and is_main_process())
        info["reuse_head"] = reuse_head
        base_key = {"data": _data_key(cfg), "backbone": cfg.backbone.model_dump(mode="json"),
                    "pretrain": _pretrain_key(cfg, info["pretrained_backbone"]), "trainer": trainer_key(cfg.trainer),
                    "reuse_head": reuse_head}
        ctx = _Context(cfg, data, pretrained, reuse_head, str(out))
        with_source_only = data.source is not None and same and info.get("source") is not None and not hetero

        def run_seeds(new: list[int]) -> None:
            batch = []
            for n in cfg.data.labels_per_class:
                for s in new:
                    for m in methods:
                        spec = m.model_dump(mode="json")
                        key = {**base_key, "method": spec, "labels_per_class": n, "seed": s}
                        batch.append(grid_task(f"{m.display}__n{n}__seed{s}", key, n=n, seed=s, method=spec,
                                               resume=resume))
            tasks.extend(batch)
            reused, todo = plan_runs(batch, out / "runs", resume)
            runs.extend(reused)
            bar = _progress(progress and is_main_process())
            with bar or nullcontext():
                task_bar = bar.add_task("fine-tuning", total=len(batch), completed=len(reused)) if bar else None

                def done(result: dict) -> None:
                    runs.append(result)
                    if bar:
                        bar.update(task_bar, advance=1, description=(
                            f"{result['method']:>18} n={result['labels_per_class']:<3} seed={result['seed']}"))

                executor.run(_run_one, ctx, [t.payload for t in todo], done)
            if with_source_only:
                runs.extend(_source_only_runs(ctx, [(n, s) for n in cfg.data.labels_per_class for s in new], out))
            seeds.extend(new)

        if plan is None:
            run_seeds(cfg.trainer.seed_list())
        else:  # trainer.seeds: auto -- add seeds at the planned looks until every verdict is decided
            verdicts: list = []
            budget = cfg.trainer.time_budget_s
            while k := plan.next_batch(len(seeds), verdicts):
                if seeds and budget is not None and time.perf_counter() - start > budget:
                    info["stopped_by_time_budget"] = True
                    log.warning("seeds: auto -- time budget of %gs spent after %d seeds; %d verdicts still open",
                                budget, len(seeds), sum(v.verdict not in DECIDED for v in verdicts))
                    break
                run_seeds(list(range(len(seeds), len(seeds) + k)))
                summary = _summarize(runs, cfg, out, level, hetero)
                verdicts = [SimpleNamespace(verdict=r[c]) for r in summary if r["verdict"] != "baseline"
                            for c in r if c.startswith("verdict_vs_")]
                log.info("seeds: auto -- %d seeds, %d of %d verdicts decided", len(seeds),
                         sum(v.verdict in DECIDED for v in verdicts), len(verdicts))
    order = {t.run_id: i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: (order.get(r["run_id"], len(order)), r["seed"], r["labels_per_class"]))
    summary = _summarize(runs, cfg, out, level, hetero)
    info["seeds"] = seeds
    if plan is not None:
        info["sequential_plan"] = {"looks": list(plan.looks), "level_per_look": level}
    figures = _figures(out, summary) if is_main_process() else []
    results = write_results(
        out, cfg.model_dump(mode="json"), runs, summary, command="compare",
        extra={"source": info, "total_seconds": time.perf_counter() - start, "figures": figures,
               "columns": verdict_columns("accuracy", BASELINES, ("labels_per_class",))
               + (["vs", "gain", "verdict"] if shallow_bases else [])},
    )
    if is_main_process():
        results["report"] = _report(out, cfg, summary, info, figures)
    return results


def _heterogeneous(data: TransferData) -> dict | None:
    """The two shapes when source and target have different features, else None."""
    s, t, test = data.source, data.target, data.target_test
    if s is None or s.is_text or t.is_text or s.input_shape == t.input_shape:  # sentences have no width
        return None
    n_t = len(t) + (0 if data.transductive or test is t else len(test))  # before the test split
    return {"X_source": list(s.X.shape), "X_target": [n_t, *t.X.shape[1:]]}


def _summarize(runs: list[dict], cfg: CompareConfig, out: Path, level: float,
               hetero: dict | None = None) -> list[dict]:
    """Verdicts: networks against scratch and the source model, a shallow method against its base
    learner trained on the few target labels and (same features only) on the source."""
    shallow = {}
    for r in runs:
        if shallow_family(r.get("strategy", "")):
            base = base_name(r.get("params") or {}, r["strategy"])
            shallow[r["method"]] = [f"target_only:{base}"] + ([] if hetero else [f"source_only:{base}"])
    bases = list(dict.fromkeys([*BASELINES, *(b for v in shallow.values() for b in v)]))
    return summarize(runs, metric="accuracy", baselines=bases, group_keys=("labels_per_class",),
                     rope=cfg.trainer.rope, runs_dir=out / "runs", level=level,
                     pairs=lambda m: shallow.get(m, list(BASELINES)))


def _report(out: Path, cfg: CompareConfig, summary: list[dict], info: dict, figures: list[str]) -> str:
    intro = [
        f"Data: `{cfg.data.kind}`" + ("" if info.get("heterogeneous") else f"; backbone: `{cfg.backbone.name}`")
        + (" (pretrained weights)" if info.get("pretrained_backbone") else "") + f"; seeds: {info.get('seeds')}"
        + (f" (trainer.seeds: auto, looks at {info['sequential_plan']['looks']} seeds, each at interval level "
           f"{info['sequential_plan']['level_per_look']:.4f}"
           + ("; stopped by trainer.time_budget_s" if info.get("stopped_by_time_budget") else "") + ")"
           if info.get("sequential_plan") else "") + ".",
        "Source: " + (info.get("source") or ("none (pretrained backbone only)" if info.get("pretrained_backbone")
                                            else "none: no source model, the pretrained strategies start "
                                                 "from random weights"))
        + (f", source train accuracy {info['source_train_accuracy']:.3f}" if info.get("source_train_accuracy") is not None else "")
        + ".",
    ]
    if not info.get("heterogeneous"):
        intro.append("Pretrained strategies start from "
                     + ("the **source head** (source and target share their classes)" if info.get("reuse_head")
                        else "a **new head**") + "; the `head` column says which each strategy used.")
    if info.get("warning"):
        intro.append(f"**Warning**: {info['warning']}.")
    if info.get("heterogeneous"):
        h = info["heterogeneous"]
        intro.append(f"Source and target have **different features** (X_source {tuple(h['X_source'])}, "
                     f"X_target {tuple(h['X_target'])}): heterogeneous transfer. **Source only is "
                     "impossible** (a learner fitted on the source features cannot read the target's), "
                     "so each method is judged against its base learner on the few target labels only "
                     "(`target_only:`).")
    cols = ["labels_per_class", "method", "head", "accuracy_mean", "ci95_low", "ci95_high"]
    cols += [c for b in BASELINES for c in (f"gain_vs_{b}", f"verdict_vs_{b}")] + ["vs", "gain", "verdict",
                                                                                "trainable_params", "flag"]
    return write_report(out, "transferkit compare", intro, summary, cols, figures, rope=cfg.trainer.rope,
                        baselines=[b for b in BASELINES if any(r["method"] == b for r in summary)]
                        or [r["method"] for r in summary if is_shallow_baseline(r["method"])],
                        transductive=False)


MAX_AUTO_WORKERS = 4
MIN_RUNS_FOR_WORKERS = 8


def _workers(cfg: CompareConfig, model_params: int, n_runs: int) -> int:
    """Parallel fine-tuning processes: explicit ``trainer.workers``, or one per core (at most
    4) for small models trained on one CPU device; 1 whenever a run spans devices."""
    from ._common import SMALL_MODEL_PARAMS

    t = cfg.trainer
    single_cpu = t.accelerator == "cpu" and str(t.devices) == "1" and t.strategy == "auto"
    if t.workers is not None:
        if t.workers > 1 and not single_cpu and t.executor == "local":
            raise ConfigError(
                "trainer.workers > 1 runs fine-tuning jobs side by side on the CPU; it needs "
                "accelerator: cpu, devices: 1 and strategy: auto (each run then uses one process)"
            )
        return max(1, min(t.workers, n_runs))
    if not (single_cpu and model_params < SMALL_MODEL_PARAMS) or n_runs < MIN_RUNS_FOR_WORKERS:
        return 1  # starting a worker (a fresh interpreter importing torch) costs more than a few tiny runs
    return max(1, min(os.cpu_count() or 1, MAX_AUTO_WORKERS, n_runs))


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
