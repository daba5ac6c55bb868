"""``transferkit zeroshot``: recognise classes no training sample showed, from class embeddings.

Each method x seed runs the standard protocol of Xian et al. (TPAMI 2018) through
:func:`transferkit.zeroshot.run_zeroshot_protocol`: fit on ``train``, choose calibrated
stacking's γ on ``val`` (Chao et al. 2016), refit on ``trainval``, test ZSL on
``test_unseen`` and GZSL on ``test_seen`` + ``test_unseen``. The metrics are per-class
(class-averaged) accuracies: ``zsl``, ``u``, ``s``, their harmonic mean ``h`` (0 when either is
0), the calibrated ``u_cal``, ``s_cal``, ``h_cal`` and the area under the seen-unseen curve.
Verdicts compare each method with the input-blind ``attribute_prior`` baseline on ``h`` (or
``h_cal``) seed by seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data._kinds import load_data
from ._common import check_params, method_errors, require_listed_seeds
from ._config import MethodSpec, ZeroshotConfig
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
    prepare_output_dir,
    save_figure,
    write_results,
)
from ._summary import summarize, write_report

__all__ = ["run_zeroshot", "BASELINES"]

BASELINES = ("attribute_prior",)
_METRICS = ("zsl", "u", "s", "h", "u_cal", "s_cal", "h_cal", "ausuc")


@dataclass
class _Context:
    cfg: ZeroshotConfig
    data: Any
    out: str


def _run_one(ctx: _Context, payload: dict) -> dict:
    import transferkit

    from ..zeroshot import run_zeroshot_protocol

    spec = MethodSpec.model_validate(payload["method"])
    seed = payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    calibrate = ctx.cfg.trainer.calibrate and {"train", "val"} <= set(ctx.data.splits)
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        res = run_zeroshot_protocol(lambda: transferkit.create("zeroshot", spec.name, **spec.params), ctx.data,
                                    calibrate=calibrate, seed=seed)
    metrics = {k: float(res[k]) for k in _METRICS if res.get(k) is not None}
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "metrics": metrics, "gamma": res.get("gamma"), "curve": res.get("curve"),
              "per_class": res.get("per_class"),
              "train_seconds": time.perf_counter() - t0, "peak_memory_mb": mem.peak_mb, "trainable_params": None}
    return finish_run(runs_dir, task, result, write=is_main_process())


def _curve_figure(out: Path, runs: list[dict], seed: int) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {r["method"]: r["curve"] for r in runs if r["seed"] == seed and r.get("curve")}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(5, 4.2))
    for name, c in curves.items():
        ax.plot(c["acc_unseen"], c["acc_seen"], label=f"{name} (AUSUC {c.get('ausuc', float('nan')):.3f})")
    ax.set_xlabel("unseen-class accuracy")
    ax.set_ylabel("seen-class accuracy")
    ax.set_title("Seen-unseen trade-off of calibrated stacking")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out, "seen_unseen_curve.png", dpi=110)


def _per_class_figure(out: Path, runs: list[dict], class_names: list[str], seen: np.ndarray) -> str | None:
    """Each test class's GZSL accuracy (calibrated when γ was chosen), mean over seeds, per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "gzsl_cal" if all((r.get("per_class") or {}).get("gzsl_cal") for r in runs) else "gzsl"
    by_method: dict[str, dict[str, list[float]]] = {}
    for r in runs:
        for c, acc in ((r.get("per_class") or {}).get(key) or {}).items():
            by_method.setdefault(r["method"], {}).setdefault(c, []).append(acc)
    if not by_method:
        return None
    classes = sorted({int(c) for accs in by_method.values() for c in accs},
                     key=lambda c: (c not in set(seen.tolist()), c))
    pos = {c: i for i, c in enumerate(classes)}
    n_seen = sum(c in set(seen.tolist()) for c in classes)
    fig, ax = plt.subplots(figsize=(min(16, 3 + 0.35 * len(classes)), 4.2))
    ax.axvspan(n_seen - 0.5, len(classes) - 0.5, color="0.92", label="unseen classes")
    markers = "osD^v<>ph*"
    for k, (name, accs) in enumerate(by_method.items()):
        xs = [pos[int(c)] for c in accs]
        ax.plot(xs, [float(np.mean(a)) for a in accs.values()], markers[k % len(markers)], label=name, alpha=0.8)
    if len(classes) <= 60:
        names = [class_names[c] if c < len(class_names) else str(c) for c in classes]
        ax.set_xticks(range(len(classes)), names, rotation=90, fontsize=7)
    ax.set_xlabel("test class (seen, then unseen)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Per-class GZSL accuracy" + (" with calibrated stacking" if key == "gzsl_cal" else "")
                 + ", mean over seeds")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, out, "per_class_accuracy.png", dpi=110)


def run_zeroshot(cfg: ZeroshotConfig, output_dir: str | Path | None = None, resume: bool = False,
                 overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json, report.md and figures."""
    import transferkit

    require_listed_seeds(cfg)
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    methods = cfg.listed_methods() or [MethodSpec(name="eszsl")]
    if not any(m.name == "attribute_prior" for m in methods):
        methods.insert(0, MethodSpec(name="attribute_prior"))
    for m in methods:  # unknown names and bad parameters fail before anything runs
        with method_errors(m.display):
            check_params(transferkit.create("zeroshot", m.name, **m.params))
    data = load_data(cfg.data, "zeroshot")
    seeds = cfg.trainer.seed_list()
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    base_key = {"data": cfg.data.model_dump(mode="json"), "calibrate": cfg.trainer.calibrate}
    runs = run_grid(method_seed_tasks(methods, seeds, base_key), _run_one, _Context(cfg, data, str(out)), executor,
                    out / "runs", resume)
    metric = "h_cal" if all("h_cal" in r["metrics"] for r in runs) else "h"
    summary = summarize(runs, metric=metric, baselines=BASELINES, rope=cfg.trainer.rope)
    for row in summary:
        rs = [r for r in runs if r["method"] == row["method"]]
        for k in _METRICS:
            vals = [r["metrics"][k] for r in rs if k in r["metrics"]]
            if vals:
                row[k] = float(np.mean(vals))
    figures = []
    if is_main_process():
        figures = [f for f in (_curve_figure(out, runs, seeds[0]),
                               _per_class_figure(out, runs, list(data.class_names), np.asarray(data.seen_classes)))
                   if f]
    cols = ["method", "zsl", "u", "s", "h", "u_cal", "s_cal", "h_cal", "ausuc", f"gain_vs_{BASELINES[0]}",
            f"verdict_vs_{BASELINES[0]}"]
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "zeroshot",
                            extra={"total_seconds": time.perf_counter() - start, "figures": figures, "columns": cols,
                                   "verdict_metric": metric})
    if is_main_process():
        seen, unseen = data.seen_classes, data.unseen_classes
        intro = [f"Zero-shot `{cfg.data.kind}` ({data.name}): {len(seen)} seen and {len(unseen)} unseen classes, "
                 f"class embeddings of dimension {data.class_embeddings.shape[1]}; seeds {seeds}.",
                 "Accuracies are per-class (class-averaged) top-1 (Xian et al., TPAMI 2018): `zsl` on the unseen "
                 "test samples among unseen classes; `u`, `s` and their harmonic mean `h` in the generalised setting "
                 "(every class a candidate); `*_cal` with calibrated stacking (Chao et al., ECCV 2016), its γ chosen "
                 "on the validation split only. Verdicts use `" + metric + "` against the input-blind attribute prior "
                 "(seed-level: the test-set noise of class-averaged metrics is not modelled)."]
        results["report"] = write_report(out, "transferkit zeroshot", intro, summary, cols, figures,
                                         rope=cfg.trainer.rope, baselines=BASELINES, transductive=False,
                                         test_noise=False)
    return results
