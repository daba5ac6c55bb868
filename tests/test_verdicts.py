"""Verdicts against a baseline: the four outcomes, references, intervals, seeds and looks."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from transferkit.exceptions import ConfigError, DataError
from transferkit.experiments import _verdicts as V
from transferkit.experiments._verdicts import (
    EQUIVALENT,
    INCONCLUSIVE,
    NEGATIVE,
    NOT_APPLICABLE,
    POSITIVE,
    Comparison,
    SequentialPlan,
    adjust_verdicts,
    compare_to_baseline,
    correlated_t_posterior,
    mean_interval,
    proportion_interval,
)


def _pair(diffs, base=0.5):
    """Per-seed metrics whose differences are ``diffs``."""
    return {s: base + d for s, d in enumerate(diffs)}, {s: base for s in range(len(diffs))}


# ------------------------------------------------------------------ the four verdicts and n/a


def test_clear_gain_is_positive_and_clear_loss_negative():
    m, b = _pair([0.10, 0.11, 0.095, 0.105])
    v = compare_to_baseline(m, b)
    assert v.verdict == POSITIVE and v.low > 0.01 and v.p_better > 0.975
    v = compare_to_baseline(b, m)
    assert v.verdict == NEGATIVE and v.high < -0.01 and v.p_worse > 0.975


def test_tiny_differences_with_small_spread_are_practically_equivalent():
    m, b = _pair([0.001, -0.001, 0.0005, 0.0, -0.0005, 0.001, -0.001, 0.0])
    v = compare_to_baseline(m, b, rope=0.01)
    assert v.verdict == EQUIVALENT
    assert -0.01 <= v.low <= v.high <= 0.01 and v.p_rope > 0.95


def test_noisy_differences_are_inconclusive_with_a_seed_estimate():
    m, b = _pair([0.05, -0.02, 0.03])
    v = compare_to_baseline(m, b)
    assert v.verdict == INCONCLUSIVE and v.low < 0.01 < v.high
    assert v.seeds_needed is not None and v.seeds_needed > 3
    assert "seeds" in v.note


def test_one_seed_is_not_applicable_even_for_a_large_gain():
    v = compare_to_baseline({0: 0.73}, {0: 0.50})
    assert v.verdict == NOT_APPLICABLE and v.n_seeds == 1 and math.isnan(v.low)
    assert v.diff_mean == pytest.approx(0.23)


def test_one_seed_with_per_sample_values_says_whether_the_models_differ_beyond_test_noise():
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.9).astype(float)
    b = a.copy()
    b[:80] = 0.0  # the baseline misses 80 more samples than the method
    v = compare_to_baseline(
        {0: a.mean()}, {0: b.mean()}, method_samples={0: a}, baseline_samples={0: b}
    )
    assert v.verdict == NOT_APPLICABLE and "differ beyond test-set noise" in v.note


def test_lower_is_better_turns_a_lower_loss_into_a_gain():
    m, b = _pair([-0.10, -0.11, -0.095, -0.105], base=1.0)
    v = compare_to_baseline(m, b, higher_is_better=False)
    assert v.verdict == POSITIVE
    assert v.high < -0.01 and v.diff_mean < 0  # reported in the metric's own units


def test_only_common_seeds_are_paired():
    v = compare_to_baseline({0: 0.8, 1: 0.81, 2: 0.82, 9: 0.1}, {0: 0.7, 1: 0.7, 2: 0.71, 5: 0.9})
    assert v.n_seeds == 3


# ------------------------------------------------------------------ zero spread is no evidence


@pytest.mark.parametrize("diffs", [[0.05, 0.05], [0.6 - 0.55, 0.5 - 0.45], [0.0, 0.0, 0.0]])
def test_identical_differences_are_never_significant_by_themselves(diffs):
    m = {0: 0.6, 1: 0.5, 2: 0.4}
    b = {s: m[s] - d for s, d in enumerate(diffs)}
    v = compare_to_baseline({s: m[s] for s in b}, b)
    assert v.verdict == INCONCLUSIVE and "spread 0" in v.note


def test_identical_differences_with_per_sample_values_use_the_test_set_noise():
    # two seeds whose models differ on the same 30 of 300 samples: the per-seed spread is 0,
    # but the test set's luck is measured from the samples, so the interval has a width.
    n = 300
    base = np.ones(n)
    base[:60] = 0.0
    meth = base.copy()
    meth[:30] = 1.0
    ms, bs = {0: meth, 1: meth.copy()}, {0: base, 1: base.copy()}
    v = compare_to_baseline(
        {s: ms[s].mean() for s in ms},
        {s: bs[s].mean() for s in bs},
        method_samples=ms,
        baseline_samples=bs,
    )
    assert v.high - v.low > 0.02
    assert v.test_set_share == pytest.approx(1.0)


# ------------------------------------------------------------------ references


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_without_per_sample_values_the_interval_is_the_paired_t_interval(level):
    rng = np.random.default_rng(1)
    d = rng.normal(0.02, 0.03, size=6)
    m, b = _pair(d)
    v = compare_to_baseline(m, b, level=level)
    ref = stats.ttest_1samp(d, 0.0).confidence_interval(level)
    assert (v.low, v.high) == pytest.approx((ref.low, ref.high), rel=1e-9)
    post = stats.t(df=5, loc=d.mean(), scale=d.std(ddof=1) / math.sqrt(6))
    assert v.p_worse == pytest.approx(post.cdf(-0.01))
    assert v.p_better == pytest.approx(post.sf(0.01))
    assert v.p_better + v.p_rope + v.p_worse == pytest.approx(1.0)


def test_correlated_t_matches_baycomp():
    baycomp = pytest.importorskip("baycomp")
    rng = np.random.default_rng(2)
    x, y = rng.normal(0.8, 0.03, 10), rng.normal(0.82, 0.03, 10)
    runs = 2  # 10 differences from 2 runs of 5-fold CV: baycomp uses rho = 1/5
    mean, var, df = baycomp.CorrelatedTTest.compute_statistics(x, y, runs=runs)
    post = correlated_t_posterior(y - x, rho=1 / 5)
    assert post.mean() == pytest.approx(mean) and post.var() * (df - 2) / df == pytest.approx(var)
    left, rope, right = baycomp.CorrelatedTTest.probs(x, y, rope=0.01, runs=runs)
    assert post.cdf(-0.01) == pytest.approx(left, abs=1e-9)
    assert post.sf(0.01) == pytest.approx(right, abs=1e-9)


def test_variance_decomposition_is_unbiased_for_the_shared_test_set():
    """Two-way random effects e[s,i] = a_s + b_i + c_si: the estimated Var(mean d) must average
    to the true sampling variance sigma_a^2/n + sigma_b^2/N + sigma_c^2/(nN)."""
    rng = np.random.default_rng(3)
    n, N, sa, sb, sc = 4, 150, 0.02, 0.3, 0.4
    est, means = [], []
    for _ in range(300):
        e = rng.normal(0, sa, (n, 1)) + rng.normal(0, sb, (1, N)) + rng.normal(0, sc, (n, N))
        d = e.mean(axis=1)
        seed_var, test_var = V._variance_components(d, list(e), shared_test_set=True)
        est.append(seed_var / n + test_var)
        means.append(d.mean())
    truth = sa**2 / n + sb**2 / N + sc**2 / (n * N)
    assert np.mean(est) == pytest.approx(truth, rel=0.12)
    assert np.var(means) == pytest.approx(truth, rel=0.25)  # the simulation itself is right
    # ignoring the shared test set (the old paired t-test) would under-estimate it badly
    assert sa**2 / n + sc**2 / (n * N) < 0.5 * truth


def test_interval_covers_the_true_difference_with_a_shared_test_set():
    """Coverage of the 95% interval under the two-way model, with and without per-sample values:
    the per-seed t interval alone misses the shared test set's luck."""
    rng = np.random.default_rng(8)
    n, N, delta, reps = 4, 80, 0.05, 400
    hits_samples = hits_seeds = 0
    for _ in range(reps):
        e = (
            delta
            + rng.normal(0, 0.02, (n, 1))
            + rng.normal(0, 0.3, (1, N))
            + rng.normal(0, 0.3, (n, N))
        )
        ms, bs = dict(enumerate(e)), {s: np.zeros(N) for s in range(n)}
        m, b = {s: float(r.mean()) for s, r in ms.items()}, {s: 0.0 for s in range(n)}
        v = compare_to_baseline(m, b, method_samples=ms, baseline_samples=bs)
        hits_samples += v.low <= delta <= v.high
        w = compare_to_baseline(m, b)
        hits_seeds += w.low <= delta <= w.high
    assert 0.92 <= hits_samples / reps <= 0.985
    assert hits_seeds / reps < 0.85


# ------------------------------------------------------------------ intervals of one quantity


@pytest.mark.parametrize(
    "k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (357, 360), (360, 360), (3, 1000)]
)
@pytest.mark.parametrize("method,sm_name", [("wilson", "wilson"), ("clopper-pearson", "beta")])
def test_proportion_interval_matches_statsmodels_and_stays_in_unit_interval(k, n, method, sm_name):
    lo, hi = proportion_interval(k, n, 0.95, method=method)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    sm = pytest.importorskip("statsmodels.stats.proportion")
    ref = sm.proportion_confint(k, n, alpha=0.05, method=sm_name)
    assert (lo, hi) == pytest.approx(ref, abs=1e-10)


def test_wilson_interval_closed_form():
    k, n, z = 7, 20, stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert proportion_interval(k, n) == pytest.approx((centre - half, centre + half))


def test_mean_interval_never_leaves_the_bounds_and_says_when_clipped():
    mi = mean_interval([0.99, 1.0, 1.0, 0.98])
    assert mi.high <= 1.0 and mi.clipped
    ref = stats.ttest_1samp([0.99, 1.0, 1.0, 0.98], 0.0).confidence_interval(0.95)
    assert mi.low == pytest.approx(ref.low)
    unb = mean_interval([0.99, 1.0, 1.0, 0.98], bounds=None)
    assert unb.high == pytest.approx(ref.high) and unb.high > 1.0 and not unb.clipped
    one = mean_interval([0.7])
    assert one.n == 1 and math.isnan(one.low)


# ------------------------------------------------------------------ seeds needed


def test_seeds_needed_decreases_as_the_observed_effect_grows():
    needed = []
    for shift in (0.03, 0.05, 0.07, 0.09):
        m, b = _pair(shift + np.array([-0.05, 0.0, 0.05]))
        v = compare_to_baseline(m, b)
        assert v.verdict == INCONCLUSIVE
        needed.append(v.seeds_needed)
    assert all(a > b for a, b in zip(needed, needed[1:])), needed


def test_seeds_needed_is_the_smallest_count_meeting_the_stated_formula():
    d = np.array([0.05, -0.01, 0.04])
    m, b = _pair(d)
    v = compare_to_baseline(m, b)
    s2, margin = d.var(ddof=1), d.mean() - 0.01

    def width(n):  # (t_{0.975,n-1} + t_{0.8,n-1}) * s / sqrt(n)
        return (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1)) * math.sqrt(s2 / n)

    assert width(v.seeds_needed) <= margin < width(v.seeds_needed - 1)


def test_seeds_cannot_beat_the_noise_of_a_small_shared_test_set():
    # 3 seeds, 50 shared test samples; the method wins 9 samples and loses 7 on every seed: the
    # seeds agree, so all the noise is the test set's luck (sd ~0.08 against a 0.03 margin),
    # which no number of seeds averages away.
    N = 50
    base = np.zeros(N)
    base[:7] = 1.0
    meth = np.zeros(N)
    meth[7:16] = 1.0
    ms, bs = {s: meth for s in range(3)}, {s: base for s in range(3)}
    v = compare_to_baseline(
        {s: meth.mean() for s in ms},
        {s: base.mean() for s in bs},
        method_samples=ms,
        baseline_samples=bs,
        rope=0.01,
    )
    assert v.verdict == INCONCLUSIVE and v.test_set_share == pytest.approx(1.0)
    assert v.seeds_needed is None and "larger test set" in v.note


# ------------------------------------------------------------------ multiple comparisons


def test_bonferroni_widens_and_holm_decides_at_least_as_much():
    rng = np.random.default_rng(5)
    comps = [Comparison(*_pair(rng.normal(mu, 0.01, 5))) for mu in (0.06, 0.04, 0.03, 0.0, -0.05)]
    bonf = adjust_verdicts(comps, method="bonferroni")
    holm = adjust_verdicts(comps, method="holm")
    raw = adjust_verdicts(comps, method="none")
    assert all(v.level == pytest.approx(1 - 0.05 / 5) for v in bonf)
    for r, b in zip(raw, bonf):
        assert b.high - b.low > r.high - r.low
    assert sum(v.decided for v in holm) >= sum(v.decided for v in bonf)
    for b, h in zip(bonf, holm):  # whatever Bonferroni decides, Holm decides the same way
        if b.decided:
            assert h.verdict == b.verdict
    assert compare_to_baseline(*_pair([0.06, 0.07, 0.05]), n_comparisons=5).level == pytest.approx(
        0.99
    )


def test_family_wise_error_of_bonferroni_verdicts_by_simulation():
    rng = np.random.default_rng(6)
    reps, m, wrong = 500, 6, 0
    for _ in range(reps):
        comps = [Comparison(*_pair(rng.normal(0.0, 0.02, 4))) for _ in range(m)]  # all truly 0
        wrong += any(v.verdict in (POSITIVE, NEGATIVE) for v in adjust_verdicts(comps))
    assert wrong / reps <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / reps)


# ------------------------------------------------------------------ sequential plan


def test_plan_from_range_and_next_batch():
    plan = SequentialPlan.from_range(3, 10)
    assert plan.looks == (3, 5, 10) and plan.min_seeds == 3 and plan.max_seeds == 10
    assert plan.look_level(0.95) == pytest.approx(1 - 0.05 / 3)
    assert plan.next_batch(0) == 3
    undecided = compare_to_baseline(*_pair([0.05, -0.02, 0.03]))
    decided = compare_to_baseline(*_pair([0.10, 0.11, 0.105]))
    assert plan.next_batch(3, [decided, undecided]) == 2
    assert plan.next_batch(5, [decided, decided]) == 0
    assert plan.next_batch(10, [undecided]) == 0
    with pytest.raises(ConfigError, match="increasing"):
        SequentialPlan((5, 3))
    with pytest.raises(ConfigError, match="min_seeds"):
        SequentialPlan.from_range(1, 10)


def _sequential_wrong_rate(plan, level_at_look, reps, rng):
    wrong = 0
    for _ in range(reps):
        d = rng.normal(0.0, 0.02, plan.max_seeds)  # identical methods: only wrong verdicts are +/-
        n, verdicts = 0, []
        while k := plan.next_batch(n, verdicts):
            n += k
            verdicts = [compare_to_baseline(*_pair(d[:n]), level=level_at_look)]
        wrong += verdicts[0].verdict in (POSITIVE, NEGATIVE)
    return wrong / reps


def test_sequential_plan_keeps_the_error_rate_by_simulation():
    plan = SequentialPlan((3, 5, 10))
    rng = np.random.default_rng(7)
    reps = 800
    rate = _sequential_wrong_rate(plan, plan.look_level(0.95), reps, rng)
    assert rate <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / reps)


# ------------------------------------------------------------------ input errors, imports


def test_input_errors_name_the_problem():
    with pytest.raises(DataError, match="no common seeds"):
        compare_to_baseline({0: 0.5}, {1: 0.5})
    with pytest.raises(ConfigError, match="rope must be >= 0"):
        compare_to_baseline({0: 0.5, 1: 0.6}, {0: 0.5, 1: 0.5}, rope=-1)
    a = np.array([1.0, 0.0, 1.0])
    with pytest.raises(DataError, match="average to the metric"):
        compare_to_baseline(
            {0: 0.9, 1: 0.9},
            {0: 2 / 3, 1: 2 / 3},
            method_samples={0: a, 1: a},
            baseline_samples={0: a, 1: a},
        )
    with pytest.raises(DataError, match="one length"):
        compare_to_baseline(
            {0: 2 / 3, 1: 2 / 3},
            {0: 0.5, 1: 0.5},
            method_samples={0: a, 1: a},
            baseline_samples={0: a[:2], 1: a[:2]},
        )
    with pytest.raises(ConfigError, match="together"):
        compare_to_baseline({0: 0.5, 1: 0.6}, {0: 0.5, 1: 0.5}, method_samples={0: a})


def test_verdict_as_dict_round_trips_fields():
    v = compare_to_baseline(*_pair([0.10, 0.11, 0.095]))
    d = v.as_dict()
    assert d["verdict"] == POSITIVE and d["n_seeds"] == 3 and d["method"] == V.METHOD_NAME
    assert set(d) >= {
        "diff_mean",
        "low",
        "high",
        "p_better",
        "p_rope",
        "p_worse",
        "seeds_needed",
        "note",
    }


def test_module_imports_nothing_heavy():
    """The CLI imports this module before it decides to train: numpy, scipy and stdlib only."""
    tree = ast.parse(Path(V.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            assert node.module == "exceptions", node.module
    assert roots <= {
        "__future__",
        "math",
        "collections",
        "dataclasses",
        "typing",
        "numpy",
        "scipy",
    }, roots
