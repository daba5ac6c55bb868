"""``transferkit rank``: which pre-trained model to fine-tune? Score every candidate on the
target with transferability scores, rank them, and (``--validate``) check the ranking against
fine-tuning.

Steps: (1) load the target (any data kind serving ``labelled_target``; the scores read its
labelled pool, optionally ``data.labels_per_class`` samples per class of it, never the held-out
test split); (2) build every candidate, extract its features (and its source-label
probabilities when it carries a source head) in one batched pass without gradients, in eval
mode; (3) compute every applicable score (:func:`transferkit.transferability.transferability_scores`)
and rank; (4) with ``validate``, fine-tune each candidate with one strategy on a few-shot split
(the compare runner's per-run job, in sub-folders ``runs/<candidate>/``), test on the held-out
split, and measure how well each score's ranking agrees with the accuracies: weighted Kendall
tau (``scipy.stats.weightedtau``, hyperbolic weights, as in You et al. 2021 and later
transferability papers), Kendall tau, Pearson's r and the top-1 regret.

Everything that can be refused (candidates, scores, data, features) is refused before the
output directory is created.
"""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data._base import TransferData, few_shot_indices
from ..data._kinds import load_data
from ..exceptions import ConfigError, DataError, TransferkitError, UnknownNameError
from ._common import build_backbone, resolve_pretrained, threads, trainer_key
from ._config import CandidateSpec, CompareConfig, RankConfig, ValidateSpec
from ._results import (
    check_output_dir,
    is_main_process,
    markdown_table,
    prepare_output_dir,
    write_results,
)

__all__ = ["run_rank", "agreement", "top1_regret"]

log = logging.getLogger("transferkit")


# --------------------------------------------------------------------------- agreement


def top1_regret(scores: Any, accuracies: Any) -> float:
    """Best accuracy minus the accuracy of the candidate the score puts first (0 = right pick)."""
    s, a = np.asarray(scores, float), np.asarray(accuracies, float)
    return float(a.max() - a[int(np.argmax(s))])


def agreement(scores: Any, accuracies: Any) -> dict[str, float | None]:
    """How well ``scores`` (one per candidate) rank the candidates' measured ``accuracies``.

    ``weighted_tau``: ``scipy.stats.weightedtau(scores, accuracies)`` (hyperbolic weights
    ``1 / (rank + 1)``, so disagreements among the best candidates count most);
    ``kendall_tau``: ``scipy.stats.kendalltau``; ``pearson``: Pearson's r; ``top1_regret``:
    :func:`top1_regret`. A statistic that is undefined (fewer than two candidates, constant
    values) is ``None``.
    """
    import scipy.stats

    s, a = np.asarray(scores, float), np.asarray(accuracies, float)
    out: dict[str, float | None] = {"n": int(s.size), "weighted_tau": None, "kendall_tau": None,
                                    "pearson": None, "top1_regret": None}
    if s.size == 0:
        return out
    out["top1_regret"] = top1_regret(s, a)
    if s.size < 2:
        return out

    def finite(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    with np.errstate(all="ignore"):
        out["weighted_tau"] = finite(scipy.stats.weightedtau(s, a).statistic)
        out["kendall_tau"] = finite(scipy.stats.kendalltau(s, a).statistic)
        if np.ptp(s) > 0 and np.ptp(a) > 0:
            out["pearson"] = finite(scipy.stats.pearsonr(s, a).statistic)
    return out


# ----------------------------------------------------------------------------- features


def _folder(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", label)


def _device(cfg: RankConfig) -> Any:
    import torch

    acc = cfg.trainer.accelerator
    if acc in ("gpu", "cuda") or (acc == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError(f"trainer.accelerator: {acc} but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def _build(cand: CandidateSpec, data: TransferData) -> Any:
    """The candidate with its own head kept (``num_outputs=None``): a checkpoint's head or a
    pretrained model's head; built-in nets without a checkpoint have none."""
    return build_backbone(cand, data.target.input_shape, num_outputs=None, pretrained=resolve_pretrained(cand))


def extract(model: Any, domain: Any, batch_size: int, device: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Features ``[N, D]`` of ``domain`` and, when ``model`` has a head, its softmax outputs
    ``[N, Z]``: one batched pass in eval mode without gradients (modes restored after)."""
    import torch
    from torch import nn

    if domain.is_text:  # the backbone's tokenizer, through the training loaders
        from ..training import make_loader

        batches = (x for x, _ in make_loader(domain, batch_size, shuffle=False, backbone=model))
    else:  # arrays: plain slices (no Lightning import for a ranking)
        X = np.asarray(domain.X, dtype=np.float32)
        batches = (torch.from_numpy(X[i : i + batch_size]) for i in range(0, len(X), batch_size))
    has_head = not isinstance(getattr(model, "head", None), nn.Identity | type(None))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    model.to(device)
    feats, probs = [], []
    try:
        with torch.no_grad():
            for x in batches:
                x = {k: v.to(device) for k, v in x.items()} if isinstance(x, dict) else x.to(device)
                f = model.features(x)
                feats.append(f.flatten(1).double().cpu())
                if has_head:
                    probs.append(model.head(f).double().softmax(1).cpu())
    finally:
        for m, mode in modes:
            m.training = mode
    return torch.cat(feats).numpy(), (torch.cat(probs).numpy() if has_head else None)


def _check_score_names(cfg: RankConfig) -> None:
    """Unknown names in ``scores`` and ``score_params`` fail before any model is built."""
    from ..exceptions import suggest
    from ..transferability import FEATURE_SCORES, SOURCE_OUTPUT_SCORES

    known = FEATURE_SCORES + SOURCE_OUTPUT_SCORES
    for key in cfg.score_params:
        if key not in known:
            raise ConfigError(f"score_params names unknown score '{key}'.{suggest(key, known)} "
                              f"Valid scores: {', '.join(known)}.")
    for name in cfg.scores or ():
        if name not in known:
            raise ConfigError(f"scores: unknown transferability score '{name}'.{suggest(name, known)} "
                              f"Valid scores: {', '.join(known)}.")
    if cfg.scores is not None and not cfg.scores:
        raise ConfigError("scores: list at least one score, or leave it out for every score that applies")


def _score_names(cfg: RankConfig, with_head: list[bool]) -> list[str]:
    from ..transferability import FEATURE_SCORES, SOURCE_OUTPUT_SCORES

    if cfg.scores is None:
        return list(FEATURE_SCORES) + (list(SOURCE_OUTPUT_SCORES) if any(with_head) else [])
    needs_head = [n for n in cfg.scores if n in SOURCE_OUTPUT_SCORES]
    if needs_head and not any(with_head):
        raise ConfigError(
            f"scores: {', '.join(needs_head)} {'needs' if len(needs_head) == 1 else 'need'} a candidate with a "
            "source head (its softmax outputs over "
            "the source classes); no candidate has one: give a checkpoint saved with its head (a compare run's "
            "pretrained.pt) or a pretrained model whose head ships with it"
        )
    return list(dict.fromkeys(cfg.scores))


def _score_pool(cfg: RankConfig, data: TransferData) -> Any:
    target = data.target
    k = cfg.data.labels_per_class
    if k is not None:
        try:
            idx = few_shot_indices(target.y, k, cfg.data.seed)
        except DataError as err:
            raise DataError(f"data.labels_per_class={k}: {err}") from None
        target = target.subset(idx, f"{target.name}_scored")
    classes = np.unique(np.asarray(target.y))
    if classes.size < 2:
        raise DataError(
            f"the target '{target.name}' has a single class ({classes.tolist()}) in the samples the scores read; "
            "ranking models for it needs labels of at least two classes"
        )
    return target


def _score_candidates(cfg: RankConfig, data: TransferData, pool: Any) -> tuple[list[dict], list[str], dict]:
    """Every candidate's features and scores; a candidate that fails is named."""
    import torch

    from ..transferability import SOURCE_OUTPUT_SCORES, transferability_scores

    device = _device(cfg)
    y = np.asarray(pool.y)
    extracted = []
    models = {}
    for cand in cfg.candidates:
        label = cand.display
        start = time.perf_counter()
        try:
            torch.manual_seed(cand.seed)  # the initial weights of whatever is not loaded
            model = _build(cand, data)
            with threads(cfg.trainer, sum(p.numel() for p in model.parameters())):
                feats, probs = extract(model, pool, cfg.batch_size, device)
        except (TransferkitError, ImportError) as err:
            raise _same_kind(err)(f"candidate '{label}' ({cand.name}): {err}") from None
        except Exception as err:
            raise DataError(f"candidate '{label}' ({cand.name}): its features could not be extracted from the "
                            f"target ({pool.input_shape or 'text'} inputs): {type(err).__name__}: {err}") from err
        if not np.isfinite(feats).all():
            raise DataError(f"candidate '{label}' ({cand.name}): its features of the target contain NaN or inf")
        model.to("cpu")
        models[label] = model
        extracted.append((cand, feats, probs, time.perf_counter() - start))
    names = _score_names(cfg, [p is not None for _, _, p, _ in extracted])
    rows = []
    for cand, feats, probs, seconds in extracted:
        label = cand.display
        usable = [n for n in names if n not in SOURCE_OUTPUT_SCORES or probs is not None]
        start = time.perf_counter()
        scores = {}
        for name in usable:  # one at a time, so that an error names the score and its parameters
            kw = cfg.score_params.get(name, {})
            try:
                scores.update(transferability_scores(y, features=feats, source_probs=probs, names=[name],
                                                     params={name: kw} if kw else None))
            except (TransferkitError, TypeError) as err:
                where = f"score_params.{name} {kw}" if kw else f"score '{name}'"
                raise _same_kind(err)(f"{where}, scoring candidate '{label}' ({cand.name}, "
                                      f"{feats.shape[1]}-d features): {err}") from None
        scores = {n: (float(scores[n]) if n in scores else None) for n in names}
        rows.append({
            "candidate": label, "backbone": cand.name, "checkpoint": cand.checkpoint,
            "feature_dim": int(feats.shape[1]), "source_head": probs is not None,
            "source_classes": int(probs.shape[1]) if probs is not None else None,
            "scores": scores, "extract_seconds": seconds, "score_seconds": time.perf_counter() - start,
        })
    return rows, names, models


def _same_kind(err: Exception) -> type[Exception]:
    """The class to re-raise ``err`` as with the candidate named (its own where that is safe)."""
    if type(err) in (ConfigError, DataError, UnknownNameError, ImportError):
        return type(err)
    return ConfigError if isinstance(err, TransferkitError | TypeError) else DataError


def _ranks(rows: list[dict], names: list[str]) -> None:
    """``rows[i]["ranks"][score]``: 1 = the best candidate by that score (None where undefined)."""
    for r in rows:
        r["ranks"] = {}
    for n in names:
        have = [r for r in rows if r["scores"][n] is not None]
        ordered = sorted(have, key=lambda r: -r["scores"][n])
        for i, r in enumerate(ordered):
            r["ranks"][n] = i + 1
        for r in rows:
            r["ranks"].setdefault(n, None)


# --------------------------------------------------------------------------- validation


def _compare_config(cfg: RankConfig, cand: CandidateSpec, v: ValidateSpec) -> CompareConfig:
    data = cfg.data.model_dump(exclude={"labels_per_class"}, exclude_unset=True)
    return CompareConfig.model_validate({
        "data": {**data, "labels_per_class": [v.labels_per_class]},
        "backbone": cand.model_dump(exclude={"label", "seed"}),
        "method": {"name": v.strategy, "params": v.params},
        "pretrain": {"epochs": 0},
        "trainer": {**cfg.trainer.model_dump(), "seeds": list(v.seeds)},
        "output": {"dir": None},
    })


def _check_validation(cfg: RankConfig, data: TransferData, v: ValidateSpec) -> None:
    from .._registry import create

    create("finetune", v.strategy, **v.params)  # unknown strategies and bad parameters fail here
    need = v.labels_per_class + (cfg.data.val_per_class or v.labels_per_class)
    try:
        few_shot_indices(data.target.y, need, 0)
    except DataError as err:
        raise DataError(f"validate.labels_per_class={v.labels_per_class} (plus {need - v.labels_per_class} "
                        f"per class for validation) needs {need} target samples per class: {err}") from None


def _validate(cfg: RankConfig, data: TransferData, models: dict, out: Path, resume: bool,
              progress: bool) -> list[dict]:
    """Fine-tune every candidate with the compare runner's per-run job; returns its runs."""
    from ._executor import grid_task, make_executor, plan_runs
    from .compare import _Context, _run_one, _workers

    v = cfg.validation
    assert v is not None
    runs: list[dict] = []
    for cand in cfg.candidates:
        label = cand.display
        ccfg = _compare_config(cfg, cand, v)
        method = ccfg.method
        sub = out / "runs" / _folder(label)
        key0 = {"data": cfg.data.model_dump(mode="json", exclude={"labels_per_class"}),
                "candidate": cand.model_dump(mode="json"), "trainer": trainer_key(cfg.trainer),
                "method": method.model_dump(mode="json"), "labels_per_class": v.labels_per_class}
        tasks = []
        for s in v.seeds:
            tasks.append(grid_task(f"{method.display}__n{v.labels_per_class}__seed{s}", {**key0, "seed": s},
                                   n=v.labels_per_class, seed=s, method=key0["method"], resume=resume))
        reused, todo = plan_runs(tasks, sub / "runs", resume)
        found = list(reused)
        params = sum(p.numel() for p in models[label].parameters())
        executor = make_executor(ccfg.trainer, _workers(ccfg, params, len(todo)))
        log.info("validate: fine-tuning '%s' with %s, %d labels per class, seeds %s", label, v.strategy,
                 v.labels_per_class, list(v.seeds))
        ctx = _Context(ccfg, data, models[label], False, str(sub))
        with threads(ccfg.trainer, params):
            executor.run(_run_one, ctx, [t.payload for t in todo], found.append)
        for r in sorted(found, key=lambda r: r["seed"]):
            runs.append({**r, "candidate": label, "method": label, "strategy": v.strategy})
    return runs


# ------------------------------------------------------------------------------- runner


def run_rank(
    cfg: RankConfig,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Score, rank and (``cfg.validate``) validate the candidates; returns the results dict
    also written to ``results.json``."""
    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    _check_score_names(cfg)
    v = cfg.validation
    data = load_data(cfg.data, "rank")
    pool = _score_pool(cfg, data)
    if v is not None:
        _check_validation(cfg, data, v)
    start = time.perf_counter()
    rows, names, models = _score_candidates(cfg, data, pool)
    _ranks(rows, names)
    primary = names[0]
    rows.sort(key=lambda r: (r["ranks"][primary] is None, r["ranks"][primary] or 0))
    prepare_output_dir(out, resume, overwrite)
    val_runs = _validate(cfg, data, models, out, resume, progress) if v is not None else []
    agreements: list[dict] = []
    if v is not None:
        for r in rows:
            accs = [x["metrics"]["accuracy"] for x in val_runs if x["candidate"] == r["candidate"]]
            r["accuracy_mean"] = float(np.mean(accs))
            r["accuracy_std"] = float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
            r["seeds"] = len(accs)
        order = sorted(rows, key=lambda r: -r["accuracy_mean"])
        for i, r in enumerate(order):
            r["accuracy_rank"] = i + 1
        for n in names:
            have = [r for r in rows if r["scores"][n] is not None]
            a = agreement([r["scores"][n] for r in have], [r["accuracy_mean"] for r in have])
            first = max(have, key=lambda r: r["scores"][n])["candidate"] if have else None
            agreements.append({"score": n, **a, "top1_choice": first})
    summary = [_summary_row(r, names) for r in rows]
    columns = ["candidate", "backbone", "feature_dim", "source_head", *names]
    if v is not None:
        columns += ["accuracy_mean", "accuracy_std", "accuracy_rank"]
    info = {
        "target": pool.name, "target_samples": len(pool), "target_classes": int(np.unique(np.asarray(pool.y)).size),
        "scores": names, "primary_score": primary,
        "validate": v.model_dump() if v is not None else None,
    }
    figures = _figures(out, rows, names, v is not None) if is_main_process() else []
    runs = [{"method": r["candidate"], "seed": None, "metrics": dict(r["scores"]), **{k: r[k] for k in (
        "candidate", "backbone", "checkpoint", "feature_dim", "source_head", "source_classes", "ranks",
        "extract_seconds", "score_seconds")}} for r in rows] + val_runs
    results = write_results(
        out, cfg.model_dump(mode="json"), runs, summary, command="rank",
        extra={"ranking": info, "agreement": agreements, "columns": columns, "figures": figures,
               "total_seconds": time.perf_counter() - start},
    )
    if is_main_process():
        results["report"] = _report(out, cfg, info, summary, columns, agreements, figures)
    return results


def _summary_row(r: dict, names: list[str]) -> dict:
    row = {k: r[k] for k in ("candidate", "backbone", "feature_dim", "source_head")}
    row.update({n: r["scores"][n] for n in names})
    row.update({f"rank_{n}": r["ranks"][n] for n in names})
    for k in ("accuracy_mean", "accuracy_std", "accuracy_rank", "seeds"):
        if k in r:
            row[k] = r[k]
    return row


def _figures(out: Path, rows: list[dict], names: list[str], validated: bool) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    labels = [r["candidate"] for r in rows]
    cols = min(len(names), 4)
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols + 0.4 * len(labels), 2.8 * nrows), squeeze=False)
    for ax, n in zip(axes.flat, names):
        vals = [r["scores"][n] for r in rows]
        best = max((x for x in vals if x is not None), default=None)
        ax.bar(labels, [x if x is not None else 0.0 for x in vals],
               color=["#2a9d8f" if x is not None and x == best else "#8ab0d0" if x is not None else "#dddddd"
                      for x in vals])
        ax.set_title(n, fontsize=9)
        ax.tick_params(axis="x", labelrotation=40, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Transferability score per candidate (higher = predicted to transfer better)", fontsize=10)
    fig.tight_layout()
    fig.savefig(fig_dir / "scores_per_candidate.png", dpi=120)
    plt.close(fig)
    files = ["figures/scores_per_candidate.png"]
    if validated:
        fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.8 * nrows), squeeze=False)
        for ax, n in zip(axes.flat, names):
            have = [r for r in rows if r["scores"][n] is not None]
            ax.scatter([r["scores"][n] for r in have], [r["accuracy_mean"] for r in have], color="#264653")
            for r in have:
                ax.annotate(r["candidate"], (r["scores"][n], r["accuracy_mean"]), fontsize=6)
            ax.set_xlabel(n, fontsize=8)
            ax.set_ylabel("fine-tuned accuracy", fontsize=8)
            ax.tick_params(labelsize=7)
        for ax in list(axes.flat)[len(names):]:
            ax.axis("off")
        fig.tight_layout()
        fig.savefig(fig_dir / "score_vs_accuracy.png", dpi=120)
        plt.close(fig)
        files.append("figures/score_vs_accuracy.png")
    return files


def _report(out: Path, cfg: RankConfig, info: dict, summary: list[dict], columns: list[str],
            agreements: list[dict], figures: list[str]) -> str:
    v = cfg.validation
    lines = [
        "# transferkit rank", "",
        f"Target: `{cfg.data.kind}` ({info['target']}, {info['target_samples']} labelled samples, "
        f"{info['target_classes']} classes; the held-out test split is not scored). "
        f"Candidates: {len(summary)}. Scores: {', '.join(info['scores'])} (higher = predicted to transfer "
        f"better); rows are ordered by `{info['primary_score']}`.",
        "",
    ]
    headless = [r["candidate"] for r in summary if not r["source_head"]]
    if headless and any(n in ("leep", "nce") for n in info["scores"]):
        lines += [f"LEEP and NCE need a source head; not computed for: {', '.join(headless)}.", ""]
    lines += [markdown_table(summary, columns), ""]
    ranks = ["candidate", *[f"rank_{n}" for n in info["scores"]]] + (["accuracy_rank"] if v else [])
    lines += ["Rank of each candidate by each score (1 = best):", "", markdown_table(summary, ranks), ""]
    if v is not None:
        lines += [
            f"## Validation: {v.strategy} fine-tuning, {v.labels_per_class} labels per class, seeds {list(v.seeds)}",
            "",
            "Accuracy on the held-out target test split, mean over seeds. Agreement of each score's ranking "
            "with the accuracies: weighted Kendall tau (scipy.stats.weightedtau, hyperbolic weights: the "
            "order among the best candidates counts most), Kendall tau, Pearson's r, and the top-1 regret "
            "(best accuracy minus the accuracy of the score's first choice; 0 = it picked the best).",
            "",
            markdown_table(agreements, ["score", "n", "weighted_tau", "kendall_tau", "pearson", "top1_regret",
                                        "top1_choice"]),
            "",
        ]
        if len(summary) < 5:
            lines += [f"With {len(summary)} candidates these statistics take only a few values; they are "
                      "indications, not evidence.", ""]
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text
