"""Summaries and verdicts, the same for every command.

Every command produces runs ``{"method", "seed", <group keys>, "metrics": {...}}``; a
summary row per (group, method) gives the metric's mean and interval over seeds and, against
each of the setting's baselines (scratch, source-only, single-task), the paired gain and a
verdict from :mod:`transferkit.experiments._verdicts`. The number of comparisons in the report
is passed to the verdict test, so the report as a whole keeps its error rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _verdicts as V
from ._results import markdown_table

__all__ = ["summarize", "verdict_columns", "write_report", "describe_rule", "load_samples", "save_samples"]


def save_samples(run_dir: Path, values: np.ndarray, name: str = "samples.npy") -> str:
    """Per-test-sample values of a run (1/0 correctness, negative squared error ...), kept
    beside its result so verdicts can use the finite test set's noise too (``name``: one file
    per budget when one run directory serves several)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / name
    np.save(path, np.asarray(values, np.float32))
    return path.name


def load_samples(runs_dir: Path, run: Mapping[str, Any]) -> np.ndarray | None:
    name = run.get("samples")
    if not name or "run_id" not in run:
        return None
    path = runs_dir / run["run_id"] / name
    return np.load(path) if path.exists() else None


def _group(run: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    return tuple(run.get(k) for k in keys)


def summarize(
    runs: Sequence[Mapping[str, Any]],
    *,
    metric: str,
    baselines: Sequence[str],
    group_keys: Sequence[str] = (),
    higher_is_better: bool = True,
    bounded: bool = True,
    rope: float = 0.01,
    runs_dir: Path | None = None,
    level: float = 0.95,
    pairs: Any = None,
) -> list[dict[str, Any]]:
    """One row per (group, method): mean, interval, and a verdict against each baseline
    (``pairs(method)`` names the baselines a method is judged against; default: all)."""
    def judged(method: str) -> list[str]:
        return [b for b in (pairs(method) if pairs is not None else baselines) if b != method]

    groups: dict[tuple, dict[str, list[Mapping[str, Any]]]] = {}
    for r in runs:
        if r.get("metrics", {}).get(metric) is None:
            continue
        groups.setdefault(_group(r, group_keys), {}).setdefault(r["method"], []).append(r)
    present = {m for g in groups.values() for m in g}
    n_comparisons = sum(
        1 for g in groups.values() for m in g for b in judged(m) if b in g and m not in baselines
    ) or 1
    rows = []
    def order(key: tuple) -> tuple:  # numbers as numbers (budgets 1, 5, 10, 50), then text
        return tuple((0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x)) for x in key)

    for gkey in sorted(groups, key=order):
        by_method = groups[gkey]
        order = [b for b in baselines if b in by_method] + sorted(m for m in by_method if m not in baselines)
        samples: dict[tuple[str, int], np.ndarray | None] = {}
        if runs_dir is not None:
            for m, rs in by_method.items():
                for r in rs:
                    samples[(m, r["seed"])] = load_samples(runs_dir, r)
        for method in order:
            rs = by_method[method]
            scores = {r["seed"]: float(r["metrics"][metric]) for r in rs}
            vals = list(scores.values())
            mi = V.mean_interval(vals, bounds=(0.0, 1.0) if bounded else None)
            low, high = mi.low, mi.high
            row: dict[str, Any] = dict(zip(group_keys, gkey))
            row.update({
                "method": method, f"{metric}_mean": float(np.mean(vals)),
                f"{metric}_std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                "ci95_low": low, "ci95_high": high, "seeds": len(vals),
                "train_seconds_mean": float(np.mean([r.get("train_seconds") or 0.0 for r in rs])),
                "trainable_params": rs[0].get("trainable_params"),
            })
            for extra in ("head", "note"):
                if rs[0].get(extra) is not None:
                    row[extra] = rs[0][extra]
            verdicts = {}
            for b in judged(method):
                if b not in by_method:
                    continue
                base = {r["seed"]: float(r["metrics"][metric]) for r in by_method[b]}
                ms = {s: samples.get((method, s)) for s in scores}
                bs = {s: samples.get((b, s)) for s in base}
                v = V.compare_to_baseline(
                    scores, base, rope=rope, higher_is_better=higher_is_better, n_comparisons=n_comparisons, level=level,
                    method_samples=ms if all(x is not None for x in ms.values()) else None,
                    baseline_samples=bs if all(x is not None for x in bs.values()) else None,
                )
                verdicts[b] = v
                row[f"gain_vs_{b}"] = v.diff_mean
                # a difference of two proportions lies in [-1, 1]: the interval is clipped there
                row[f"gain_vs_{b}_low"] = max(v.low, -1.0) if bounded else v.low
                row[f"gain_vs_{b}_high"] = min(v.high, 1.0) if bounded else v.high
                row[f"p_better_vs_{b}"] = v.p_better
                row[f"verdict_vs_{b}"] = v.verdict
                if v.seeds_needed:
                    row[f"seeds_needed_vs_{b}"] = v.seeds_needed
            if method in baselines:
                row["verdict"] = "baseline"
            elif verdicts:
                primary = next(b for b in baselines if b in verdicts)
                row["vs"] = primary
                row["gain"] = verdicts[primary].diff_mean
                row["verdict"] = verdicts[primary].verdict
                row["verdict_note"] = verdicts[primary].note
                better = [b for b, v in verdicts.items() if v.verdict == V.POSITIVE]
                worse = [b for b, v in verdicts.items() if v.verdict == V.NEGATIVE]
                if better and worse:
                    row["flag"] = f"beats {', '.join(better)} but loses to {', '.join(worse)}"
            rows.append(row)
    del present
    return rows


def verdict_columns(metric: str, baselines: Sequence[str], group_keys: Sequence[str] = ()) -> list[str]:
    cols = [*group_keys, "method", f"{metric}_mean", "ci95_low", "ci95_high"]
    for b in baselines:
        cols += [f"gain_vs_{b}", f"verdict_vs_{b}"]
    return cols + ["flag"]


def describe_rule(rope: float, baselines: Sequence[str], test_noise: bool = True) -> str:
    """The verdict rule in one paragraph, for every report (``test_noise=False``: the verdicts
    had no per-sample results, so their variance is the seeds' spread alone)."""
    test = ("with the correlated t-test of Corani & Benavoli (2015), whose variance adds the shared test set's "
            "noise (estimated from the per-sample results) to the seeds' spread" if test_noise else
            "with a paired t-test on the seeds' spread alone (no per-sample results: the shared test set's "
            "noise is not modelled)")
    return (
        f"Verdicts compare each method with {' and '.join(f'`{b}`' for b in baselines)} seed by seed (same seed, "
        f"same split, same test samples), {test}. "
        f"With a region of practical equivalence of ±{rope:g}: *positive* / *negative transfer* when "
        "the whole interval of the gain lies above +ROPE / below -ROPE, *practically equivalent* when it lies "
        "inside, *inconclusive* otherwise (with the number of seeds that would decide); *n/a* with one seed. "
        "The intervals are Bonferroni-adjusted over all comparisons of this report, so the chance of any "
        "wrong verdict in it is at most 5%."
    )


def _fmt_protocol(transductive: bool | None) -> str:
    if transductive is None:
        return ""
    if transductive:
        return ("Evaluation protocol: **transductive** — the target test samples are the unlabelled "
                "target samples the methods adapted to (their labels were never used in training).")
    return "Evaluation protocol: a held-out target test split, never seen in training."


def write_report(out: Path, title: str, intro: Sequence[str], summary: Sequence[Mapping[str, Any]],
                 columns: Sequence[str], figures: Sequence[str], *, rope: float, baselines: Sequence[str],
                 transductive: bool | None = None, extra: Sequence[str] = (), test_noise: bool = True) -> str:
    """``report.md``: the setting, the protocol, the verdict rule, the table, the figures."""
    cols = [c for c in columns if any(r.get(c) is not None for r in summary)]
    lines = [f"# {title}", "", *intro, ""]
    protocol = _fmt_protocol(transductive)
    if protocol:
        lines += [protocol, ""]
    lines += [describe_rule(rope=rope, baselines=baselines, test_noise=test_noise), "", markdown_table(summary, cols), ""]
    rows = [r for r in summary if r.get("verdict") not in (None, "baseline")]
    if rows:
        counts = {v: sum(r["verdict"] == v for r in rows) for v in dict.fromkeys(r["verdict"] for r in rows)}
        lines += ["Verdicts against " + (baselines[0] if len(baselines) == 1 else "each method's first baseline") + ": "
                  + ", ".join(f"{v} ({n})" for v, n in counts.items()) + ".", ""]
        undecided = [r for r in rows if r["verdict"] == V.INCONCLUSIVE and r.get(f"seeds_needed_vs_{baselines[0]}")]
        if undecided:
            need = max(int(r[f"seeds_needed_vs_{baselines[0]}"]) for r in undecided)
            lines += [f"{len(undecided)} comparison(s) are inconclusive; about {need} seeds would decide an "
                      "effect of the observed size (or set `trainer.seeds: auto`).", ""]
        if not any(r["verdict"] == V.POSITIVE for r in rows):
            lines += [f"**No method transferred significantly better than {baselines[0]}.** The source may be "
                      "unrelated to the target, or the runs too few to tell (see the verdicts).", ""]
        negatives = sorted({r["method"] for r in rows if r["verdict"] == V.NEGATIVE})
        if negatives:
            lines += [f"**Negative transfer**: {', '.join(negatives)} did worse than {baselines[0]}.", ""]
        flagged = [r for r in rows if r.get("flag")]
        for r in flagged:
            lines.append(f"- **{r['method']}**: {r['flag']}.")
        if flagged:
            lines.append("")
    lines += list(extra)
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
