"""``transferkit multitask``: several tasks learnt together, against single-task training.

Config sections (see ``transferkit.experiments._config.MultitaskConfig``): ``data`` (a kind
that serves multitask: multimnist, school, landmine, arrays), ``backbone``, ``architecture``
(hard_sharing, cross_stitch, mmoe, ...), ``methods`` (single_task, weightings such as equal,
uncertainty, dwa, gradnorm, aggregators such as mgda, mgda_ub, pcgrad, cagrad, upgrad), and
``trainer``.

Per run the metrics are the tasks' metrics on the test split plus ``delta_m`` (Δm%, Maninis et
al. 2019: mean over main tasks of ``±(M_m - M_b)/M_b * 100`` against the single-task baseline
of the same seed, signed so that a *positive* Δm means better than single-task). Auxiliary
tasks are reported but excluded from Δm. Verdicts compare each method with single-task per
main task and on Δm.
"""

from __future__ import annotations

import inspect
import logging
import pathlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._registry import register
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError, TransferkitError, UnknownNameError, suggest
from ._common import (
    build_backbone,
    check_logger_installed,
    make_logger,
    method_errors,
    require_listed_seeds,
    threads,
    trainer_key,
)
from ._config import MethodSpec, MultitaskConfig
from ._executor import (
    PeakMemory,
    RunTask,
    finish_run,
    make_executor,
    method_seed_tasks,
    run_grid,
)
from ._results import (
    check_output_dir,
    is_main_process,
    markdown_table,
    prepare_output_dir,
    save_figure,
    write_results,
)
from ._summary import describe_rule, summarize

__all__ = ["AGGREGATOR_METHODS", "WEIGHTINGS", "BASELINES", "delta_m", "run_multitask", "multitask_method_names"]

log = logging.getLogger("transferkit")
BASELINES = ("single_task",)
WEIGHTINGS = {"equal": "fixed", "fixed": "fixed", "uncertainty": "uncertainty", "dwa": "dwa", "gradnorm": "gradnorm"}
AGGREGATOR_METHODS = {"mgda_ub": ("mgda", True)}


def _single_task() -> None:
    """Single-task baseline: one network per task, each trained alone (the verdicts' baseline)."""


def _equal() -> None:
    """Equal task weights (the summed loss); an alias of the 'fixed' weighting with weights 1."""


def _mgda_ub() -> None:
    """MGDA-UB (Sener & Koltun 2018): MGDA on the shared representation's gradients, one backward pass."""


register("multitask", "single_task")(_single_task)
register("multitask", "equal")(_equal)
register("multitask", "mgda_ub")(_mgda_ub)


def multitask_method_names() -> set[str]:
    """Every name ``methods`` accepts in a multi-task config."""
    import transferkit

    aggs = {m.name for m in transferkit.list_methods("aggregator")}
    return {"single_task", *WEIGHTINGS, *AGGREGATOR_METHODS, *aggs}


def _check_methods(methods: list[MethodSpec]) -> None:
    valid = multitask_method_names()
    for m in methods:
        if m.name not in valid:
            raise UnknownNameError(
                f"unknown multi-task method '{m.name}'.{suggest(m.name, valid)} Valid: {', '.join(sorted(valid))}."
            )


def delta_m(metrics: dict[str, float], baseline: dict[str, float], tasks) -> float:
    """Δm% (Maninis et al. 2019) over the main (non-auxiliary) tasks; positive = better."""
    vals = []
    for t in tasks:
        if t.auxiliary:
            continue
        key = f"{t.name}/{t.main_metric}"
        if key not in metrics or key not in baseline or baseline[key] == 0:
            continue
        sign = 1.0 if t.higher_is_better else -1.0
        vals.append(sign * (metrics[key] - baseline[key]) / abs(baseline[key]) * 100.0)
    return float(np.mean(vals)) if vals else float("nan")


def _figures(out: pathlib.Path, curves: dict[str, list[list[float]]], runs: list[dict], tasks) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    if curves:
        fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 2.8), squeeze=False)
        for ax, (name, hist) in zip(axes[0], curves.items()):
            h = np.asarray(hist)
            for i, t in enumerate(tasks):
                ax.plot(h[:, i], label=t.name)
            ax.set_title(name)
            ax.set_xlabel("step")
        axes[0][0].set_ylabel("task weight")
        axes[0][-1].legend(fontsize=7)
        fig.tight_layout()
        files.append(save_figure(fig, out, "weight_curves.png", dpi=110))
    main = [t for t in tasks if not t.auxiliary]
    if len(main) == 2:
        k0, k1 = (f"{t.name}/{t.main_metric}" for t in main)
        fig, ax = plt.subplots(figsize=(4.5, 4))
        pts = []
        for i, method in enumerate(dict.fromkeys(r["method"] for r in runs)):
            xs = [r["metrics"].get(k0, np.nan) for r in runs if r["method"] == method]
            ys = [r["metrics"].get(k1, np.nan) for r in runs if r["method"] == method]
            ax.scatter(xs, ys, label=method, color=f"C{i}", s=18)
            pts += [(np.nanmean(xs), np.nanmean(ys), method)]
        # Pareto front of the method means (both metrics oriented so that larger is better)
        s0 = 1 if main[0].higher_is_better else -1
        s1 = 1 if main[1].higher_is_better else -1
        front = [p for p in pts if not any(
            s0 * q[0] >= s0 * p[0] and s1 * q[1] >= s1 * p[1] and (q[0], q[1]) != (p[0], p[1]) for q in pts)]
        front.sort()
        ax.plot([p[0] for p in front], [p[1] for p in front], "k--", lw=1, label="Pareto front (means)")
        ax.set_xlabel(k0)
        ax.set_ylabel(k1)
        ax.legend(fontsize=7)
        fig.tight_layout()
        files.append(save_figure(fig, out, "pareto.png", dpi=110))
    return files


@dataclass
class _Context:
    cfg: MultitaskConfig
    train: Any
    test: Any
    tasks: list
    out: str
    first_seed: int


def _build(ctx: _Context, task_list):
    """The multi-task model: the ``backbone`` section's network (any name, pretrained weights
    when they ship offline) shared as the ``architecture`` section says."""
    import transferkit

    cfg = ctx.cfg
    shape = tuple(ctx.train.X.shape[1:])
    backbone = build_backbone(cfg.backbone, shape, 0)
    params = dict(cfg.architecture.params)
    # what the data determines (MMoE's gate input size, a progressive net's adapter shapes)
    required = {name for name, p in inspect.signature(
        transferkit.get_method("mtl_architecture", cfg.architecture.name).factory).parameters.items()
        if p.default is inspect.Parameter.empty}
    if "input_dim" in required:
        params.setdefault("input_dim", int(np.prod(shape)))
    if "input_shape" in required:
        params.setdefault("input_shape", shape)
    try:
        return transferkit.create("mtl_architecture", cfg.architecture.name, backbone=backbone,
                                  tasks=task_list, **params)
    except (TransferkitError, ImportError):
        raise
    except Exception as err:
        raise ConfigError(
            f"architecture '{cfg.architecture.name}' with backbone '{cfg.backbone.name}' could not be built for "
            f"inputs of shape {shape}: {type(err).__name__}: {err}"
        ) from err


def _balancer(name: str, params: dict, tasks) -> tuple[Any, bool]:
    import transferkit

    if name in WEIGHTINGS or name == "single_task":
        weighting = WEIGHTINGS.get(name, "fixed")
        if weighting == "uncertainty" and "task_types" not in params:  # Kendall et al. eq. 5 vs eq. 10
            from ..multitask._uncertainty import kendall_task_type

            params = {**params, "task_types": [kendall_task_type(t.kind) for t in tasks]}
        return transferkit.create("weighting", weighting, num_tasks=len(tasks), **params), False
    agg, rep = AGGREGATOR_METHODS.get(name, (name, False))
    return transferkit.create("aggregator", agg, **params), rep


def _run_one(ctx: _Context, payload: dict) -> dict:
    import torch

    from ..training.multitask import evaluate_multitask, fit_multitask

    tr = ctx.cfg.trainer
    spec = MethodSpec.model_validate(payload["method"])
    seed = payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    run_dir = runs_dir / task.run_id
    fit_kw: dict[str, Any] = {
        "max_epochs": tr.max_epochs, "batch_size": tr.batch_size, "lr": tr.lr, "optimizer": tr.optimizer,
        "weight_decay": tr.weight_decay, "accelerator": tr.accelerator, "devices": tr.devices,
        "trainer_extra": {"strategy": tr.strategy, "logger": make_logger(tr.logger, run_dir)},
    }
    weights: list = []
    affinity, recorder, tag_share = None, None, 0.0
    with PeakMemory() as mem:
        if spec.name == "single_task":
            metrics: dict[str, Any] = {}
            secs, n_params = 0.0, 0
            for t in ctx.tasks:
                torch.manual_seed(seed)
                model = _build(ctx, [t])
                bal, _ = _balancer("equal", {}, [t])
                r = fit_multitask(model, [t], bal, ctx.train, seed=seed, **fit_kw)
                metrics.update(evaluate_multitask(model, [t], ctx.test))
                secs += r.train_seconds
                n_params += r.trainable_params
        else:
            torch.manual_seed(seed)
            model = _build(ctx, ctx.tasks)
            bal, rep = _balancer(spec.name, spec.params, ctx.tasks)
            recorder = None
            if tr.tag_every:
                from ..training.multitask import TaskAffinityRecorder

                recorder = TaskAffinityRecorder(tr.tag_every, tr.lr)
                fit_kw["trainer_extra"]["callbacks"] = [recorder]
            r = fit_multitask(model, ctx.tasks, bal, ctx.train, representation_mode=rep, seed=seed, **fit_kw)
            if recorder is not None and recorder.matrices:
                affinity = recorder.mean().tolist()
                # the look-ahead runs inside the timed fit: its share of the training time
                tag_share = recorder.seconds / max(r.train_seconds, 1e-9)
            metrics = evaluate_multitask(model, ctx.tasks, ctx.test)
            secs, n_params = r.train_seconds, r.trainable_params
            weights = [list(map(float, w)) for w in r.weight_history]
            metrics["final_weights"] = weights[-1] if weights else []
    if spec.name != "single_task" and tr.tag_every and recorder is not None and recorder.matrices:
        metrics["tag_time_share"] = tag_share
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "affinity": affinity if spec.name != "single_task" and tr.tag_every else None,
              "metrics": metrics, "weight_history": weights if seed == ctx.first_seed else [],
              "train_seconds": secs, "peak_memory_mb": mem.peak_mb, "trainable_params": n_params}
    return finish_run(runs_dir, task, result, write=is_main_process())


def run_multitask(cfg: MultitaskConfig, output_dir: str | Path | None = None, resume: bool = False,
                  overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json, report.md and figures."""
    from ..training.multitask import tasks_from_data

    require_listed_seeds(cfg)
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    check_logger_installed(cfg.trainer.logger)
    methods = cfg.listed_methods() or [MethodSpec(name=n) for n in ("single_task", "equal", "mgda_ub")]
    if not any(m.name == "single_task" for m in methods):
        methods.insert(0, MethodSpec(name="single_task"))
    _check_methods(methods)
    import transferkit

    transferkit.get_method("mtl_architecture", cfg.architecture.name)
    train, test = load_data(cfg.data, "multitask")
    for a in cfg.data.auxiliary:
        if a not in train.task_names:
            raise ConfigError(f"data.auxiliary: task '{a}' is not a task of the data: {train.task_names}")
    tasks = tasks_from_data(train, cfg.data.auxiliary)
    if len(tasks) < 2:  # every method would equal single_task: a report of zeros
        raise DataError(f"multitask needs at least two tasks; the data has one ({tasks[0].name}): give Y one "
                        "label column per task, [N, tasks]")
    seeds = cfg.trainer.seed_list()
    ctx = _Context(cfg, train, test, tasks, str(out), seeds[0])
    for m in methods:  # bad parameters fail before anything trains
        if m.name != "single_task":
            with method_errors(m.display):
                _balancer(m.name, m.params, tasks)
    probe = _build(ctx, tasks)
    model_params = sum(p.numel() for p in probe.parameters())
    if not any(p.requires_grad for p in probe.shared_parameters()):  # e.g. progressive: a column per task
        losses_only = [w for w in WEIGHTINGS if w != "gradnorm"]  # GradNorm reads a shared layer's gradients
        needs_shared = [m.display for m in methods if m.name != "single_task" and m.name not in losses_only]
        if needs_shared:
            raise ConfigError(f"architecture '{cfg.architecture.name}' shares no parameters between tasks, and "
                              f"method(s) {', '.join(map(repr, needs_shared))} work on the tasks' gradients on "
                              f"shared parameters; use a loss weighting ({', '.join(losses_only)}) or a sharing "
                              "architecture")
    from ..multitask._arch_base import MultiTaskModel

    if type(probe).forward_with_representation is MultiTaskModel.forward_with_representation:
        on_rep = [m.display for m in methods if AGGREGATOR_METHODS.get(m.name, ("", False))[1]]
        if on_rep:
            raise ConfigError(f"method(s) {', '.join(map(repr, on_rep))} need one representation shared by every "
                              f"task (architecture hard_sharing); architecture '{cfg.architecture.name}' has none")
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    base_key = {"data": cfg.data.model_dump(mode="json"), "backbone": cfg.backbone.model_dump(mode="json"),
                "architecture": cfg.architecture.model_dump(mode="json"), "trainer": trainer_key(cfg.trainer)}
    grid = method_seed_tasks(methods, seeds, base_key, seeds_outer=True)
    with threads(cfg.trainer, model_params):
        runs = run_grid(grid, _run_one, ctx, executor, out / "runs", resume)
    base = {r["seed"]: r["metrics"] for r in runs if r["method"] == "single_task"}
    for r in runs:  # Δm against the single-task run of the same seed
        if r["seed"] in base:
            r["metrics"]["delta_m"] = 0.0 if r["method"] == "single_task" else delta_m(r["metrics"], base[r["seed"]], tasks)
    summary = _summary(runs, tasks, cfg.trainer.rope, out / "runs")
    tag = _task_groups(runs, tasks, cfg.trainer.tag_groups) if cfg.trainer.tag_every else None
    figs = _figures(out, {r["method"]: r["weight_history"] for r in runs if r.get("weight_history")}, runs, tasks) \
        if is_main_process() else []
    if tag and is_main_process():
        figs.append(_affinity_figure(out, tag))
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "multitask",
                            extra={"total_seconds": time.perf_counter() - start, "figures": figs, "task_affinity": tag,
                                   "columns": ["task", "method", "metric", "mean", "ci95_low", "ci95_high",
                                               "gain_vs_single_task", "verdict_vs_single_task"]})
    if is_main_process():
        results["report"] = _report(out, results, tasks, figs, train, test, cfg.trainer.rope, tag)
    return results


def _summary(runs: list[dict], tasks, rope: float, runs_dir: Path) -> list[dict]:
    """Per main task: each method's metric against the single-task baseline (paired by seed),
    then Δm% (Maninis et al. 2019) against single-task, in percent."""
    rows: list[dict] = []
    for t in tasks:
        key = f"{t.name}/{t.main_metric}"
        per_task = [{**r, "metrics": {"value": r["metrics"].get(key)}} for r in runs]
        for row in summarize(per_task, metric="value", baselines=BASELINES, higher_is_better=t.higher_is_better,
                             bounded=t.main_metric == "accuracy", rope=rope if t.main_metric == "accuracy" else 0.0):
            rows.append(_rename({"task": t.name + (" (auxiliary)" if t.auxiliary else ""), "metric": t.main_metric, **row}))
    dm = [{**r, "metrics": {"value": r["metrics"].get("delta_m")}} for r in runs]
    for row in summarize(dm, metric="value", baselines=BASELINES, bounded=False, rope=1.0):
        rows.append(_rename({"task": "all main tasks", "metric": "delta_m_percent", **row}))
    for row in rows:
        rs = [r for r in runs if r["method"] == row["method"]]
        row["train_seconds"] = float(np.mean([r["train_seconds"] for r in rs]))
    return rows


def _rename(row: dict) -> dict:
    return {("mean" if k == "value_mean" else "std" if k == "value_std" else k): v for k, v in row.items()}


def _task_groups(runs: list[dict], tasks, ks: list[int]) -> dict | None:
    """TAG affinities averaged over the runs that recorded them, and the groupings chosen from
    them (Fifty et al. 2021; exact for up to 10 tasks)."""
    from ..transferability import choose_task_groups

    recorded = [r for r in runs if r.get("affinity")]
    if not recorded:
        return None
    names = [t.name for t in tasks]
    z = np.mean([np.asarray(r["affinity"]) for r in recorded], 0)
    groupings = {}
    for k in ks:
        if 1 <= k < len(names):
            groupings[str(k)] = choose_task_groups(z, k, tasks=names).to_dict()
    shares = [r["metrics"]["tag_time_share"] for r in recorded if "tag_time_share" in r["metrics"]]
    return {"tasks": names, "affinity": z.tolist(), "runs": len(recorded), "groupings": groupings,
            "time_share": float(np.mean(shares)) if shares else None}


def _affinity_figure(out: Path, tag: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = np.asarray(tag["affinity"])
    n = len(tag["tasks"])
    fig, ax = plt.subplots(figsize=(1.2 + 0.5 * n, 1.0 + 0.5 * n))
    lim = float(np.nanmax(np.abs(z))) or 1.0
    im = ax.imshow(z, cmap="RdBu", vmin=-lim, vmax=lim)
    ax.set_xticks(range(n), tag["tasks"], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), tag["tasks"], fontsize=7)
    ax.set_xlabel("task j (loss measured)")
    ax.set_ylabel("task i (step taken)")
    ax.set_title("TAG look-ahead affinity Z[i -> j]")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return save_figure(fig, out, "task_affinity.png", dpi=110)


def _report(out: Path, res: dict, tasks, figs: list[str], train, test, rope: float, tag: dict | None = None) -> str:
    """``report.md``: per-task metrics in their own units, verdicts against single-task, Δm."""
    main = [t for t in tasks if not t.auxiliary]
    lines = [
        "# transferkit multitask", "",
        f"Train: {len(train)} samples, test: {len(test)} samples; tasks: "
        + ", ".join(f"{t.name} ({t.kind}, {t.main_metric}, {'higher' if t.higher_is_better else 'lower'} is better"
                    + (", auxiliary" if t.auxiliary else "") + ")" for t in tasks) + ".", "",
        "Each row compares a method with the single-task baseline (one network per task) seed by seed, in the "
        "task's own metric and units (accuracy as a fraction, MSE in squared label units). Δm% (Maninis et al. "
        "2019) averages the relative change over the main tasks, signed so that positive is better; its "
        f"region of practical equivalence is ±1%, an accuracy's is ±{rope:g} and an MSE has none (0). "
        "Auxiliary tasks are reported but left out of Δm.", "",
        describe_rule(rope=rope, baselines=BASELINES, test_noise=False), "",
        markdown_table(res["summary"], ["task", "metric", "method", "mean", "std", "ci95_low", "ci95_high",
                                        "gain_vs_single_task", "verdict_vs_single_task", "train_seconds"]), "",
    ]
    del main
    if tag:
        lines += ["## Task affinities (TAG)", "",
                  f"Look-ahead affinities Z[i -> j] (Fifty et al., NeurIPS 2021), averaged over {tag['runs']} run(s) "
                  + (f"; recording them took {100 * tag['time_share']:.1f}% of the training time" if tag["time_share"]
                     is not None else "") + ".", ""]
        lines.append(markdown_table([{"task i \\ j": a, **{b: tag["affinity"][i][j] for j, b in enumerate(tag["tasks"])}}
                                     for i, a in enumerate(tag["tasks"])], ["task i \\ j", *tag["tasks"]]))
        lines.append("")
        for k, g in tag["groupings"].items():
            lines.append(f"- best {k} group(s): " + "; ".join("{" + ", ".join(grp) + "}" for grp in g["groups"])
                         + f" (score {g['score']:.4f}{'' if g['exact'] else ', approximate'})")
        lines.append("")
    lines += [f"![{Path(f).stem}]({f})" for f in figs]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text
