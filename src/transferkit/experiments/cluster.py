"""``transferkit cluster``: cluster an unlabelled target, helped by unlabelled auxiliary data.

Each method x seed of the ``clustering`` family (``stc``: self-taught clustering, Dai et al.,
ICML 2008; ``itcc``: co-clustering of the target alone, Dhillon et al., KDD 2003; ``kmeans``;
``spectral_cocluster``) clusters the target into as many clusters as it has classes (unless
``n_clusters`` is given) and is scored with the target's labels, used for evaluation only:
accuracy under the best cluster-to-class matching, NMI and Dai et al.'s entropy. Verdicts compare
every method with ``itcc``, the same co-clustering without the auxiliary data, seed by seed; the
matched per-sample correctness carries the target's own sampling noise into them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data._kinds import load_data
from ..exceptions import ConfigError
from ._config import ClusterConfig, MethodSpec
from ._executor import (
    PeakMemory,
    RunTask,
    finish_run,
    make_executor,
    method_seed_tasks,
    run_grid,
)
from ._results import check_output_dir, is_main_process, prepare_output_dir, write_results
from ._summary import save_samples, summarize, write_report

__all__ = ["run_cluster", "BASELINES", "matched_correct"]

BASELINES = ("itcc",)


def matched_correct(y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1/0 per sample under the best one-to-one cluster-to-class matching (Hungarian); its mean
    is the clustering accuracy."""
    from scipy.optimize import linear_sum_assignment

    classes, yi = np.unique(y, return_inverse=True)
    clusters, ci = np.unique(labels, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), np.int64)
    np.add.at(table, (ci, yi), 1)
    rows, cols = linear_sum_assignment(-table)
    mapping = np.full(len(clusters), -1)
    mapping[rows] = cols
    return (mapping[ci] == yi).astype(np.float32)


@dataclass
class _Context:
    cfg: ClusterConfig
    data: Any
    out: str


def _run_one(ctx: _Context, payload: dict) -> dict:
    import transferkit

    from ..clustering import cluster_entropy, cluster_nmi

    spec = MethodSpec.model_validate(payload["method"])
    seed = payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    data = ctx.data
    params = {"n_clusters": len(np.unique(data.y)), **spec.params, "random_state": seed}
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        labels = np.asarray(transferkit.create("clustering", spec.name, **params).fit(data.X, aux=data.aux).labels_)
    correct = matched_correct(data.y, labels)
    metrics = {"accuracy": float(correct.mean()), "nmi": float(cluster_nmi(data.y, labels)),
               "entropy": float(cluster_entropy(data.y, labels))}
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "metrics": metrics, "train_seconds": time.perf_counter() - t0, "peak_memory_mb": mem.peak_mb,
              "trainable_params": None}
    if is_main_process():
        result["samples"] = save_samples(runs_dir / task.run_id, correct)
    return finish_run(runs_dir, task, result, write=is_main_process())


def run_cluster(cfg: ClusterConfig, output_dir: str | Path | None = None, resume: bool = False,
                overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json and report.md."""
    import transferkit

    if cfg.trainer.seeds == "auto":
        raise ConfigError("trainer.seeds: auto is not available for cluster yet; list the seeds")
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    methods = cfg.listed_methods() or [MethodSpec(name=n) for n in ("stc", "kmeans", "spectral_cocluster")]
    if not any(m.name == "itcc" for m in methods):
        methods.insert(0, MethodSpec(name="itcc"))
    for m in methods:  # unknown names and bad parameters fail before anything runs
        transferkit.create("clustering", m.name, **m.params)
    data = load_data(cfg.data, "cluster")
    k = len(np.unique(data.y))
    if k > data.X.shape[0]:
        raise ConfigError(f"the target has {data.X.shape[0]} samples, fewer than its {k} classes")
    seeds = cfg.trainer.seed_list()
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    base_key = {"data": cfg.data.model_dump(mode="json")}
    runs = run_grid(method_seed_tasks(methods, seeds, base_key), _run_one, _Context(cfg, data, str(out)), executor,
                    out / "runs", resume)
    summary = summarize(runs, metric="accuracy", baselines=BASELINES, rope=cfg.trainer.rope, runs_dir=out / "runs")
    for row in summary:
        for key in ("nmi", "entropy"):
            row[key] = float(np.mean([r["metrics"][key] for r in runs if r["method"] == row["method"]]))
    cols = ["method", "accuracy_mean", "ci95_low", "ci95_high", "nmi", "entropy", "gain_vs_itcc", "verdict_vs_itcc"]
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "cluster",
                            extra={"total_seconds": time.perf_counter() - start, "columns": cols})
    if is_main_process():
        intro = [f"Clustering `{cfg.data.kind}` ({data.name}): {data.X.shape[0]} target samples into {k} clusters, "
                 f"{data.aux.shape[0]} auxiliary samples, {data.X.shape[1]} features; seeds {seeds}.",
                 "Accuracy under the best cluster-to-class matching, NMI and the entropy of Dai et al. (lower is "
                 "better); the target's labels are used for evaluation only. `itcc` clusters the target alone: "
                 "a positive verdict means the auxiliary data helped."]
        results["report"] = write_report(out, "transferkit cluster", intro, summary, cols, [],
                                         rope=cfg.trainer.rope, baselines=BASELINES)
    return results
