"""Means, confidence intervals and the transfer verdict against the scratch baseline.

A method's verdict compares it with the baseline *seed by seed* (the same seed draws the same
few-shot target split for both), using a paired t-test on the per-seed differences:

* ``positive transfer`` when the whole 95% interval of the mean difference is above 0,
* ``negative transfer`` when it is entirely below 0,
* ``no significant difference`` otherwise (including when fewer than 2 seeds ran).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

__all__ = ["MeanCI", "Verdict", "mean_ci", "paired_verdict", "POSITIVE", "NEGATIVE", "NO_DIFFERENCE"]

POSITIVE = "positive transfer"
NEGATIVE = "negative transfer"
NO_DIFFERENCE = "no significant difference"


@dataclass(frozen=True)
class MeanCI:
    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def mean_ci(values: Sequence[float], level: float = 0.95) -> MeanCI:
    """Mean, sample standard deviation and a Student-t confidence interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("mean_ci needs at least one value")
    m = float(x.mean())
    if x.size < 2:
        return MeanCI(m, 0.0, float("nan"), float("nan"), 1)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * sd / np.sqrt(x.size))
    return MeanCI(m, sd, m - half, m + half, int(x.size))


@dataclass(frozen=True)
class Verdict:
    verdict: str
    diff_mean: float
    diff_ci_low: float
    diff_ci_high: float
    p_value: float
    n_pairs: int

    def as_dict(self) -> dict:
        return asdict(self)


def paired_verdict(
    method: Mapping[int, float], baseline: Mapping[int, float], level: float = 0.95
) -> Verdict:
    """Verdict of ``method`` against ``baseline`` from per-seed scores (higher is better)."""
    seeds = sorted(set(method) & set(baseline))
    d = np.asarray([method[s] - baseline[s] for s in seeds], dtype=np.float64)
    if d.size == 0:
        raise ValueError("no common seeds between the method and the baseline")
    ci = mean_ci(d, level)
    if d.size < 2:
        return Verdict(NO_DIFFERENCE, ci.mean, float("nan"), float("nan"), float("nan"), 1)
    if ci.std == 0.0:  # identical differences: the sign decides, unless they are all zero
        verdict = NO_DIFFERENCE if ci.mean == 0 else (POSITIVE if ci.mean > 0 else NEGATIVE)
        return Verdict(verdict, ci.mean, ci.mean, ci.mean, 0.0 if ci.mean else 1.0, int(d.size))
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    if ci.ci_low > 0:
        verdict = POSITIVE
    elif ci.ci_high < 0:
        verdict = NEGATIVE
    else:
        verdict = NO_DIFFERENCE
    return Verdict(verdict, ci.mean, ci.ci_low, ci.ci_high, p, int(d.size))
