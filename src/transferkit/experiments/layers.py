"""``transferkit layers``: which layers transfer? The experiment of Yosinski et al. (NeurIPS 2014).

For a source task A and a target task B (few labelled target samples per class) and every
``n = 0..L`` (``L`` = the backbone's layer groups, the head excluded), a fresh network gets its
first ``n`` layer groups copied from another network, the rest (and the head) newly initialised:

* ``AnB``: copied from the network trained on the source A, the copied groups frozen;
* ``AnB+``: the same, every layer fine-tuned on B;
* ``BnB``: copied from a network trained on the target B itself (the same few-shot split, the
  ``scratch`` run of that seed), frozen -- the control that separates *fragile co-adaptation*
  (BnB drops below scratch) from *specificity* of the source features (AnB drops below BnB);
* ``BnB+``: the same, fine-tuned.

At ``n = 0`` every variant is the network trained from scratch, so ``scratch`` is the one
baseline: each (n, variant) is judged against it seed by seed (same seed, same split, same
initialisation of the layers not copied, same test samples). Writes ``results.json``,
``report.md`` and ``figures/accuracy_vs_layers.png`` (accuracy against n, one line per variant,
95% intervals, as Yosinski et al.'s Fig. 2).

The source model is trained as ``compare`` trains it (:func:`compare._pretrain`), and the
few-shot split of each seed is ``compare``'s (:func:`compare.few_shot_split`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._registry import create
from ..data._base import few_shot_indices
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError
from ..training import OptimConfig, fit_finetune
from ._common import check_logger_installed, make_logger, require_listed_seeds, threads, trainer_key
from ._config import LAYER_VARIANTS, LayersConfig
from ._executor import PeakMemory, RunTask, finish_run, grid_task, make_executor, plan_runs
from ._results import (
    check_output_dir,
    is_main_process,
    prepare_output_dir,
    save_figure,
    write_results,
)
from ._summary import save_samples, summarize, write_report
from .compare import (
    _correct,
    _pretrain,
    _pretrain_key,
    _trainer_config,
    _workers,
    build_model,
    few_shot_split,
)

__all__ = ["run_layers", "transfer_first_groups", "BASELINES"]

log = logging.getLogger("transferkit")

BASELINES = ("scratch",)


def transfer_first_groups(donor: nn.Module, model: nn.Module, n: int) -> nn.Module:
    """Copy the first ``n`` layer groups of ``donor`` into ``model`` (same architecture) in place.

    The groups after ``n`` and the head of ``model`` keep their own (fresh) weights.
    """
    src, dst = donor.layer_groups(), model.layer_groups()
    if len(src) != len(dst):
        raise ValueError(f"donor has {len(src)} layer groups, model {len(dst)}")
    if not 0 <= n <= len(dst):
        raise ValueError(f"n must be in 0..{len(dst)}, got {n}")
    for a, b in zip(src[:n], dst[:n]):
        b.load_state_dict(a.state_dict())
    return model


@dataclass
class _Context:
    cfg: LayersConfig
    data: Any
    pretrained: Any
    out: str


def _run_id(variant: str, n: int, seed: int) -> str:
    return f"scratch__seed{seed}" if variant == "scratch" else f"{variant}__n{n}__seed{seed}"


def _run_one(ctx: _Context, payload: dict) -> dict:
    """One network: copy the first n groups from its donor, freeze them or not, train on the
    seed's few-shot target split, test on the held-out target split."""
    cfg, data = ctx.cfg, ctx.data
    variant, n, seed = payload["variant"], payload["n"], payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    run_dir = runs_dir / task.run_id
    train, val = few_shot_split(data, cfg.data.labels_per_class, cfg.data.val_per_class or cfg.data.labels_per_class, seed)
    donor = None
    if variant.startswith("A"):
        donor = ctx.pretrained
    elif variant.startswith("B"):
        donor = build_model(cfg, data, num_outputs=data.num_classes, pretrained=False)
        donor.load_state_dict(torch.load(runs_dir / _run_id("scratch", 0, seed) / "model.pt", map_location="cpu",
                                         weights_only=True))
    torch.manual_seed(seed)  # the same fresh layers for every variant of a seed
    model = build_model(cfg, data, pretrained=False)
    if donor is not None:
        transfer_first_groups(donor, model, n)
    frozen = variant in ("AnB", "BnB")
    strategy = create("finetune", "layer_transfer", k=n, which="first") if frozen else create("finetune", "full")
    with PeakMemory() as mem:
        model = strategy.prepare(model, data.num_classes, reuse_head=False)
        fit = fit_finetune(
            model, strategy, train, val, _trainer_config(cfg, logger=make_logger(cfg.trainer.logger, run_dir)),
            OptimConfig(name=cfg.trainer.optimizer, lr=cfg.trainer.lr, weight_decay=cfg.trainer.weight_decay),
            seed=seed, ckpt_dir=run_dir / "checkpoints", resume=payload.get("resume", False),
        )
        correct = _correct(fit.model, data.target_test)
    result = {
        "method": variant, "variant": variant, "n": n, "seed": seed, "frozen_groups": n if frozen else 0,
        "metrics": {"accuracy": float(correct.mean()), "val_accuracy": fit.best_val_acc},
        "epochs": fit.epochs, "train_seconds": fit.train_seconds, "peak_memory_mb": mem.peak_mb,
        "trainable_params": fit.trainable_params,
    }
    if is_main_process():
        result["samples"] = save_samples(run_dir, correct)
        if variant == "scratch" or cfg.layers.save_models:
            torch.save(fit.model.state_dict(), run_dir / "model.pt")
            result["model"] = "model.pt"
    return finish_run(runs_dir, task, result, write=is_main_process())


def _check(cfg: LayersConfig, data: Any, n_groups: int) -> list[int]:
    """Every refusal before anything trains; returns the n values to run."""
    if cfg.listed_methods():
        raise ConfigError("'transferkit layers' takes no method/methods; choose layers.variants "
                          f"among {', '.join(LAYER_VARIANTS)}")
    ns = cfg.layers.n if cfg.layers.n is not None else list(range(n_groups + 1))
    too_deep = [k for k in ns if k > n_groups]
    if too_deep:
        raise ConfigError(
            f"layers.n={too_deep[0]} exceeds the {n_groups} layer groups of backbone '{cfg.backbone.name}' "
            f"(n may be 0..{n_groups})")
    if any(v.startswith("A") for v in cfg.layers.variants):
        if data.source is None:
            raise ConfigError(f"layers.variants {cfg.layers.variants} transfer from a source, and data kind "
                              f"'{cfg.data.kind}' has no labelled source; keep only BnB and BnB+")
        if cfg.pretrain.epochs == 0 and cfg.pretrain.checkpoint is None:
            raise ConfigError("AnB/AnB+ copy layers of a network trained on the source: set pretrain.epochs > 0 "
                              "or pretrain.checkpoint")
        if cfg.pretrain.reuse_head:
            raise ConfigError("pretrain.reuse_head does not apply to 'layers': the head is always new")
    n, val_n = cfg.data.labels_per_class, cfg.data.val_per_class or cfg.data.labels_per_class
    try:
        few_shot_indices(data.target.y, n + val_n, 0)
    except DataError as err:
        raise DataError(f"data.labels_per_class={n} (plus {val_n} per class for validation) needs {n + val_n} "
                        f"target samples per class: {err}") from None
    return ns


def run_layers(cfg: LayersConfig, output_dir: str | Path | None = None, resume: bool = False,
               overwrite: bool = False, progress: bool = True) -> dict:
    """Run every (n, variant) x seed of ``cfg``; write results.json, report.md and the figure."""
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    check_logger_installed(cfg.trainer.logger)
    require_listed_seeds(cfg)
    data = load_data(cfg.data, "layers")
    probe = build_model(cfg, data, pretrained=False)
    n_groups = len(probe.layer_groups())
    ns = _check(cfg, data, n_groups)
    seeds = cfg.trainer.seed_list()
    variants = list(cfg.layers.variants)
    model_params = sum(p.numel() for p in probe.parameters())
    n_runs = len(seeds) * (1 + len(variants) * sum(k > 0 for k in ns))
    executor = make_executor(cfg.trainer, _workers(cfg, model_params, n_runs))
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    runs: list[dict] = []
    with threads(cfg.trainer, model_params):
        needs_source = any(v.startswith("A") for v in variants)
        pretrained, info = (_pretrain(cfg, data, out, resume, progress and is_main_process()) if needs_source
                            else (None, {"source": None}))
        base_key = {"data": cfg.data.model_dump(mode="json"), "backbone": cfg.backbone.model_dump(mode="json"),
                    "trainer": trainer_key(cfg.trainer),
                    "pretrain": _pretrain_key(cfg, info.get("pretrained_backbone", False)) if needs_source else None}
        ctx = _Context(cfg, data, pretrained, str(out))

        def tasks_for(pairs: list[tuple[str, int]]) -> list[RunTask]:
            tasks = []
            for s in seeds:
                for v, k in pairs:
                    key = {**{kk: vv for kk, vv in base_key.items() if v.startswith("A") or kk != "pretrain"},
                           "variant": v, "n": k, "seed": s}
                    tasks.append(grid_task(_run_id(v, k, s), key, variant=v, n=k, seed=s, resume=resume))
            return tasks

        # phase 1: the networks trained on the target itself (scratch, and BnB's donors); phase 2: the rest
        for pairs in ([("scratch", 0)], [(v, k) for k in ns if k > 0 for v in variants]):
            tasks = tasks_for(pairs)
            done, todo = plan_runs(tasks, out / "runs", resume)
            runs.extend(done)
            log.info("layers: %d runs (%d reused)", len(tasks), len(done))
            executor.run(_run_one, ctx, [t.payload for t in todo], runs.append)
    order = {_run_id(v, k, s): i for i, (v, k, s) in enumerate(
        [("scratch", 0, s) for s in seeds] + [(v, k, s) for k in ns for v in variants for s in seeds])}
    runs.sort(key=lambda r: order.get(r["run_id"], len(order)))
    # scratch is every variant at n = 0: the baseline of each n's group
    table_runs = [{**r, "n": k} for r in runs if r["method"] == "scratch" for k in ns] + [
        r for r in runs if r["method"] != "scratch"]
    summary = summarize(table_runs, metric="accuracy", baselines=BASELINES, group_keys=("n",),
                        rope=cfg.trainer.rope, runs_dir=out / "runs")
    summary.sort(key=lambda r: (r["n"], r["method"] != "scratch", LAYER_VARIANTS.index(r["method"])
                                if r["method"] in LAYER_VARIANTS else -1))
    info.update(seeds=seeds, layer_groups=n_groups, n=ns)
    figures = [_figure(out, summary, variants, cfg)] if is_main_process() else []
    cols = ["n", "method", "accuracy_mean", "ci95_low", "ci95_high", "gain_vs_scratch", "verdict_vs_scratch",
            "trainable_params"]
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "layers",
                            extra={"source": info, "total_seconds": time.perf_counter() - start,
                                   "figures": figures, "columns": cols})
    if is_main_process():
        results["report"] = _report(out, cfg, summary, info, figures, cols)
    return results


def _err(r: dict) -> tuple[float, float]:
    lo, hi, m = r.get("ci95_low"), r.get("ci95_high"), r["accuracy_mean"]
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 0.0
    return max(m - lo, 0.0), max(hi - m, 0.0)


def _figure(out: Path, summary: list[dict], variants: list[str], cfg: LayersConfig) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    style = {"AnB": ("#d62828", "o", "-"), "AnB+": ("#f77f00", "^", "--"), "BnB": ("#1d3557", "s", "-"),
             "BnB+": ("#457b9d", "D", "--")}
    scratch = {r["n"]: r for r in summary if r["method"] == "scratch"}
    base = scratch[min(scratch)]
    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    ax.axhline(base["accuracy_mean"], color="#888888", lw=1, ls=":", label="scratch (n = 0)")
    for i, v in enumerate(variants):
        pts = [(0, base["accuracy_mean"], *_err(base))] + sorted(
            (r["n"], r["accuracy_mean"], *_err(r)) for r in summary if r["method"] == v)
        xs, ys, lo, hi = zip(*pts)
        xs = [x + (i - (len(variants) - 1) / 2) * 0.06 for x in xs]  # side by side, intervals visible
        color, marker, ls = style.get(v, (None, "o", "-"))
        ax.errorbar(xs, ys, yerr=[lo, hi], marker=marker, ls=ls, color=color, capsize=2, label=v)
    ns = sorted(scratch)
    ax.set_xticks(ns, [str(k) for k in ns])
    ax.set_xlabel("layer groups n copied (and frozen in AnB / BnB)")
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"{cfg.backbone.name} on {cfg.data.kind}: which layers transfer (mean, 95% interval)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out, "accuracy_vs_layers.png", dpi=120)


def _report(out: Path, cfg: LayersConfig, summary: list[dict], info: dict, figures: list[str],
            cols: list[str]) -> str:
    mean = {(r["n"], r["method"]): r["accuracy_mean"] for r in summary}
    intro = [
        f"Data: `{cfg.data.kind}`, {cfg.data.labels_per_class} labelled target samples per class; backbone "
        f"`{cfg.backbone.name}` with {info['layer_groups']} layer groups; n = {info['n']}; seeds {info['seeds']}.",
        f"Source: {info.get('source') or 'none'}"
        + (f", source train accuracy {info['source_train_accuracy']:.3f}" if info.get("source_train_accuracy") is not None
           else "") + ".",
        "Yosinski et al. (NeurIPS 2014): a fresh network receives the first n layer groups of a network trained on "
        "the source (`AnB`) or on the target's own training split (`BnB`, the scratch network of the same seed), "
        "frozen, or fine-tuned with everything else (`AnB+`, `BnB+`); the other groups and the head are newly "
        "initialised. At n = 0 every variant is the scratch network, the baseline of every row.",
    ]
    extra = []
    lines = []
    for k in info["n"]:
        if k == 0:
            continue
        parts = []
        if (k, "BnB") in mean:
            parts.append(f"BnB - scratch {mean[(k, 'BnB')] - mean[(k, 'scratch')]:+.3f}")
        if (k, "AnB") in mean and (k, "BnB") in mean:
            parts.append(f"AnB - BnB {mean[(k, 'AnB')] - mean[(k, 'BnB')]:+.3f}")
        if (k, "AnB+") in mean:
            parts.append(f"AnB+ - scratch {mean[(k, 'AnB+')] - mean[(k, 'scratch')]:+.3f}")
        if parts:
            lines.append(f"- n = {k}: " + "; ".join(parts))
    if lines:
        extra = ["Differences of mean accuracy, read as in Yosinski et al. (Sec. 4.1): a negative BnB - scratch means "
                 "fragile co-adapted layers were split apart; a negative AnB - BnB means the copied features are "
                 "specific to the source; a positive AnB - BnB means the source taught the copied layers more than "
                 "the few target labels did (these differences carry no verdict; see the table):", "", *lines, ""]
    return write_report(out, "transferkit layers", intro, summary, cols, figures, rope=cfg.trainer.rope,
                        baselines=BASELINES, transductive=False, extra=extra)
