"""Multi-task runner: ``run(config, output_dir, resume)`` -> results.json, report.md, figures.

Config (every key validated; an unknown key is an error naming it)::

    data:         {kind: multimnist|school|landmine|arrays, root, n_train, n_test,
                   heldout_digits, test_fraction, path (arrays .npz with X, Y), task_names,
                   kinds, auxiliary: [task names]}
    architecture: {name: hard_sharing, backbone: lenet, backbone_params: {...}, params: {...}}
    methods:      [single_task, equal, uncertainty, dwa, gradnorm, mgda, mgda_ub, pcgrad,
                   cagrad, upgrad, imtl_g, ...]  or  [{name: gradnorm, params: {alpha: 1.5}}]
    trainer:      {max_epochs, batch_size, lr, optimizer, weight_decay, seeds: [0, 1, 2]}

Per run the metrics are the tasks' metrics on the test split plus ``delta_m`` (Δm%, Maninis et
al. 2019: mean over main tasks of ``±(M_m - M_b)/M_b * 100`` against the single-task baseline
of the same seed, sign chosen so that a *positive* Δm means better than single-task).
Auxiliary tasks are reported but excluded from Δm and from ``main_score``. With ``resume``
finished ``(method, seed)`` runs already in ``results.json`` are kept and skipped.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import numpy as np

from ..exceptions import ConfigError, UnknownNameError, suggest
from ._results import is_main_process

__all__ = ["AGGREGATOR_METHODS", "WEIGHTINGS", "delta_m", "run"]

WEIGHTINGS = {"equal": "fixed", "fixed": "fixed", "uncertainty": "uncertainty", "dwa": "dwa", "gradnorm": "gradnorm"}
AGGREGATOR_METHODS = {"mgda_ub": ("mgda", True)}

_KEYS = {
    "top": {"data", "architecture", "methods", "trainer", "output", "name"},
    "data": {"kind", "root", "n_train", "n_test", "heldout_digits", "test_fraction", "path",
             "task_names", "kinds", "auxiliary", "seed"},
    "architecture": {"name", "backbone", "backbone_params", "params"},
    "trainer": {"max_epochs", "batch_size", "lr", "optimizer", "weight_decay", "seeds", "accelerator", "devices", "strategy"},
    "method": {"name", "params"},
}


def _check_keys(section: str, d: dict) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f"'{section}' must be a mapping, got {type(d).__name__}")
    valid = _KEYS["top" if section == "config" else section]
    for k in d:
        if k not in valid:
            raise ConfigError(
                f"unknown key '{k}' in {section}.{suggest(k, valid)} Valid keys: {', '.join(sorted(valid))}."
            )


def _load_data(cfg: dict, seed: int):
    from ..data import multitask as mtd

    kind = cfg.get("kind", "multimnist")
    root = cfg.get("root")
    if kind == "multimnist":
        return mtd.load_multimnist(
            root, n_train=int(cfg.get("n_train", 8000)), n_test=int(cfg.get("n_test", 2000)),
            heldout_digits=int(cfg.get("heldout_digits", 2000)), seed=int(cfg.get("seed", 0)),
        )
    if kind in ("school", "landmine"):
        full = mtd.load_school(root) if kind == "school" else mtd.load_landmine(root)
        return full.split(float(cfg.get("test_fraction", 0.25)), int(cfg.get("seed", 0)))
    if kind == "arrays":
        if "path" not in cfg:
            raise ConfigError("data.kind 'arrays' needs data.path (an .npz with X and Y)")
        z = np.load(cfg["path"])
        for key in ("X", "Y"):
            if key not in z:
                raise ConfigError(f"'{cfg['path']}' lacks array '{key}'")
        full = mtd.from_arrays(z["X"], z["Y"], cfg.get("task_names"), cfg.get("kinds", "regression"))
        return full.split(float(cfg.get("test_fraction", 0.25)), int(cfg.get("seed", 0)))
    valid = ["multimnist", "school", "landmine", "arrays"]
    raise UnknownNameError(f"unknown data kind '{kind}'.{suggest(kind, valid)} Valid: {', '.join(valid)}.")


def _methods(cfg: Any) -> list[tuple[str, dict]]:
    import transferkit

    if not isinstance(cfg, list) or not cfg:
        raise ConfigError("'methods' must be a non-empty list of method names or {name, params}")
    aggs = {m.name for m in transferkit.list_methods("aggregator")}
    valid = {"single_task", *WEIGHTINGS, *AGGREGATOR_METHODS, *aggs}
    out = []
    for m in cfg:
        if isinstance(m, str):
            m = {"name": m}
        _check_keys("method", m)
        name = m.get("name")
        if name not in valid:
            raise UnknownNameError(
                f"unknown multi-task method '{name}'.{suggest(str(name), valid)} Valid: {', '.join(sorted(valid))}."
            )
        out.append((name, dict(m.get("params") or {})))
    return out


def _balancer(name: str, params: dict, n_tasks: int):
    import transferkit

    if name in WEIGHTINGS or name == "single_task":
        return transferkit.create("weighting", WEIGHTINGS.get(name, "fixed"), num_tasks=n_tasks, **params), False
    agg, rep = AGGREGATOR_METHODS.get(name, (name, False))
    return transferkit.create("aggregator", agg, **params), rep


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
        fig.savefig(out / "weight_curves.png", dpi=110)
        plt.close(fig)
        files.append("weight_curves.png")
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
        fig.savefig(out / "pareto.png", dpi=110)
        plt.close(fig)
        files.append("pareto.png")
    return files


def run(config: dict, output_dir: pathlib.Path, resume: bool = False) -> dict:
    """Run every method x seed of ``config``; write results.json, report.md and figures."""
    import torch

    import transferkit

    from .._utils import count_parameters
    from ..multitask import Task
    from ..training.multitask import evaluate_multitask, fit_multitask, tasks_from_data

    _check_keys("config", config)
    data_cfg = dict(config.get("data") or {})
    arch_cfg = dict(config.get("architecture") or {"name": "hard_sharing", "backbone": "lenet"})
    tr_cfg = dict(config.get("trainer") or {})
    for sec, d in (("data", data_cfg), ("architecture", arch_cfg), ("trainer", tr_cfg)):
        _check_keys(sec, d)
    methods = _methods(config.get("methods", ["single_task", "equal", "mgda_ub"]))
    seeds = [int(s) for s in tr_cfg.get("seeds", [0])]
    out = pathlib.Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)

    train, test = _load_data(data_cfg, seeds[0])
    aux = list(data_cfg.get("auxiliary", []))
    for a in aux:
        if a not in train.task_names:
            raise ConfigError(f"auxiliary task '{a}' is not a task of the data: {train.task_names}")
    tasks: list[Task] = tasks_from_data(train, aux)
    if arch_cfg.get("backbone", "lenet") == "mlp":
        bp = {"in_features": int(np.prod(train.X.shape[1:]))}
    else:
        bp = {"in_channels": int(train.X.shape[1]), "input_size": int(train.X.shape[-1])} if train.X.ndim == 4 else {}
    bp.update(arch_cfg.get("backbone_params") or {})
    arch_params = dict(arch_cfg.get("params") or {})

    def build(task_list):
        return transferkit.create(
            "mtl_architecture", arch_cfg.get("name", "hard_sharing"), backbone=arch_cfg.get("backbone", "lenet"),
            tasks=task_list, backbone_params=bp, **arch_params,
        )

    fit_kw = {
        "max_epochs": int(tr_cfg.get("max_epochs", 3)), "batch_size": int(tr_cfg.get("batch_size", 128)),
        "lr": float(tr_cfg.get("lr", 1e-3)), "optimizer": str(tr_cfg.get("optimizer", "adam")),
        "weight_decay": float(tr_cfg.get("weight_decay", 0.0)),
        "accelerator": str(tr_cfg.get("accelerator", "cpu")), "devices": tr_cfg.get("devices", 1),
    }

    if "strategy" in tr_cfg:
        fit_kw["trainer_extra"] = {"strategy": tr_cfg["strategy"]}

    results_path = out / "results.json"
    done: list[dict] = []
    if resume and results_path.exists():
        done = json.loads(results_path.read_text()).get("runs", [])
    have = {(r["method"], r["seed"]) for r in done}
    runs = list(done)
    curves: dict[str, list[list[float]]] = {}

    def save() -> dict:
        res = {"schema": 1, "config": config, "runs": runs, "summary": _summary(runs, tasks)}
        if is_main_process():  # other ranks of a distributed run write nothing
            results_path.write_text(json.dumps(res, indent=2, default=float))
        return res

    for seed in seeds:
        for name, params in methods:
            if (name, seed) in have:
                continue
            torch.manual_seed(seed)
            if name == "single_task":
                metrics: dict[str, float] = {}
                secs, n_params = 0.0, 0
                for t in tasks:
                    torch.manual_seed(seed)
                    model = build([t])
                    bal, _ = _balancer("equal", {}, 1)
                    r = fit_multitask(model, [t], bal, train, seed=seed, **fit_kw)
                    metrics.update(evaluate_multitask(model, [t], test))
                    secs += r.train_seconds
                    n_params += count_parameters(model)
            else:
                model = build(tasks)
                bal, rep = _balancer(name, params, len(tasks))
                r = fit_multitask(model, tasks, bal, train, representation_mode=rep, seed=seed, **fit_kw)
                metrics = evaluate_multitask(model, tasks, test)
                secs, n_params = r.train_seconds, r.trainable_params
                if seed == seeds[0]:
                    curves[name] = r.weight_history
                metrics["final_weights"] = r.weight_history[-1] if r.weight_history else []
            from ..training._fit import peak_memory_mb

            runs.append({
                "method": name, "seed": seed, "metrics": metrics, "train_seconds": secs,
                "peak_memory_mb": peak_memory_mb(), "trainable_params": n_params,
            })
            save()
    # Δm against the single-task run of the same seed
    base = {r["seed"]: r["metrics"] for r in runs if r["method"] == "single_task"}
    for r in runs:
        if r["seed"] in base:
            r["metrics"]["delta_m"] = 0.0 if r["method"] == "single_task" else delta_m(r["metrics"], base[r["seed"]], tasks)
        main = [r["metrics"].get(f"{t.name}/{t.main_metric}") for t in tasks if not t.auxiliary]
        r["metrics"]["main_score"] = float(np.mean([m for m in main if m is not None])) if main else float("nan")
    res = save()
    if is_main_process():
        figs = _figures(out, curves, runs, tasks)
        (out / "report.md").write_text(_report(res, tasks, figs, train, test))
    return res


def _summary(runs: list[dict], tasks) -> list[dict]:
    out = []
    for method in dict.fromkeys(r["method"] for r in runs):
        rs = [r for r in runs if r["method"] == method]
        keys = sorted({k for r in rs for k, v in r["metrics"].items() if isinstance(v, (int, float))})
        row = {"method": method, "n_seeds": len(rs)}
        for k in keys:
            vals = [r["metrics"][k] for r in rs if isinstance(r["metrics"].get(k), (int, float))]
            row[k] = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0}
        row["train_seconds"] = float(np.mean([r["train_seconds"] for r in rs]))
        out.append(row)
    return out


def _report(res: dict, tasks, figs: list[str], train, test) -> str:
    main = [t for t in tasks if not t.auxiliary]
    aux = [t for t in tasks if t.auxiliary]
    cols = [f"{t.name}/{t.main_metric}" for t in main]
    lines = [
        "# Multi-task results", "",
        f"Train: {len(train)} samples, test: {len(test)} samples; tasks: "
        + ", ".join(t.name + (" (auxiliary)" if t.auxiliary else "") for t in tasks) + ".", "",
        "| method | seeds | " + " | ".join(cols) + " | Δm% | train s |",
        "|---|---|" + "---|" * len(cols) + "---|---|",
    ]

    def fmt(row, k, scale=1.0):
        v = row.get(k)
        if not isinstance(v, dict) or not math.isfinite(v["mean"]):
            return "—"
        return f"{v['mean'] * scale:.2f} ± {v['std'] * scale:.2f}"

    for row in res["summary"]:
        scale = {c: (100.0 if c.endswith("accuracy") else 1.0) for c in cols}
        lines.append(
            f"| {row['method']} | {row['n_seeds']} | " + " | ".join(fmt(row, c, scale[c]) for c in cols)
            + f" | {fmt(row, 'delta_m')} | {row['train_seconds']:.1f} |"
        )
    if aux:
        lines += ["", "Auxiliary tasks (excluded from Δm and model selection):", ""]
        for row in res["summary"]:
            lines.append(f"- {row['method']}: " + ", ".join(f"{t.name}/{t.main_metric} {fmt(row, f'{t.name}/{t.main_metric}')}" for t in aux))
    lines += ["", ("Accuracies in %, mean ± std over seeds. Δm% (Maninis et al. 2019) is positive "
                   "when better than the single-task baseline of the same seed."), ""]
    lines += [f"![{f}]({f})" for f in figs]
    return "\n".join(lines) + "\n"
