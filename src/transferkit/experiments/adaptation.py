"""``transferkit adapt``: unsupervised domain adaptation — labelled source, unlabelled target.

Every method x seed of the config runs as one idempotent run of the shared grid executor,
trained on the source minus a held-out source split and on the unlabelled target; target
labels are used for evaluation only. Each run records the target accuracy, the proxy
A-distance of the features before and after training, the domain classifier's accuracy and
the label-free model-selection scores (IWCV and DEV on the *held-out* source split, as they
are defined). Verdicts compare every method with ``source_only`` seed by seed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data._base import Domain, TransferData
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError
from ._common import (
    build_backbone,
    check_logger_installed,
    make_logger,
    method_errors,
    require_listed_seeds,
    threads,
    trainer_key,
)
from ._config import AdaptConfig, MethodSpec
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
from ._shallow import (
    base_name,
    fit_shallow,
    is_shallow_baseline,
    needs_target_labels,
    shallow_baseline_names,
    shallow_family,
    weights_figure,
)
from ._shallow import validate as validate_shallow
from ._summary import save_samples, summarize, write_report

__all__ = ["run_adapt", "BASELINES", "split_source"]

log = logging.getLogger("transferkit")
BASELINES = ("source_only",)
_EXTRA_METRICS = ("source_accuracy", "a_distance_before", "a_distance_after", "domain_accuracy")


def _pairs(methods: list[MethodSpec]):
    """Which baseline each method is judged against: deep methods against the deep
    ``source_only``, a shallow method against its own base learner on the source."""
    shallow = {m.display: f"source_only:{base_name(m.params, m.name)}" for m in methods if shallow_family(m.name)}

    def pairs(method: str) -> list[str]:
        return [shallow[method]] if method in shallow else list(BASELINES)

    return pairs


def split_source(source: Domain, fraction: float, seed: int) -> tuple[Domain, Domain]:
    """Stratified ``(train, held-out)`` split of the labelled source."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(source.y):
        idx = np.flatnonzero(source.y == c)
        k = int(round(len(idx) * fraction))
        if len(idx) > 1:
            held.append(rng.choice(idx, min(max(k, 1), len(idx) - 1), replace=False))
    held_idx = np.sort(np.concatenate(held)) if held else np.array([], int)
    if len(held_idx) == 0:
        raise DataError(f"source '{source.name}' is too small to hold out data.source_val_fraction={fraction}")
    train_idx = np.setdiff1d(np.arange(len(source)), held_idx)
    return source.subset(train_idx, source.name), source.subset(held_idx, source.name + "_val")


def _features(model, d: Domain, bs: int = 512):
    import torch

    X = torch.from_numpy(np.ascontiguousarray(d.X, dtype=np.float32))
    model.eval()
    with torch.no_grad():
        dev = next(model.parameters()).device
        f = torch.cat([model.features(X[i : i + bs].to(dev)) for i in range(0, len(X), bs)])
        p = model.head(f).softmax(1)
    model.train()
    return f.cpu().numpy(), p.cpu().numpy()


def _pca_figure(path: Path, before: tuple, after: tuple, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, (fs, ft), label in zip(axes, (before, after), ("before adaptation", "after adaptation")):
        z = PCA(2, random_state=0).fit_transform(np.concatenate([fs, ft]))
        ax.scatter(*z[: len(fs)].T, s=4, alpha=0.5, label="source")
        ax.scatter(*z[len(fs):].T, s=4, alpha=0.5, label="target")
        ax.set_title(label)
        ax.legend(markerscale=3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass
class _Context:
    cfg: AdaptConfig
    source: Domain
    source_val: Domain
    target: Domain
    test: Domain
    num_classes: int
    out: str
    first_seed: int


def _run_one(ctx: _Context, payload: dict) -> dict:
    import torch

    from .._registry import create
    from ..adaptation import build_method, proxy_a_distance
    from ..training.adaptation import AdaptOptimConfig, fit_adaptation

    cfg, tr = ctx.cfg, ctx.cfg.trainer
    spec = MethodSpec.model_validate(payload["method"])
    seed = payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    run_dir = runs_dir / task.run_id
    if is_shallow_baseline(spec.name) or shallow_family(spec.name):
        return _run_shallow(ctx, spec, seed, task, runs_dir)
    torch.manual_seed(seed)
    model = build_backbone(cfg.backbone, ctx.source.input_shape, ctx.num_classes)
    fs0, _ = _features(model, ctx.source_val)
    ft0, _ = _features(model, ctx.test)
    method = build_method(spec.name, model.feature_dim, ctx.num_classes, **spec.params)
    optim = AdaptOptimConfig(name=tr.optimizer, lr=tr.lr, momentum=tr.momentum, weight_decay=tr.weight_decay,
                             discriminator_lr_mult=tr.discriminator_lr_mult, anneal=tr.anneal, grl_gamma=tr.grl_gamma)
    trainer_kwargs = {"accelerator": tr.accelerator, "devices": tr.devices, "strategy": tr.strategy,
                      "precision": tr.precision, "logger": make_logger(tr.logger, run_dir)}
    with PeakMemory() as mem:
        res = fit_adaptation(model, method, ctx.source, ctx.target, target_eval=ctx.test, source_eval=ctx.source_val,
                             epochs=tr.max_epochs, batch_size=tr.batch_size, steps_per_epoch=tr.steps_per_epoch,
                             optim=optim, seed=seed, trainer_kwargs=trainer_kwargs)
    fs, ps = _features(model, ctx.source_val)
    ft, pt = _features(model, ctx.test)
    correct = (pt.argmax(1) == np.asarray(ctx.test.y)).astype(np.float32)
    metrics: dict[str, Any] = {
        "target_accuracy": float(correct.mean()),
        "source_accuracy": float((ps.argmax(1) == np.asarray(ctx.source_val.y)).mean()),
        "a_distance_before": proxy_a_distance(fs0, ft0, seed=seed),
        "a_distance_after": proxy_a_distance(fs, ft, seed=seed),
        "domain_accuracy": res.history[-1].get("domain_acc") if res.history else None,
    }
    for sname in cfg.scorers:  # label-free scores; source terms on the held-out source split
        metrics[f"score_{sname}"] = create("scorer", sname)(
            probs_t=pt, features_s=fs, probs_s=ps, y_s=ctx.source_val.y, features_t=ft)
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "metrics": metrics, "history": res.history, "train_seconds": res.train_seconds,
              "peak_memory_mb": mem.peak_mb, "trainable_params": res.trainable_params}
    if is_main_process():
        result["samples"] = save_samples(run_dir, correct)
        if seed == ctx.first_seed:
            _pca_figure(Path(ctx.out) / "figures" / f"pca_{spec.display}.png", (fs0, ft0), (fs, ft),
                        f"{spec.display}: source vs target features (PCA)")
    return finish_run(runs_dir, task, result, write=is_main_process())


def _run_shallow(ctx: _Context, spec: MethodSpec, seed: int, task: RunTask, runs_dir: Path) -> dict:
    """A scikit-learn method (KMM, KLIEP, CORAL, SA, TCA, ...) or its base learner on the source."""
    import time as _time

    run_dir = runs_dir / task.run_id
    t0 = _time.perf_counter()
    with PeakMemory() as mem:
        correct, extra = fit_shallow(spec.name, spec.params, seed, ctx.source.X, ctx.source.y, ctx.target.X, None,
                                     ctx.test.X, ctx.test.y, run_dir if is_main_process() else None)
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "metrics": {"target_accuracy": float(correct.mean()), **{k: v for k, v in extra.items() if k != "weights"}},
              "train_seconds": _time.perf_counter() - t0, "peak_memory_mb": mem.peak_mb, "trainable_params": None}
    if is_main_process():
        result["samples"] = save_samples(run_dir, correct)
        if extra.get("weights") and seed == ctx.first_seed:
            weights_figure(Path(ctx.out) / "figures" / f"weights_{spec.display}.png", ctx.source.X, ctx.target.X,
                           np.load(run_dir / extra["weights"]), f"{spec.display}: source instance weights "
                           f"(effective sample size {extra['effective_sample_size']:.0f} of {extra['source_samples']})")
    return finish_run(runs_dir, task, result, write=is_main_process())


def run_adapt(cfg: AdaptConfig, output_dir: str | Path | None = None, resume: bool = False,
              overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json, report.md and figures."""
    import transferkit

    require_listed_seeds(cfg)
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    check_logger_installed(cfg.trainer.logger)
    methods = cfg.listed_methods() or [MethodSpec(name="source_only"), MethodSpec(name="dann")]
    deep = [m for m in methods if not shallow_family(m.name)]
    if deep and not any(m.name == "source_only" for m in methods):
        methods.insert(0, MethodSpec(name="source_only"))
    for m in methods:  # unknown names and bad parameters fail before any training
        with method_errors(m.display):
            if shallow_family(m.name):
                validate_shallow(m.name, m.params)
            else:
                transferkit.get_method("adaptation", m.name)
    supervised = [m.name for m in methods if needs_target_labels(m.name)]
    if supervised:
        raise ConfigError(f"method(s) {', '.join(map(repr, supervised))} need labelled target samples, and "
                          "adapt's target is unlabelled; run them with 'transferkit compare' (a few labelled "
                          "target samples per class)")
    methods += [MethodSpec(name=b) for b in shallow_baseline_names(methods, with_target=False)]
    for s in cfg.scorers:
        transferkit.get_method("scorer", s)
    data: TransferData = load_data(cfg.data, "adapt")
    if data.source is None:
        raise DataError("adapt needs a labelled source domain")
    source, source_val = split_source(data.source, cfg.data.source_val_fraction, cfg.data.seed)
    num_classes = data.source_num_classes
    model_params = 0
    if deep:
        from ..adaptation import build_method

        probe = build_backbone(cfg.backbone, source.input_shape, num_classes)
        for m in methods:  # bad parameters fail before any training
            if m in deep:
                with method_errors(m.display):
                    build_method(m.name, probe.feature_dim, num_classes, **m.params)
        model_params = sum(p.numel() for p in probe.parameters())
    seeds = cfg.trainer.seed_list()
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    base_key = {"data": cfg.data.model_dump(mode="json"), "backbone": cfg.backbone.model_dump(mode="json"),
                "trainer": trainer_key(cfg.trainer), "scorers": list(cfg.scorers)}
    ctx = _Context(cfg, source, source_val, data.target, data.target_test, num_classes, str(out), seeds[0])
    with threads(cfg.trainer, model_params):
        runs = run_grid(method_seed_tasks(methods, seeds, base_key), _run_one, ctx, executor, out / "runs", resume)
    ran = {m.name for m in methods}  # only the baselines that ran: no deep source_only without deep methods
    baselines = [b for b in (*BASELINES, *shallow_baseline_names(methods, with_target=False)) if b in ran]
    summary = summarize(runs, metric="target_accuracy", baselines=baselines, rope=cfg.trainer.rope,
                        runs_dir=out / "runs", pairs=_pairs(methods))
    for row in summary:  # the other metrics' means, for the table
        rs = [r for r in runs if r["method"] == row["method"]]
        for k in (*_EXTRA_METRICS, "effective_sample_size", *(f"score_{s}" for s in cfg.scorers)):
            vals = [r["metrics"].get(k) for r in rs if r["metrics"].get(k) is not None]
            if vals:
                row[k] = float(np.mean(vals))
    figures = []
    if is_main_process():
        figures = sorted(str(p.relative_to(out)) for pat in ("pca_*.png", "weights_*.png")
                         for p in (out / "figures").glob(pat))
        curves = {r["method"]: [h.get("target_acc", np.nan) for h in r.get("history", [])]
                  for r in runs if r["seed"] == seeds[0]}
        if any(curves.values()):
            figures.append(_curve_figure(out, curves))
    results = write_results(out, cfg.model_dump(mode="json"), runs, summary, "adapt",
                            extra={"total_seconds": time.perf_counter() - start, "figures": figures,
                                   "transductive": data.transductive,
                                   "columns": ["method", "target_accuracy_mean", "ci95_low", "ci95_high", "vs",
                                               "gain", "verdict", "effective_sample_size"]})
    if is_main_process():
        held = "for the IWCV/DEV scores" if deep else "by data.source_val_fraction; no method here uses them"
        intro = [f"Domain adaptation `{cfg.data.kind}`: {data.source.name} → {data.target.name}; "
                 + (f"backbone `{cfg.backbone.name}`; " if deep else "") + f"seeds {seeds}.",
                 f"{len(source)} labelled source samples for training ({len(source_val)} held out {held}), "
                 f"{len(data.target)} unlabelled target samples, {len(data.target_test)} "
                 "target test samples; target labels used for evaluation only."]
        cols = ["method", "target_accuracy_mean", "ci95_low", "ci95_high", "vs", "gain", "verdict", *_EXTRA_METRICS,
                "effective_sample_size", *(f"score_{s}" for s in cfg.scorers)]
        results["report"] = write_report(out, "transferkit adapt", intro, summary, cols, figures,
                                         rope=cfg.trainer.rope, baselines=baselines, transductive=data.transductive)
    return results


def _curve_figure(out: Path, curves: dict[str, list[float]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("target accuracy")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, out, "target_accuracy.png", dpi=100)
