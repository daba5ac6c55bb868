"""``transferkit cluster``: cluster an unlabelled target, helped by unlabelled auxiliary data.

Each method x seed of the ``clustering`` family (``stc``: self-taught clustering, Dai et al.,
ICML 2008; ``itcc``: co-clustering of the target alone, Dhillon et al., KDD 2003; ``kmeans``;
``spectral_cocluster``) clusters the target into as many clusters as it has classes (unless
``n_clusters`` is given) and is scored with the target's labels, used for evaluation only:
accuracy under the best cluster-to-class matching, NMI and Dai et al.'s entropy. Verdicts compare
every method with ``itcc``, the same co-clustering without the auxiliary data, seed by seed; the
matched per-sample correctness carries the target's own sampling noise into them.

``stc`` without a ``lam`` in its params picks λ per seed among ``trainer.lambdas`` by clustering
stability (:func:`~transferkit.clustering.select_lambda`, no target label). Those restarts also
give the figure of the metrics against λ (``figures/lambda_sweep.png``, the labels used only to
score each λ after the choice); ``figures/co_clusters.png`` shows the target x feature counts
reordered by the row and feature clusters of the first co-clustering run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data._kinds import load_data
from ..exceptions import ConfigError
from ._common import check_params, method_errors, require_listed_seeds
from ._config import ClusterConfig, MethodSpec
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
from ._summary import save_samples, summarize, write_report

__all__ = ["run_cluster", "BASELINES", "matched_correct"]

logger = logging.getLogger(__name__)

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
    params = {"n_clusters": len(np.unique(data.y)), **spec.params}
    params.pop("random_state", None)  # the run's seed sets it
    sweep = None
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        if spec.name == "stc" and "lam" not in spec.params:
            sweep, params["lam"] = _select(ctx, params, seed)
        est = transferkit.create("clustering", spec.name, **params, random_state=seed)
        labels = np.asarray(est.fit(data.X, aux=data.aux).labels_)
    seconds = time.perf_counter() - t0
    correct = matched_correct(data.y, labels)
    metrics = {"accuracy": float(correct.mean()), "nmi": float(cluster_nmi(data.y, labels)),
               "entropy": float(cluster_entropy(data.y, labels))}
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "metrics": metrics, "train_seconds": seconds, "peak_memory_mb": mem.peak_mb,
              "trainable_params": None, "lam": params.get("lam"), "lambda_sweep": sweep,
              "labels": labels.tolist()}
    if getattr(est, "feature_labels_", None) is not None:
        result["feature_labels"] = np.asarray(est.feature_labels_).tolist()
    if is_main_process():
        result["samples"] = save_samples(runs_dir / task.run_id, correct)
    return finish_run(runs_dir, task, result, write=is_main_process())


def _select(ctx: _Context, params: dict, seed: int) -> tuple[dict, float]:
    """λ by stability (no label); then, for the figure only, each λ's restarts scored with the
    target's labels."""
    from ..clustering import cluster_accuracy, cluster_entropy, cluster_nmi, select_lambda

    tr = ctx.cfg.trainer
    sel = select_lambda(ctx.data.X, ctx.data.aux, tr.lambdas, n_runs=tr.lambda_runs, random_state=seed, **params)
    y = ctx.data.y
    sweep = {"lambdas": list(sel.stability), "stability": list(sel.stability.values()), "chosen": sel.lam}
    for name, fn in (("accuracy", cluster_accuracy), ("nmi", cluster_nmi), ("entropy", cluster_entropy)):
        sweep[name] = [float(np.mean([fn(y, p) for p in sel.partitions[lam]])) for lam in sel.stability]
    return sweep, sel.lam


def _lambda_figure(out: Path, runs: list[dict]) -> str | None:
    """Metrics and stability against λ (mean over seeds), the chosen λ of each seed marked, and
    co-clustering of the target alone as a reference line."""
    sweeps = [r["lambda_sweep"] for r in runs if r.get("lambda_sweep")]
    if not sweeps:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lams = np.asarray(sweeps[0]["lambdas"])
    sweeps = [s for s in sweeps if s["lambdas"] == sweeps[0]["lambdas"]]
    chosen = [s["chosen"] for s in sweeps]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
    panels = (("accuracy", "matched accuracy"), ("nmi", "NMI"), ("entropy", "entropy (lower is better)"),
              ("stability", "stability (mean ARI, no labels)"))
    for ax, (key, title) in zip(axes, panels):
        vals = np.asarray([s[key] for s in sweeps])
        ax.plot(lams, vals.mean(0), "o-", color="C0", label="stc (mean over seeds)")
        if len(vals) > 1:
            ax.fill_between(lams, vals.min(0), vals.max(0), color="C0", alpha=0.15, label="min-max over seeds")
        base = [r["metrics"][key] for r in runs if r["strategy"] == "itcc" and key in r["metrics"]]
        if base:
            ax.axhline(float(np.mean(base)), color="C3", ls=":", label="itcc (target alone)")
        for lam in sorted(set(chosen)):
            ax.axvline(lam, color="k", ls="--", lw=0.8, alpha=0.3 + 0.7 * chosen.count(lam) / len(chosen))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("λ (trade-off)")
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Self-taught clustering against λ; dashed: the λ chosen by stability (darker: more seeds)",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out, "lambda_sweep.png", dpi=110)


def _structure_figure(out: Path, data: Any, run: dict, max_rows: int = 1000) -> str:
    """The target x feature matrix, rows ordered by cluster and columns by feature cluster
    (each row as its share of counts, ``p(z|x)``), with the block boundaries; beside it each row
    cluster's distribution over the feature clusters, ``q(z~|x~)``; a strip of the true classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scipy.sparse as sp

    from ..clustering._info import aggregate

    rows, cols = np.asarray(run["labels"]), np.asarray(run["feature_labels"])
    X = data.X.tocsr() if sp.issparse(data.X) else np.asarray(data.X)
    mass = np.asarray(X.sum(axis=0)).ravel()
    r_order = np.lexsort((data.y, rows))
    c_order = np.lexsort((-mass, cols))
    keep = r_order[np.linspace(0, len(r_order) - 1, min(max_rows, len(r_order))).astype(int)]
    M = X[keep][:, c_order]
    M = np.asarray(M.todense()) if sp.issparse(M) else np.asarray(M, dtype=float)
    M = M / np.maximum(M.sum(axis=1, keepdims=True), 1e-300)
    k, kf = int(rows.max()) + 1, int(cols.max()) + 1
    block = aggregate(X, rows, k, cols, kf)
    block = block / np.maximum(block.sum(axis=1, keepdims=True), 1e-300)
    fig, (ax_c, ax, ax_b) = plt.subplots(1, 3, figsize=(12, 4.6), gridspec_kw={"width_ratios": [0.25, 6, 2.5]})
    _, yi = np.unique(data.y[keep], return_inverse=True)
    ax_c.imshow(yi[:, None], aspect="auto", cmap="tab10", interpolation="nearest")
    ax_c.set_xticks([])
    ax_c.set_ylabel("target samples, ordered by cluster")
    ax_c.set_title("class", fontsize=8)
    top = np.sqrt(np.percentile(M[M > 0], 95)) if np.any(M > 0) else 1.0  # sparse rows stay visible
    ax.imshow(np.sqrt(M), aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=top)
    for b in np.flatnonzero(np.diff(rows[keep])) + 0.5:
        ax.axhline(b, color="C3", lw=1)
    for b in np.flatnonzero(np.diff(cols[c_order])) + 0.5:
        ax.axvline(b, color="C0", lw=0.4, alpha=0.6)
    ax.set_yticks([])
    ax.set_xlabel("features, ordered by feature cluster")
    ax.set_title(f"{run['method']} (seed {run['seed']}): sqrt p(z | x); {len(np.unique(rows))} row x "
                 f"{len(np.unique(cols))} feature clusters (non-empty)", fontsize=9)
    im = ax_b.imshow(block, aspect="auto", cmap="viridis", interpolation="nearest")
    ax_b.set_xlabel("feature cluster")
    ax_b.set_ylabel("row cluster")
    ax_b.set_yticks(range(k))
    ax_b.set_title("q(z~ | x~)", fontsize=9)
    fig.colorbar(im, ax=ax_b, fraction=0.08)
    fig.tight_layout()
    return save_figure(fig, out, "co_clusters.png", dpi=110)


def run_cluster(cfg: ClusterConfig, output_dir: str | Path | None = None, resume: bool = False,
                overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json and report.md."""
    import transferkit

    require_listed_seeds(cfg)
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    methods = cfg.listed_methods() or [MethodSpec(name=n) for n in ("stc", "kmeans", "spectral_cocluster")]
    if not any(m.name == "itcc" for m in methods):
        methods.insert(0, MethodSpec(name="itcc"))
    feature_clusters = {}  # n_feature_clusters of the co-clusterings, checked against the data below
    for m in methods:  # unknown names and bad parameters fail before anything runs
        with method_errors(m.display):
            estimator = transferkit.create("clustering", m.name, **m.params)
            check_params(estimator)
        if hasattr(estimator, "n_feature_clusters"):
            feature_clusters[m.display] = estimator.n_feature_clusters
    data = load_data(cfg.data, "cluster")
    k = len(np.unique(data.y))
    if k > data.X.shape[0]:
        raise ConfigError(f"the target has {data.X.shape[0]} samples, fewer than its {k} classes")
    d = data.X.shape[1]
    too_many = [(n, kf) for n, kf in feature_clusters.items() if kf > d]
    if too_many:  # found by the fit only, after other runs; itcc (always added) needs listing to change it
        raise ConfigError(
            f"the data has {d} features, fewer than the feature clusters of "
            + ", ".join(f"'{n}' (n_feature_clusters={kf})" for n, kf in too_many)
            + f"; list each with fewer, e.g. \"methods=[{{name: itcc, params: {{n_feature_clusters: {d}}}}}, "
            f"{{name: stc, params: {{n_feature_clusters: {d}}}}}]\"")
    seeds = cfg.trainer.seed_list()
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    base_key = {"data": cfg.data.model_dump(mode="json"), "lambdas": cfg.trainer.lambdas,
                "lambda_runs": cfg.trainer.lambda_runs}
    runs = run_grid(method_seed_tasks(methods, seeds, base_key), _run_one, _Context(cfg, data, str(out)), executor,
                    out / "runs", resume)
    summary = summarize(runs, metric="accuracy", baselines=BASELINES, rope=cfg.trainer.rope, runs_dir=out / "runs")
    for row in summary:
        for key in ("nmi", "entropy"):
            row[key] = float(np.mean([r["metrics"][key] for r in runs if r["method"] == row["method"]]))
    cols = ["method", "accuracy_mean", "ci95_low", "ci95_high", "nmi", "entropy", "gain_vs_itcc", "verdict_vs_itcc"]
    figures: list[str] = []
    chosen = [f"{r['method']} seed {r['seed']}: λ = {r['lam']:g}" for r in runs if r.get("lambda_sweep")]
    if is_main_process():
        fig = _lambda_figure(out, runs)
        figures = [fig] if fig else []
        structured = [r for r in runs if r.get("feature_labels") is not None]
        first = next((r for r in structured if r["strategy"] == "stc"), structured[0] if structured else None)
        if first is not None:
            figures.append(_structure_figure(out, data, first))
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "cluster",
                            extra={"total_seconds": time.perf_counter() - start, "columns": cols,
                                   "figures": figures})
    if is_main_process():
        intro = [f"Clustering `{cfg.data.kind}` ({data.name}): {data.X.shape[0]} target samples into {k} clusters, "
                 f"{data.aux.shape[0]} auxiliary samples, {data.X.shape[1]} features; seeds {seeds}.",
                 "Accuracy under the best cluster-to-class matching, NMI and the entropy of Dai et al. (lower is "
                 "better); the target's labels are used for evaluation only. `itcc` clusters the target alone: "
                 "a positive verdict means the auxiliary data helped."]
        extra = []
        if chosen:
            extra = [f"λ chosen without target labels (clustering stability over {cfg.trainer.lambda_runs} restarts "
                     f"among {', '.join(f'{v:g}' for v in cfg.trainer.lambdas)}): " + "; ".join(chosen) + ".", ""]
        results["report"] = write_report(out, "transferkit cluster", intro, summary, cols, figures,
                                         rope=cfg.trainer.rope, baselines=BASELINES, extra=extra)
    return results
