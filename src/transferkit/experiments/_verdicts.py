"""Provisional verdict module (replaced by the full statistics module)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

POSITIVE = "positive transfer"
NEGATIVE = "negative transfer"
EQUIVALENT = "practically equivalent"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Verdict:
    verdict: str
    diff_mean: float
    diff_low: float
    diff_high: float
    n_seeds: int
    seeds_needed: int | None = None
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def mean_interval(values, level=0.95, bounds=None):
    x = np.asarray(values, float)
    if x.size < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    lo, hi = x.mean() - half, x.mean() + half
    if bounds is not None:
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return float(lo), float(hi)


def compare_to_baseline(method, baseline, *, rope=0.01, higher_is_better=True, level=0.95, n_comparisons=1,
                        method_samples=None, baseline_samples=None, rng=0):
    seeds = sorted(set(method) & set(baseline))
    d = np.asarray([method[s] - baseline[s] for s in seeds]) * (1 if higher_is_better else -1)
    if d.size < 2:
        return Verdict(f"n/a: {d.size} seed", float(d.mean()), float("nan"), float("nan"), int(d.size))
    lo, hi = mean_interval(d, 1 - (1 - level) / n_comparisons)
    if lo > rope:
        v = POSITIVE
    elif hi < -rope:
        v = NEGATIVE
    elif -rope <= lo and hi <= rope:
        v = EQUIVALENT
    else:
        v = INCONCLUSIVE
    return Verdict(v, float(d.mean()), lo, hi, int(d.size))


def describe_rule(rope: float, baselines) -> str:
    return f"Verdicts against {', '.join(baselines)} with a region of practical equivalence of ±{rope:g}."
