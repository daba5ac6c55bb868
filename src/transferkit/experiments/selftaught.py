"""``transferkit selftaught``: learn a representation on unlabelled source images, use it for a
labelled target with few labels per class, and say whether it beat raw pixels, PCA and scratch.

Methods (one run per method x seed; each run learns its representation once and then serves every
``labels_per_class`` budget on the same few-shot draw as every other method of that seed):

* ``sparse_coding``: Raina, Battle, Lee, Packer & Ng, ICML 2007 (:class:`~transferkit.selftaught.
  SelfTaughtFeatures`: a dictionary learnt on source patches, pooled codes of the target images),
  then the fixed classifier (``classifier``: standardisation + logistic regression);
* ``autoencoder`` and ``simclr``: the config's backbone pretrained on random source patches of the
  target's image size (``pretrain``) with a reconstruction or a contrastive objective, on Lightning,
  then fine-tuned end to end on the few target labels with a ``finetune`` strategy (``full`` by
  default; a method's ``params.finetune`` overrides it);
* baselines: ``raw`` (pixels into the same classifier), ``pca`` (PCA fitted on source patches of the
  target's size, same classifier) and ``scratch`` (the same backbone trained on the target alone,
  with the same trainer settings; added whenever a deep method is listed).

Verdicts compare every method with each baseline seed by seed, with the per-test-sample correctness.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._registry import create
from ..data._base import Domain, few_shot_indices
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError, suggest
from ._common import (
    build_backbone,
    check_logger_installed,
    make_logger,
    require_listed_seeds,
    threads,
    trainer_key,
)
from ._config import MethodSpec, SelftaughtConfig
from ._executor import PeakMemory, RunTask, finish_run, make_executor, method_seed_tasks, run_grid
from ._results import (
    check_output_dir,
    is_main_process,
    markdown_table,
    prepare_output_dir,
    save_figure,
    write_results,
)
from ._summary import save_samples, summarize, write_report

__all__ = ["run_selftaught", "BASELINES", "METHODS", "first_layer_filters"]

log = logging.getLogger("transferkit")

#: the baselines of the self-taught setting, in the order verdicts use them
BASELINES = ("raw", "pca", "scratch")
FEATURE_METHODS = ("raw", "pca", "sparse_coding")
DEEP_METHODS = ("autoencoder", "simclr")
METHODS = (*FEATURE_METHODS, *DEEP_METHODS, "scratch")
#: PCA baseline: components kept and source patches it is fitted on
PCA_DEFAULTS = {"n_components": 64, "n_patches": 20000}
#: ``pretrain.normalize``: the variance offset of the per-image contrast normalisation ([0, 1] pixels)
NORM_EPS = 0.01


# ------------------------------------------------------------------------- methods


def _split_params(spec: MethodSpec, cfg: SelftaughtConfig) -> tuple[dict[str, Any], MethodSpec]:
    """A method's own parameters, and the fine-tuning strategy it uses (``params.finetune`` or the
    config's ``finetune``)."""
    params = dict(spec.params)
    ft = params.pop("finetune", None)
    if ft is None:
        return params, cfg.finetune
    try:
        return params, MethodSpec.model_validate({"name": ft} if isinstance(ft, str) else ft)
    except Exception as err:
        raise ConfigError(f"method '{spec.display}': params.finetune must be a strategy name or "
                          f"{{name, params}}, got {ft!r} ({err})") from None


def _objective(name: str, params: dict[str, Any], backbone: Any, input_shape: tuple[int, ...]) -> Any:
    from ..selftaught import ContrastiveObjective, ImageAugment, ReconstructionObjective

    params = dict(params)
    try:
        if name == "simclr":
            augment = params.pop("augment", None)
            return ContrastiveObjective(backbone, augment=ImageAugment(**augment) if augment else None, **params)
        return ReconstructionObjective(backbone, input_shape, **params)
    except TypeError as err:
        raise ConfigError(f"method '{name}': {err}") from None


def _check_methods(methods: list[MethodSpec], cfg: SelftaughtConfig, data: Any) -> None:
    """Unknown names and bad parameters fail before anything trains."""
    from ..selftaught import SelfTaughtFeatures

    h, w = data.image_shape
    for m in methods:
        if m.name not in METHODS:
            raise ConfigError(f"unknown selftaught method '{m.name}'.{suggest(m.name, METHODS)} "
                              f"Methods: {', '.join(METHODS)}.")
        params, ft = _split_params(m, cfg)
        if "finetune" in m.params and m.name not in DEEP_METHODS:
            raise ConfigError(f"method '{m.display}': params.finetune applies only to {', '.join(DEEP_METHODS)}")
        if m.name in ("raw", "scratch") and params:
            raise ConfigError(f"method '{m.display}' takes no params, got {sorted(params)}")
        if m.name == "pca":
            unknown = sorted(set(params) - set(PCA_DEFAULTS))
            if unknown:
                raise ConfigError(f"method '{m.display}': unknown params {unknown}; pca reads {sorted(PCA_DEFAULTS)}")
            kw = {**PCA_DEFAULTS, **params}
            if not 1 <= int(kw["n_components"]) <= min(int(kw["n_patches"]), h * w):
                raise ConfigError(f"method '{m.display}': n_components must be in [1, min(n_patches, {h * w})], "
                                  f"got {kw['n_components']}")
        if m.name == "sparse_coding":
            try:
                sc = SelfTaughtFeatures(**{**params, "random_state": 0})
            except TypeError as err:
                raise ConfigError(f"method '{m.display}': {err}") from None
            sc._check()
            ph, pw = sc.patch_size
            if ph > h or pw > w:
                raise ConfigError(f"method '{m.display}': patch_size {tuple(sc.patch_size)} exceeds the target's "
                                  f"{h}x{w} images")
            rows, cols = (h - ph) // int(sc.stride) + 1, (w - pw) // int(sc.stride) + 1
            if rows < sc.pool_grid[0] or cols < sc.pool_grid[1]:  # found only after raw and pca had run
                raise ConfigError(f"method '{m.display}': patch_size {tuple(sc.patch_size)} with stride {sc.stride} "
                                  f"gives a {rows}x{cols} grid of patches on the target's {h}x{w} images, smaller "
                                  f"than pool_grid {tuple(sc.pool_grid)}; use a smaller patch_size or pool_grid")
        if m.name in DEEP_METHODS:
            _objective(m.name, params, build_backbone(cfg.backbone, data.target.input_shape, pretrained=False),
                       data.target.input_shape)
            create("finetune", ft.name, **ft.params)


def _grey(X: np.ndarray) -> np.ndarray:
    """``[N, C, H, W]`` images -> ``[N, H, W]`` grey (the source images are grey)."""
    return np.asarray(X, np.float64).mean(axis=1)


def first_layer_filters(model: Any, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """The first layer's filters as ``[n, h, w]`` images (averaged over input channels): a
    convolution's kernels, or a linear layer's weight rows reshaped to the input images."""
    from torch import nn

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.weight.detach().cpu().numpy().mean(axis=1)
        if isinstance(m, nn.Linear):
            if m.in_features != int(np.prod(input_shape)) or len(input_shape) != 3:
                return None
            return m.weight.detach().cpu().numpy().reshape(-1, *input_shape).mean(axis=1)
    return None


def _features(name: str, params: dict[str, Any], data: Any, seed: int):
    """``(transform, filters, seconds)`` of a fixed-feature method fitted on the source."""
    from sklearn.decomposition import PCA

    from ..selftaught import SelfTaughtFeatures, sample_patches

    h, w = data.image_shape
    t0 = time.perf_counter()
    if name == "raw":
        return (lambda X: np.asarray(X, np.float64).reshape(len(X), -1)), None, 0.0
    if name == "pca":
        kw = {**PCA_DEFAULTS, **params}
        pca = PCA(int(kw["n_components"]), random_state=seed).fit(
            sample_patches(data.source, (h, w), int(kw["n_patches"]), random_state=seed))
        return (lambda X: pca.transform(_grey(X).reshape(len(X), -1))), pca.components_.reshape(-1, h, w), \
            time.perf_counter() - t0
    sc = SelfTaughtFeatures(**{**params, "random_state": seed}).fit(data.source)
    ph, pw = (int(a) for a in sc.patch_size)
    return (lambda X: sc.transform(_grey(X))), sc.dictionary_.reshape(-1, ph, pw), time.perf_counter() - t0


def _pretrain_backbone(cfg: SelftaughtConfig, data: Any, name: str, params: dict[str, Any], seed: int):
    """The config's backbone pretrained on random source patches with ``name``'s objective, on a
    Lightning Trainer; returns ``(backbone, last loss, seconds)``."""
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from ..selftaught import PretrainModule, sample_patches
    from ..selftaught._patches import normalize_patches
    from ..training import quiet_lightning

    p, t = cfg.pretrain, cfg.trainer
    c, (h, w) = data.target.X.shape[1], data.image_shape
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    backbone = build_backbone(cfg.backbone, data.target.input_shape, pretrained=False)
    objective = _objective(name, params, backbone, data.target.input_shape)
    P = sample_patches(data.source, (h, w), p.n_patches, random_state=seed)
    if p.normalize:
        P = normalize_patches(P, NORM_EPS)
    x = torch.tensor(P, dtype=torch.float32).view(-1, 1, h, w).expand(-1, c, h, w).contiguous()
    loader = DataLoader(TensorDataset(x), batch_size=min(p.batch_size, len(x)), shuffle=True,
                        drop_last=len(x) > p.batch_size, generator=torch.Generator().manual_seed(seed))
    with quiet_lightning():
        L.seed_everything(seed, workers=True, verbose=False)
        trainer = L.Trainer(max_epochs=p.epochs, accelerator=t.accelerator, devices=t.devices, strategy=t.strategy,
                            precision=t.precision, deterministic=t.deterministic, logger=False,
                            enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False)
        trainer.fit(PretrainModule(objective, lr=p.lr, weight_decay=p.weight_decay), loader)
    loss = trainer.callback_metrics.get("pretrain_loss")
    return objective.backbone.cpu(), (None if loss is None else float(loss)), time.perf_counter() - t0


def _normalized(data: Any) -> Any:
    """The target images contrast-normalised one by one, as the networks' source patches are."""
    from dataclasses import replace

    from ..selftaught._patches import normalize_patches

    def norm(d: Domain) -> Domain:
        X = np.asarray(d.X)
        Z = normalize_patches(X.reshape(len(X), -1).astype(np.float64), NORM_EPS).astype(np.float32)
        return Domain(Z.reshape(X.shape), d.y, d.name, d.num_classes, d.class_names)

    return replace(data, target=norm(data.target), target_test=norm(data.target_test))


def _draw(cfg: SelftaughtConfig, data: Any, n: int, seed: int) -> tuple[Domain, Domain | None]:
    """The few-shot target split of one budget and seed (the same for every method)."""
    train_idx = few_shot_indices(data.target.y, n, seed)
    train = data.target.subset(train_idx, "target_train")
    v = cfg.data.val_per_class
    if v is None:
        return train, None
    return train, data.target.subset(few_shot_indices(data.target.y, v, seed + 7919, exclude=train_idx), "target_val")


# ----------------------------------------------------------------------------- runs


@dataclass
class _Context:
    cfg: SelftaughtConfig
    data: Any
    out: str


def _run_features(ctx: _Context, name: str, params: dict[str, Any], seed: int) -> tuple[list[dict], Any, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cfg, data = ctx.cfg, ctx.data
    transform, filters, seconds = _features(name, params, data, seed)
    F_test = transform(data.target_test.X)
    budgets = []
    for n in cfg.data.labels_per_class:
        train, _ = _draw(cfg, data, n, seed)
        t0 = time.perf_counter()
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=cfg.classifier.C, max_iter=cfg.classifier.max_iter))
        clf.fit(transform(train.X), train.y)
        correct = (clf.predict(F_test) == np.asarray(data.target_test.y)).astype(np.float32)
        budgets.append({"labels_per_class": n, "correct": correct, "train_seconds": time.perf_counter() - t0,
                        "epochs": 0, "trainable_params": None, "val_accuracy": None})
    return budgets, filters, seconds


def _run_network(ctx: _Context, name: str, params: dict[str, Any], ft: MethodSpec, seed: int,
                 run_dir: Path) -> tuple[list[dict], Any, float, float | None]:
    import torch

    from ..training import OptimConfig, fit_finetune
    from .compare import _correct, _trainer_config

    cfg, data = ctx.cfg, ctx.data
    if cfg.pretrain.normalize:
        data = _normalized(data)
    loss = None
    if name in DEEP_METHODS:
        backbone, loss, seconds = _pretrain_backbone(cfg, data, name, params, seed)
        filters = first_layer_filters(backbone, data.target.input_shape)
    else:
        torch.manual_seed(seed)
        backbone, filters, seconds = build_backbone(cfg.backbone, data.target.input_shape, pretrained=False), None, 0.0
    budgets = []
    for n in cfg.data.labels_per_class:
        train, val = _draw(cfg, data, n, seed)
        torch.manual_seed(seed)
        strategy = create("finetune", "scratch") if name == "scratch" else create("finetune", ft.name, **ft.params)
        model = strategy.prepare(copy.deepcopy(backbone), data.num_classes)
        fit = fit_finetune(
            model, strategy, train, val, _trainer_config(cfg, logger=make_logger(cfg.trainer.logger, run_dir / f"n{n}")),
            OptimConfig(name=cfg.trainer.optimizer, lr=cfg.trainer.lr, weight_decay=cfg.trainer.weight_decay,
                        momentum=cfg.trainer.momentum),
            seed=seed,
        )
        budgets.append({"labels_per_class": n, "correct": _correct(fit.model, data.target_test),
                        "train_seconds": fit.train_seconds, "epochs": fit.epochs,
                        "trainable_params": fit.trainable_params, "val_accuracy": fit.best_val_acc})
    return budgets, filters, seconds, loss


def _run_one(ctx: _Context, payload: dict) -> dict:
    """One method and seed: learn the representation once, then every label budget."""
    spec = MethodSpec.model_validate(payload["method"])
    seed = payload["seed"]
    task = RunTask(payload["run_id"], payload["key"], payload)
    runs_dir = Path(ctx.out) / "runs"
    run_dir = runs_dir / task.run_id
    params, ft = _split_params(spec, ctx.cfg)
    loss = None
    with PeakMemory() as mem:
        if spec.name in FEATURE_METHODS:
            budgets, filters, seconds = _run_features(ctx, spec.name, params, seed)
        else:
            budgets, filters, seconds, loss = _run_network(ctx, spec.name, params, ft, seed, run_dir)
    write = is_main_process()
    out_budgets = []
    for b in budgets:
        correct = b.pop("correct")
        n = b["labels_per_class"]
        b["metrics"] = {"accuracy": float(correct.mean()), "val_accuracy": b.pop("val_accuracy")}
        if write:
            b["samples"] = save_samples(run_dir, correct, f"samples_n{n}.npy")
        out_budgets.append(b)
    result = {"method": spec.display, "strategy": spec.name, "seed": seed, "params": spec.params,
              "finetune": ft.model_dump(mode="json") if spec.name in DEEP_METHODS else None,
              "pretrain_seconds": seconds, "pretrain_loss": loss, "peak_memory_mb": mem.peak_mb,
              "budgets": out_budgets}
    if write and filters is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        np.save(run_dir / "filters.npy", np.asarray(filters, np.float32))
        result["filters"] = "filters.npy"
    log.info("selftaught: %s seed %d: %s", spec.display, seed,
             ", ".join(f"{b['labels_per_class']}/class {b['metrics']['accuracy']:.3f}" for b in out_budgets))
    return finish_run(runs_dir, task, result, write=write)


def _flatten(results: list[dict]) -> list[dict]:
    """One run per (method, budget, seed), as every summary reads them."""
    runs = []
    for r in results:
        common = {k: v for k, v in r.items() if k not in ("budgets", "key")}
        runs += [{**common, **b} for b in r["budgets"]]
    return runs


# -------------------------------------------------------------------------- report


def _mosaic(tiles: np.ndarray, cols: int) -> np.ndarray:
    """Tiles ``[n, h, w]``, each stretched to [0, 1], laid out on a grid with 1-pixel gaps."""
    n, h, w = tiles.shape
    rows = math.ceil(n / cols)
    out = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1))
    for i, t in enumerate(tiles):
        lo, hi = float(t.min()), float(t.max())
        r, c = divmod(i, cols)
        out[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = (
            (t - lo) / (hi - lo) if hi > lo else 0.5)
    return out


def _filters_figure(out: Path, results: list[dict], max_tiles: int = 64) -> str | None:
    """The learnt dictionary atoms, PCA components and first-layer filters of the first seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown: dict[str, np.ndarray] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        if r.get("filters") and r["method"] not in shown:
            path = out / "runs" / r["run_id"] / r["filters"]
            if path.exists():
                shown[r["method"]] = np.load(path)[:max_tiles]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.6), squeeze=False)
    what = {"sparse_coding": "dictionary atoms", "pca": "PCA components"}
    for ax, (method, tiles) in zip(axes[0], shown.items()):
        strategy = next(r["strategy"] for r in results if r["method"] == method)
        ax.imshow(_mosaic(tiles, math.ceil(math.sqrt(len(tiles)))), cmap="gray", interpolation="nearest")
        ax.set_title(f"{method}: {len(tiles)} {what.get(strategy, 'first-layer filters')}\n"
                     f"({tiles.shape[1]}x{tiles.shape[2]})", fontsize=8)
        ax.axis("off")
    fig.suptitle("Learnt on the unlabelled source (first seed)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return save_figure(fig, out, "filters.png", dpi=120)


def _pivot(summary: list[dict], runs: list[dict], budgets: list[int]) -> str:
    """Accuracy (%) per method against labels per class, with the compute of each method."""
    rows = []
    for method in dict.fromkeys(r["method"] for r in summary):
        row: dict[str, Any] = {"method": method}
        for s in summary:
            if s["method"] != method:
                continue
            m, lo, hi = (s.get(k) for k in ("accuracy_mean", "ci95_low", "ci95_high"))
            ok = all(isinstance(v, float) and math.isfinite(v) for v in (lo, hi))
            row[f"{s['labels_per_class']}/class"] = (f"{100 * m:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]" if ok
                                                     else f"{100 * m:.1f}")
        mine = [r for r in runs if r["method"] == method]
        per_seed = {r["seed"]: r.get("pretrain_seconds") or 0.0 for r in mine}
        row["representation s/seed"] = float(np.mean(list(per_seed.values())))
        row["train s/run"] = float(np.mean([r.get("train_seconds") or 0.0 for r in mine]))
        rows.append(row)
    cols = ["method", *(f"{n}/class" for n in budgets), "representation s/seed", "train s/run"]
    return markdown_table(rows, cols)


# ------------------------------------------------------------------------------ run


def _task_key(cfg: SelftaughtConfig, m: MethodSpec) -> dict[str, Any]:
    """What determines a method's runs besides itself and the seed: fixed features do not depend on
    the backbone or trainer, networks not on the classifier."""
    key: dict[str, Any] = {"data": cfg.data.model_dump(mode="json")}
    if m.name in FEATURE_METHODS:
        key["classifier"] = cfg.classifier.model_dump(mode="json")
    else:
        key.update(backbone=cfg.backbone.model_dump(mode="json"), trainer=trainer_key(cfg.trainer))
    if m.name in DEEP_METHODS:
        key.update(pretrain=cfg.pretrain.model_dump(mode="json"), finetune=cfg.finetune.model_dump(mode="json"))
    return key


def run_selftaught(cfg: SelftaughtConfig, output_dir: str | Path | None = None, resume: bool = False,
                   overwrite: bool = False, progress: bool = True) -> dict:
    """Run every method x seed of ``cfg``; write results.json, report.md and figures."""
    require_listed_seeds(cfg)
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    check_logger_installed(cfg.trainer.logger)
    methods = cfg.listed_methods() or [MethodSpec(name=n) for n in ("sparse_coding", "autoencoder", "simclr")]
    names = {m.name for m in methods}
    if names & set(DEEP_METHODS) and "scratch" not in names:
        methods.insert(0, MethodSpec(name="scratch"))
    for b in ("pca", "raw"):
        if b not in names:
            methods.insert(0, MethodSpec(name=b))
    data = load_data(cfg.data, "selftaught")
    _check_methods(methods, cfg, data)
    val = cfg.data.val_per_class or 0
    for n in cfg.data.labels_per_class:  # impossible budgets fail before anything trains
        try:
            few_shot_indices(data.target.y, n + val, 0)
        except DataError as err:
            raise DataError(f"data.labels_per_class={n}" + (f" (plus {val} per class for validation)" if val else "")
                            + f": {err}") from None
    seeds = cfg.trainer.seed_list()
    executor = make_executor(cfg.trainer, cfg.trainer.workers or 1)
    prepare_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    tasks = [t for m in methods for t in method_seed_tasks([m], seeds, _task_key(cfg, m))]
    model_params = sum(p.numel() for p in build_backbone(cfg.backbone, data.target.input_shape,
                                                         pretrained=False).parameters())
    with threads(cfg.trainer, model_params):
        results = run_grid(tasks, _run_one, _Context(cfg, data, str(out)), executor, out / "runs", resume)
    runs = _flatten(results)
    baselines = [b for b in BASELINES if any(m.name == b for m in methods)]
    summary = summarize(runs, metric="accuracy", baselines=baselines, group_keys=("labels_per_class",),
                        rope=cfg.trainer.rope, runs_dir=out / "runs")
    for row in summary:
        per_seed = {r["seed"]: r.get("pretrain_seconds") or 0.0 for r in runs if r["method"] == row["method"]}
        row["pretrain_seconds"] = float(np.mean(list(per_seed.values())))
    figures: list[str] = []
    if is_main_process():
        from .compare import _figures

        figures = _figures(out, summary)
        fig = _filters_figure(out, results)
        figures += [fig] if fig else []
    cols = ["labels_per_class", "method", "accuracy_mean", "ci95_low", "ci95_high"]
    cols += [c for b in baselines for c in (f"gain_vs_{b}", f"verdict_vs_{b}")] + ["pretrain_seconds",
                                                                                   "train_seconds_mean", "flag"]
    results_json = write_results(out, cfg.model_dump(mode="json"), runs, summary, "selftaught",
                                 extra={"total_seconds": time.perf_counter() - start, "figures": figures,
                                        "columns": cols})
    if is_main_process():
        results_json["report"] = _report(out, cfg, data, methods, seeds, summary, runs, figures, cols, baselines)
    return results_json


def _report(out: Path, cfg: SelftaughtConfig, data: Any, methods: list[MethodSpec], seeds: list[int],
            summary: list[dict], runs: list[dict], figures: list[str], cols: list[str], baselines: list[str]) -> str:
    h, w = data.image_shape
    deep = [m for m in methods if m.name in DEEP_METHODS]
    intro = [
        f"Unlabelled source `{cfg.data.kind}` ({data.name}): {len(data.source)} images, their labels (if any) "
        f"unused. Target: a pool of {len(data.target)} labelled {h}x{w} images of {data.num_classes} classes, "
        f"from which each seed draws {cfg.data.labels_per_class} labels per class (the same draw for every "
        f"method); test: {len(data.target_test)} held-out images. Seeds: {seeds}.",
        f"`raw`, `pca` and `sparse_coding` feed standardisation + logistic regression (C={cfg.classifier.C:g}), "
        "fixed in advance. `pca` is fitted on random source patches of the target's size; `sparse_coding` is "
        "Raina et al. (ICML 2007) with pooled codes.",
    ]
    if deep or any(m.name == "scratch" for m in methods):
        p = cfg.pretrain
        ft = ", ".join(f"`{m.display}`: `{_split_params(m, cfg)[1].name}`" for m in deep)
        intro.append(
            f"Networks: backbone `{cfg.backbone.name}`. " + (
                f"{', '.join(f'`{m.display}`' for m in deep)}: each pretrains its own copy on {p.n_patches} random "
                f"{h}x{w} source patches for {p.epochs} epoch(s) (Adam, lr {p.lr:g}), then fine-tunes it end to end "
                f"on the target labels with a strategy ({ft}). " if deep else "")
            + f"`scratch` trains it from random weights. Fine-tuning: {cfg.trainer.max_epochs} epochs, "
            + (f"the best epoch on {cfg.data.val_per_class} more labels per class (early stopping with patience "
               f"{cfg.trainer.patience})." if cfg.data.val_per_class
               else "no validation split (no label beyond the budget)."))
    extra = ["## Accuracy (%) against labels per class", "",
             "Mean over seeds [95% interval]; representation seconds per seed (dictionary, PCA or "
             "pretraining) and training seconds per run (classifier or fine-tuning).", "",
             _pivot(summary, runs, list(cfg.data.labels_per_class)), ""]
    return write_report(out, "transferkit selftaught", intro, summary, cols, figures, rope=cfg.trainer.rope,
                        baselines=baselines, transductive=False, extra=extra)
