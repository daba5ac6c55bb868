"""Verdicts that tell *helped*, *hurt*, *no practical difference* and *not enough evidence* apart.

A method is compared with a baseline (scratch, source-only, single-task) seed by seed: the same
seed draws the same split for both, so the per-seed differences ``d_s = method_s - baseline_s``
are paired. Two sources of noise make ``mean(d)`` differ from the true difference ``delta``:

* **training randomness** across seeds (initialisation, batch order, the few-shot split), seen in
  the spread of ``d_s`` over seeds;
* **the finite test set**: every seed is scored on the same held-out samples, so the test set's
  own luck is *shared* by all seeds and never shows in that spread (Bouthillier et al. 2021,
  "Accounting for variance in machine learning benchmarks", MLSys).

The posterior of ``delta`` is the Bayesian correlated t-test of Corani & Benavoli (2015, "A
Bayesian approach for comparing cross-validated algorithms on multiple data sets", Machine
Learning 100) as presented by Benavoli, Corani, Demšar & Zaffalon (2017, "Time for a change: a
tutorial for comparing multiple classifiers through Bayesian analysis", JMLR 18(77), sec. 3.1):
a Student t with ``n - 1`` degrees of freedom, location ``mean(d)`` and squared scale
``s**2 * (1/n + rho/(1-rho))``, where ``rho`` is the correlation between the seeds' differences.
Here ``rho`` comes from the shared test set and is *estimated* from per-test-sample values by
a two-way (seeds x test samples) variance decomposition (see :func:`_variance_components`), so
the squared scale is ``seed_var / n + test_var``; as its test-set part is estimated from the N
test samples rather than from the n seeds, the degrees of freedom are Welch-Satterthwaite's
(``n - 1`` exactly without per-sample values). With a flat prior the posterior interval is
also the frequentist t interval, so the error rates below are frequentist statements
(approximate where Satterthwaite's approximation is; benchmarks/verdict_calibration.py
measures them).

Decision rule with a region of practical equivalence (ROPE, Benavoli et al. 2017 sec. 3.2;
Kruschke 2018, "Rejecting or accepting parameter values in Bayesian estimation", AMPPS 1(2)),
on the central interval at ``level`` (Bonferroni-adjusted for ``n_comparisons``):

* ``positive transfer`` when the whole interval lies above ``+rope``;
* ``negative transfer`` when it lies below ``-rope``;
* ``practically equivalent`` when it lies inside ``[-rope, rope]``;
* ``inconclusive`` otherwise, with ``seeds_needed`` saying about how many seeds would decide;
* ``n/a: 1 seed`` with a single seed: training randomness is then unmeasured.

A wrong verdict of any kind implies that the interval misses the true difference, so with
Bonferroni intervals the probability of *any* wrong verdict in a family of comparisons is at
most ``1 - level`` (family-wise error rate). Pure numpy/scipy: the command line imports this
module before it decides to train.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import special, stats

from ..exceptions import ConfigError, DataError

__all__ = [
    "POSITIVE",
    "NEGATIVE",
    "EQUIVALENT",
    "INCONCLUSIVE",
    "NOT_APPLICABLE",
    "DECIDED",
    "Comparison",
    "MeanInterval",
    "SequentialPlan",
    "Verdict",
    "adjust_verdicts",
    "compare_to_baseline",
    "correlated_t_posterior",
    "mean_interval",
    "proportion_interval",
]

POSITIVE = "positive transfer"
NEGATIVE = "negative transfer"
EQUIVALENT = "practically equivalent"
INCONCLUSIVE = "inconclusive"
NOT_APPLICABLE = "n/a: 1 seed"
DECIDED = frozenset({POSITIVE, NEGATIVE, EQUIVALENT})
"""The verdicts that settle a comparison (a sequential plan stops adding seeds on these)."""

METHOD_NAME = "correlated t-test with ROPE (Corani & Benavoli 2015)"
_POWER = 0.8  # power at which ``seeds_needed`` is computed
_MAX_SEEDS_NEEDED = 10_000
_SAMPLE_MEAN_ATOL = 1e-5
_SPREAD_RTOL = 1e-9


def _check_level(level: float, name: str = "level") -> None:
    if not 0.0 < level < 1.0:
        raise ConfigError(f"{name} must be in (0, 1), got {level}")


# --------------------------------------------------------------------------------------------
# intervals for one quantity
# --------------------------------------------------------------------------------------------


def proportion_interval(
    k: int, n: int, level: float = 0.95, method: Literal["wilson", "clopper-pearson"] = "wilson"
) -> tuple[float, float]:
    """Confidence interval of a proportion ``k / n`` (e.g. an accuracy on ``n`` test samples).

    ``"wilson"``: the score interval of Wilson (1927, JASA 22(158)), recommended by Brown, Cai &
    DasGupta (2001, "Interval estimation for a binomial proportion", Statistical Science 16(2));
    ``"clopper-pearson"``: the exact interval from Beta quantiles (Clopper & Pearson 1934,
    Biometrika 26(4)), conservative. Both always lie inside ``[0, 1]``.
    """
    _check_level(level)
    if n <= 0 or not 0 <= k <= n:
        raise DataError(f"proportion_interval needs 0 <= k <= n and n > 0, got k={k}, n={n}")
    alpha = 1.0 - level
    if method == "wilson":
        z = float(stats.norm.ppf(1.0 - alpha / 2))
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        # at k = 0 (k = n) the bound is exactly 0 (1); set it so rounding cannot move it
        low = 0.0 if k == 0 else max(0.0, centre - half)
        high = 1.0 if k == n else min(1.0, centre + half)
        return low, high
    if method == "clopper-pearson":
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        return low, high
    raise ConfigError(f"method must be 'wilson' or 'clopper-pearson', got {method!r}")


@dataclass(frozen=True)
class MeanInterval:
    """Mean of per-seed values with a Student-t interval (``low``/``high`` NaN for one value)."""

    mean: float
    std: float
    low: float
    high: float
    n: int
    level: float
    clipped: bool
    """True when the t interval crossed ``bounds`` and was clipped to them."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mean_interval(
    values: Sequence[float], level: float = 0.95, bounds: tuple[float, float] | None = (0.0, 1.0)
) -> MeanInterval:
    """Mean over seeds of a metric with a Student-t interval that never leaves ``bounds``.

    The interval is ``mean +- t_{level, n-1} * sd / sqrt(n)``, clipped to ``bounds`` (an
    accuracy's ``(0, 1)`` by default; ``None`` for an unbounded metric). Clipping keeps the
    coverage of the t interval: the true mean lies inside ``bounds``, so no interval that
    covered it loses it. ``clipped`` records that it happened, for the report to say so.
    """
    _check_level(level)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise DataError(f"mean_interval needs a non-empty 1-D list of values, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DataError("mean_interval got a NaN or infinite value")
    m = float(x.mean())
    if bounds is not None and not bounds[0] <= m <= bounds[1]:
        raise DataError(f"values average {m} outside bounds {bounds}")
    if x.size < 2:
        return MeanInterval(m, 0.0, math.nan, math.nan, 1, level, False)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * sd / math.sqrt(x.size)
    low, high = m - half, m + half
    clipped = False
    if bounds is not None and (low < bounds[0] or high > bounds[1]):
        low, high, clipped = max(low, bounds[0]), min(high, bounds[1]), True
    return MeanInterval(m, sd, low, high, int(x.size), level, clipped)


# --------------------------------------------------------------------------------------------
# the comparison with a baseline
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing a method with a baseline.

    ``diff_mean``, ``low`` and ``high`` are in the metric's units as ``method - baseline``;
    ``p_better``/``p_rope``/``p_worse`` are posterior probabilities that the method is better
    than the baseline by more than ``rope``, within ``rope``, or worse by more than ``rope``
    ("better" follows ``higher_is_better``). ``p_decision`` is the smallest ``1 - level`` at
    which a verdict would have been reached (what Holm's procedure sorts on).
    """

    verdict: str
    diff_mean: float
    low: float
    high: float
    level: float
    rope: float
    p_better: float
    p_rope: float
    p_worse: float
    p_decision: float
    n_seeds: int
    method: str
    seeds_needed: int | None
    note: str
    test_set_share: float = 0.0
    """Estimated share of the interval's variance due to the shared test set (``rho``)."""

    @property
    def decided(self) -> bool:
        return self.verdict in DECIDED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """The inputs of one comparison, for :func:`adjust_verdicts` (see :func:`compare_to_baseline`)."""

    method: Mapping[int, float]
    baseline: Mapping[int, float]
    rope: float = 0.01
    higher_is_better: bool = True
    method_samples: Mapping[int, Any] | None = field(default=None, repr=False)
    baseline_samples: Mapping[int, Any] | None = field(default=None, repr=False)
    shared_test_set: bool = True


def correlated_t_posterior(diffs: Sequence[float], rho: float = 0.0) -> Any:
    """Posterior of the mean difference under the Bayesian correlated t-test.

    Student t with ``n - 1`` degrees of freedom, location ``mean(diffs)`` and scale
    ``sqrt(s**2 * (1/n + rho/(1-rho)))``, ``s`` the sample standard deviation (Corani & Benavoli
    2015; Benavoli et al. 2017, JMLR 18(77), eq. 5; ``rho = 1/k`` gives Nadeau & Bengio's 2003
    correction for k-fold cross-validation). ``rho = 0`` is the ordinary paired t posterior.
    Returns a frozen ``scipy.stats.t`` distribution.
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise DataError(f"correlated_t_posterior needs at least 2 differences, got shape {d.shape}")
    if not 0.0 <= rho < 1.0:
        raise ConfigError(f"rho must be in [0, 1), got {rho}")
    scale = math.sqrt(float(d.var(ddof=1)) * (1.0 / d.size + rho / (1.0 - rho)))
    return stats.t(df=d.size - 1, loc=float(d.mean()), scale=scale)


def _sample_matrix(
    seeds: Sequence[int],
    method: Mapping[int, float],
    baseline: Mapping[int, float],
    method_samples: Mapping[int, Any],
    baseline_samples: Mapping[int, Any],
) -> list[np.ndarray]:
    """Per-seed arrays of per-test-sample differences, checked against the per-seed metrics."""
    rows = []
    for s in seeds:
        if s not in method_samples or s not in baseline_samples:
            raise DataError(f"per-sample values are missing for seed {s}")
        a = np.asarray(method_samples[s], dtype=np.float64)
        b = np.asarray(baseline_samples[s], dtype=np.float64)
        if a.ndim != 1 or a.shape != b.shape or a.size == 0:
            raise DataError(
                f"seed {s}: method and baseline per-sample values must be 1-D arrays of one length "
                f"(paired test samples), got shapes {a.shape} and {b.shape}"
            )
        for name, arr, metric in (("method", a, method[s]), ("baseline", b, baseline[s])):
            if not math.isclose(
                float(arr.mean()), float(metric), rel_tol=0.0, abs_tol=_SAMPLE_MEAN_ATOL
            ):
                raise DataError(
                    f"seed {s}: the {name}'s per-sample values average {arr.mean():.6g} but its "
                    f"metric is {metric:.6g}; per-sample values must average to the metric"
                )
        rows.append(a - b)
    return rows


def _dof(n: int, seed_var: float, test_var: float, test_dof: float) -> float:
    """Welch-Satterthwaite degrees of freedom of ``seed_var / n + test_var``.

    ``(A + B)^2 / (A^2 / (n - 1) + B^2 / test_dof)`` with ``A = seed_var / n`` estimated on
    ``n - 1`` and ``B = test_var`` on ``test_dof`` degrees of freedom (Satterthwaite 1946,
    Biometrics Bulletin 2(6); Welch 1947, Biometrika 34). ``n - 1`` when ``B = 0``: the
    correlated t-test's own degrees of freedom.
    """
    a, b = seed_var / n, test_var
    if b <= 0.0:
        return float(n - 1)
    return (a + b) ** 2 / (a * a / (n - 1) + b * b / test_dof)


def _variance_components(
    d: np.ndarray, rows: list[np.ndarray] | None, shared_test_set: bool
) -> tuple[float, float]:
    """``(seed_var, test_var)`` with ``Var(mean d) ~ seed_var / n + test_var``.

    Two-way random-effects model of the per-sample differences ``e[s, i] = delta + a_s + b_i +
    c_si`` (seed effect ``a``, test-sample effect ``b``, interaction ``c``):
    ``Var(mean d) = (sigma_a^2 + sigma_c^2/N) / n + sigma_b^2 / N``. The first part is estimated
    by the spread of the per-seed differences, ``s^2 / n``, floored at its interaction part
    ``sigma_c^2 / (N n)``, so that seeds that happen to agree never make the interval vanish;
    the second (the shared test set's luck, identical on every seed) by the two-way ANOVA
    estimate ``sigma_b^2 = var_i(mean_s e[s, i]) - sigma_c^2 / n`` (Searle, Casella & McCulloch
    1992, "Variance Components", ch. 4; the same algebra as the two-way clustered variance of
    Cameron, Gelbach & Miller 2011, JBES 29(2)). When the test set differs between seeds, its
    luck is already part of the spread over seeds: the floor is then the mean within-seed
    variance of the mean, and there is no shared part.
    """
    n = d.size
    s2 = float(d.var(ddof=1)) if n >= 2 else 0.0
    if np.ptp(d) <= _SPREAD_RTOL * max(1.0, float(np.abs(d).max())):
        s2 = 0.0  # equal up to rounding (0.60 - 0.55 vs 0.50 - 0.45): no spread, not a tiny one
    if rows is None:
        return s2, 0.0
    if not shared_test_set:
        within = float(np.mean([r.var(ddof=1) / r.size if r.size > 1 else 0.0 for r in rows]))
        return max(s2, within), 0.0
    lengths = {r.size for r in rows}
    if len(lengths) != 1:
        raise DataError(
            f"shared_test_set=True but the seeds' per-sample arrays have different lengths {sorted(lengths)}"
        )
    e = np.vstack(rows)
    n_test = e.shape[1]
    if n_test < 2:
        return s2, 0.0
    if n < 2:
        return s2, 0.0
    col = e.mean(axis=0)
    resid = e - e.mean(axis=1, keepdims=True) - col[None, :] + e.mean()
    sigma_c2 = float((resid**2).sum()) / ((n - 1) * (n_test - 1))
    sigma_b2 = max(0.0, float(col.var(ddof=1)) - sigma_c2 / n)
    return max(s2, sigma_c2 / n_test), sigma_b2 / n_test


def _seeds_needed(
    margin: float, seed_var: float, test_var: float, test_dof: float, alpha: float, n_now: int
) -> int | None:
    """Smallest ``n > n_now`` with ``(t_{1-alpha/2,df} + t_{power,df}) * sqrt(seed_var/n + test_var) <= margin``.

    ``df`` is :func:`_dof` at ``n`` seeds (``n - 1`` without a shared test set).

    The usual precision/power calculation for a t interval (e.g. Julious 2004, "Sample sizes for
    clinical trials with normal data", Stat. Med. 23(12)) at the observed mean and variances,
    with power 0.8; ``None`` when more seeds alone cannot reach it because the shared test
    set's variance ``test_var`` already exceeds the margin.
    """
    if margin <= 0.0:
        return None
    lo, hi = n_now + 1, _MAX_SEEDS_NEEDED

    def ok(n: int) -> bool:
        df = _dof(n, seed_var, test_var, test_dof)
        q = float(special.stdtrit(df, 1 - alpha / 2) + special.stdtrit(df, _POWER))
        return q * math.sqrt(seed_var / n + test_var) <= margin

    if not ok(hi):
        return None
    while lo < hi:  # the left side decreases with n: bisect
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def compare_to_baseline(
    method: Mapping[int, float],
    baseline: Mapping[int, float],
    *,
    rope: float = 0.01,
    higher_is_better: bool = True,
    level: float = 0.95,
    n_comparisons: int = 1,
    method_samples: Mapping[int, Any] | None = None,
    baseline_samples: Mapping[int, Any] | None = None,
    shared_test_set: bool = True,
) -> Verdict:
    """Verdict of ``method`` against ``baseline`` from per-seed metrics, paired by seed.

    Args:
        method, baseline: seed -> metric value; only the seeds present in both are used.
        rope: half-width of the region of practical equivalence, in the metric's units (0.01 =
            one accuracy point). Differences smaller than this are "practically equivalent".
        higher_is_better: False for losses and errors.
        level: interval level before the Bonferroni adjustment (``1 - family-wise error``).
        n_comparisons: size of the family of comparisons in one report; the interval level
            becomes ``1 - (1 - level) / n_comparisons`` (Bonferroni).
        method_samples, baseline_samples: optional seed -> 1-D array of per-test-sample values
            whose mean is the metric (1/0 correctness for accuracy, minus squared error...),
            the same test samples in the same order for both. They measure the test set's
            share of the noise (see :func:`_variance_components`).
        shared_test_set: True when every seed is scored on the same test samples (then the
            test set's luck is common to all seeds and added to the variance).

    With one seed the verdict is ``n/a: 1 seed``; with per-sample values its note still says
    whether that seed's two models differ beyond test-set noise.
    """
    _check_level(level)
    if rope < 0 or not math.isfinite(rope):
        raise ConfigError(f"rope must be >= 0, got {rope}")
    if int(n_comparisons) != n_comparisons or n_comparisons < 1:
        raise ConfigError(f"n_comparisons must be a positive integer, got {n_comparisons}")
    if (method_samples is None) != (baseline_samples is None):
        raise ConfigError("method_samples and baseline_samples must be given together")
    seeds = sorted(set(method) & set(baseline))
    if not seeds:
        raise DataError(
            f"no common seeds between the method (seeds {sorted(method)}) and the baseline (seeds {sorted(baseline)})"
        )
    sign = 1.0 if higher_is_better else -1.0
    d = np.asarray([method[s] - baseline[s] for s in seeds], dtype=np.float64)
    if not np.all(np.isfinite(d)):
        raise DataError("a per-seed metric is NaN or infinite")
    rows = None
    if method_samples is not None and baseline_samples is not None:
        rows = _sample_matrix(seeds, method, baseline, method_samples, baseline_samples)
    n = d.size
    alpha = (1.0 - level) / n_comparisons
    adj_level = 1.0 - alpha
    mean = float(d.mean())
    nan = math.nan
    seed_var, test_var = _variance_components(d, rows, shared_test_set)
    test_dof = float(rows[0].size - 1) if rows is not None and rows[0].size > 1 else 1.0
    base = dict(diff_mean=mean, level=adj_level, rope=rope, n_seeds=n, method=METHOD_NAME)

    if n < 2:
        note = "one seed: training randomness is unmeasured; run at least 2 seeds"
        one_var = (
            float(rows[0].var(ddof=1)) / rows[0].size
            if rows is not None and rows[0].size > 1
            else 0.0
        )
        if one_var > 0:
            half = float(stats.t.ppf(1 - alpha / 2, rows[0].size - 1)) * math.sqrt(one_var)
            beyond = "differ" if abs(mean) > half else "do not differ"
            note += (
                f" (this seed's two models {beyond} beyond test-set noise: "
                f"{mean:+.4f}, interval [{mean - half:+.4f}, {mean + half:+.4f}])"
            )
        return Verdict(
            NOT_APPLICABLE,
            low=nan,
            high=nan,
            p_better=nan,
            p_rope=nan,
            p_worse=nan,
            p_decision=nan,
            seeds_needed=None,
            note=note,
            **base,
        )

    var_mean = seed_var / n + test_var
    if var_mean <= 0.0:
        if rows is not None:
            what, hint = (
                "identical per-sample differences",
                "check that the two runs are not the same model",
            )
        else:
            what, hint = (
                "identical per-seed differences",
                "give per-sample values or vary the seeds",
            )
        return Verdict(
            INCONCLUSIVE,
            low=mean,
            high=mean,
            p_better=nan,
            p_rope=nan,
            p_worse=nan,
            p_decision=1.0,
            seeds_needed=None,
            note=(
                f"{what} on all {n} seeds (spread 0): a zero spread measures nothing, so it is no "
                f"evidence by itself; {hint}"
            ),
            **base,
        )
    rho = test_var / (test_var + seed_var) if seed_var > 0 else 1.0
    # the gain's posterior: Student t, location sign * mean, scale sqrt(var_mean), df below
    gain, scale = sign * mean, math.sqrt(var_mean)
    df = _dof(n, seed_var, test_var, test_dof)
    f_lo = float(special.stdtr(df, (-rope - gain) / scale))
    f_hi = float(special.stdtr(df, (rope - gain) / scale))
    p_better, p_rope, p_worse = 1.0 - f_hi, f_hi - f_lo, f_lo
    half = float(special.stdtrit(df, 1 - alpha / 2)) * scale
    g_low, g_high = gain - half, gain + half
    if g_low > rope:
        verdict = POSITIVE
    elif g_high < -rope:
        verdict = NEGATIVE
    elif g_low >= -rope and g_high <= rope:
        verdict = EQUIVALENT
    else:
        verdict = INCONCLUSIVE
    p_decision = min(1.0, 2.0 * min(f_hi, 1.0 - f_lo, max(f_lo, 1.0 - f_hi)))
    low, high = (g_low, g_high) if sign > 0 else (-g_high, -g_low)
    needed = None
    if verdict == INCONCLUSIVE:
        margin = abs(abs(gain) - rope)
        needed = _seeds_needed(margin, seed_var, test_var, test_dof, alpha, n)
        target = "equivalence" if abs(gain) < rope else ("a gain" if gain > 0 else "a loss")
        if needed is None:
            why = (
                "the observed difference sits on the ROPE boundary"
                if margin == 0
                else "the shared test set's noise alone exceeds the margin: a larger test set would"
            )
            note = f"inconclusive: more seeds alone cannot decide ({why})"
        else:
            note = (
                f"inconclusive: about {needed} seeds would show {target} of {abs(gain):.4f} "
                f"(margin {margin:.4f} to the ROPE) with 80% power"
            )
    else:
        note = f"{verdict}: {adj_level:.4g} interval [{low:+.4f}, {high:+.4f}] vs ROPE +-{rope:g}"
    if rho > 0:
        note += f"; shared test set: {100 * rho:.0f}% of the variance"
    return Verdict(
        verdict,
        low=low,
        high=high,
        p_better=p_better,
        p_rope=p_rope,
        p_worse=p_worse,
        p_decision=p_decision,
        seeds_needed=needed,
        note=note,
        test_set_share=rho,
        **base,
    )


def _compare(c: Comparison, level: float, n_comparisons: int = 1) -> Verdict:
    return compare_to_baseline(
        c.method,
        c.baseline,
        rope=c.rope,
        higher_is_better=c.higher_is_better,
        level=level,
        n_comparisons=n_comparisons,
        method_samples=c.method_samples,
        baseline_samples=c.baseline_samples,
        shared_test_set=c.shared_test_set,
    )


def adjust_verdicts(
    comparisons: Sequence[Comparison],
    *,
    level: float = 0.95,
    method: Literal["bonferroni", "holm", "none"] = "bonferroni",
) -> list[Verdict]:
    """Verdicts for a family of comparisons (one report) with family-wise error control.

    ``"bonferroni"``: every interval at level ``1 - (1 - level) / m``. Any wrong verdict
    (positive, negative or equivalent) needs its interval to miss the true difference, so the
    probability of at least one wrong verdict is at most ``1 - level`` whatever the dependence
    between comparisons. ``"holm"``: Holm's step-down (1979, Scand. J. Statist. 6(2)) on
    ``p_decision``: the comparison with the k-th smallest p (k = 1..m) is decided at level
    ``1 - (1 - level) / (m - k + 1)`` while each before it was decided; the rest are reported
    at the last level tried. Holm's guarantee covers the claims "differs from the baseline by
    more than the ROPE"; for which direction or for equivalence it has no general proof
    (Shaffer 1980, Ann. Statist. 8(6), proves the directional case for independent tests), so
    it is offered for its power, with Bonferroni the default. ``"none"``: no adjustment.
    Verdicts are returned in the order of ``comparisons``.
    """
    _check_level(level)
    m = len(comparisons)
    if m == 0:
        return []
    if method == "none":
        return [_compare(c, level) for c in comparisons]
    if method == "bonferroni":
        return [_compare(c, level, m) for c in comparisons]
    if method != "holm":
        raise ConfigError(f"method must be 'bonferroni', 'holm' or 'none', got {method!r}")
    alpha = 1.0 - level
    raw = [_compare(c, level) for c in comparisons]
    order = sorted(range(m), key=lambda j: (math.isnan(raw[j].p_decision), raw[j].p_decision))
    out: list[Verdict | None] = [None] * m
    for k, j in enumerate(order):
        step_level = 1.0 - alpha / (m - k)
        v = _compare(comparisons[j], step_level)
        out[j] = v
        if not v.decided:  # stop: the remaining ones are reported at this step's level
            for j2 in order[k + 1 :]:
                out[j2] = _compare(comparisons[j2], step_level)
            break
    return [v for v in out if v is not None]


# --------------------------------------------------------------------------------------------
# adding seeds until the verdicts are decided
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialPlan:
    """A pre-declared rule for ``trainer.seeds: auto``: add seeds until every verdict is decided.

    Verdicts are looked at only when the number of seeds reaches one of ``looks`` (increasing,
    the first >= 2, the last the cap). Each look's intervals use ``look_level(level)`` =
    ``1 - (1 - level) / len(looks)``: alpha spent evenly over the planned looks (Bonferroni over
    looks, the simplest alpha-spending plan; Pocock 1977, Biometrika 64(2), and O'Brien & Fleming
    1979, Biometrics 35(3), give tighter boundaries under normality). A wrong verdict at some
    look needs some look's interval to miss the truth, so stopping at the first look where all
    verdicts are decided, or at the cap, keeps the error at most ``1 - level`` per comparison
    (with Bonferroni over the family too, per report). Verdicts computed at other seed counts
    must not be used to stop.

    Usage by an executor::

        plan = SequentialPlan.from_range(3, 10)
        verdicts = []
        while (k := plan.next_batch(n_done, verdicts)):
            run k more seeds for every method; n_done += k
            verdicts = adjust_verdicts(comparisons, level=plan.look_level(0.95))
    """

    looks: tuple[int, ...] = (3, 5, 10)

    def __post_init__(self) -> None:
        looks = tuple(self.looks)
        if not looks or any(int(v) != v for v in looks):
            raise ConfigError(f"looks must be a non-empty list of seed counts, got {self.looks}")
        if looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:])):
            raise ConfigError(
                f"looks must be increasing seed counts starting at >= 2, got {list(looks)}"
            )
        object.__setattr__(self, "looks", tuple(int(v) for v in looks))

    @classmethod
    def from_range(
        cls, min_seeds: int = 3, max_seeds: int = 10, n_looks: int = 3
    ) -> SequentialPlan:
        """Looks spaced geometrically from ``min_seeds`` to ``max_seeds`` (``(3, 5, 10)`` by default)."""
        if min_seeds < 2:
            raise ConfigError(f"min_seeds must be >= 2, got {min_seeds}")
        if max_seeds < min_seeds:
            raise ConfigError(f"max_seeds must be >= min_seeds ({min_seeds}), got {max_seeds}")
        if n_looks < 1:
            raise ConfigError(f"n_looks must be >= 1, got {n_looks}")
        if n_looks == 1 or max_seeds == min_seeds:
            return cls((max_seeds,))
        raw = np.geomspace(min_seeds, max_seeds, n_looks)
        return cls(tuple(sorted({int(round(v)) for v in raw})))

    @property
    def min_seeds(self) -> int:
        return self.looks[0]

    @property
    def max_seeds(self) -> int:
        return self.looks[-1]

    def look_level(self, level: float = 0.95) -> float:
        """The interval level to use at every look."""
        _check_level(level)
        return 1.0 - (1.0 - level) / len(self.looks)

    def decided(self, verdicts: Sequence[Verdict]) -> bool:
        """True when every verdict settles its comparison."""
        return bool(verdicts) and all(v.verdict in DECIDED for v in verdicts)

    def next_batch(self, n_done: int, verdicts: Sequence[Verdict] = ()) -> int:
        """How many seeds to add now (0: stop). ``verdicts`` are those computed at ``n_done`` seeds."""
        if n_done < 0:
            raise ConfigError(f"n_done must be >= 0, got {n_done}")
        if n_done < self.looks[0]:
            return self.looks[0] - n_done
        if n_done >= self.looks[-1] or self.decided(verdicts):
            return 0
        return next(v for v in self.looks if v > n_done) - n_done
