"""Calibration of the transfer verdicts: false verdicts when nothing differs, power when it does.

Four verdict rules are applied to the same draws:

* ``new+samples``: :func:`transferkit.experiments._verdicts.compare_to_baseline` with the
  per-test-sample correctness of both methods (seed noise + the shared test set's noise);
* ``new``: the same without per-sample values (seed noise only);
* ``old t``: the rule of the former ``experiments/_stats.py`` (paired t 95% interval of the
  per-seed differences against 0; identical differences decide by their sign);
* ``h-boot``: a two-level bootstrap (seeds, then test samples within each seed; the second
  level by its normal approximation, N = 360) with the same ROPE rule on its 95% percentile
  interval, the alternative the module did not choose.

Settings (ROPE 0.01, level 0.95):

1. **Simulation** of the data-generating process of a few-shot comparison scored on one fixed
   test set of N = 360 samples, drawn afresh per repetition. Sample i has a difficulty
   theta_i ~ N(1.7, 1.5); method m on seed s is right on sample i when
   ``theta_i + beta_m + h_mi + a_ms + g_si + eps_msi > 0`` with a per-seed training effect
   a ~ N(0, 0.05), a split effect g ~ N(0, 0.5) shared by both methods on a seed (same split),
   a method-by-sample effect h ~ N(0, sigma_h) fixed across seeds (what each method is good at)
   and eps ~ N(0, 0.5): accuracy about 0.84 and a per-seed sd of the difference about 0.018
   (the real run below measures 0.013). Population accuracy is
   Phi((1.7 + beta_m) / sqrt(total variance)), so the true gain is known in closed form.
   Scenarios: ``same`` (one method under two names: sigma_h = 0, gain 0), ``equal`` (two
   different methods of equal accuracy: sigma_h = 0.4, gain 0), ``edge`` (sigma_h = 0.4, true
   gain +0.01, on the ROPE's edge: 'positive' is wrong there and must stay under 0.025),
   ``gain`` (sigma_h = 0.4, true gain +0.03: 'positive' is right).
2. **Real training** (``--real``): scikit-learn's ``MLPClassifier`` (one hidden layer of 32) on
   the digits data shipped with scikit-learn, 10 labelled images per class drawn per seed, a
   fixed test set of 360 images; the two "methods" are the same classifier, differing only in
   their initialisation seed. Repetitions draw seeds from a pool of trained pairs.

    python benchmarks/verdict_calibration.py                 # simulation, 2000 repetitions
    python benchmarks/verdict_calibration.py --real --pool 300
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

from transferkit.experiments._verdicts import (
    EQUIVALENT,
    INCONCLUSIVE,
    NEGATIVE,
    POSITIVE,
    Comparison,
    SequentialPlan,
    adjust_verdicts,
    compare_to_baseline,
)

ROPE, LEVEL, N_TEST = 0.01, 0.95, 360
MU, SD_THETA, SD_SEED, SD_SPLIT, SD_EPS, SD_H = 1.7, 1.5, 0.05, 0.5, 0.5, 0.4
SEEDS = (2, 3, 5, 10)
RULES = ("new+samples", "new", "old t", "h-boot")


# ------------------------------------------------------------------ the data-generating process


def _total_sd(sd_h: float) -> float:
    return math.sqrt(SD_THETA**2 + SD_SEED**2 + SD_SPLIT**2 + sd_h**2 + SD_EPS**2)


def beta_for_gain(gain: float, sd_h: float) -> float:
    """Method B's shift so that its population accuracy exceeds method A's by ``gain``."""
    sd = _total_sd(sd_h)
    base = stats.norm.cdf(MU / sd)
    return float(optimize.brentq(lambda b: stats.norm.cdf((MU + b) / sd) - base - gain, -5, 5))


def simulate(
    rng: np.random.Generator, n_seeds: int, sd_h: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample correctness (n_seeds x N) of method B and baseline A on one fresh test set."""
    theta = rng.normal(MU, SD_THETA, N_TEST)
    h = rng.normal(0.0, sd_h, (2, 1, N_TEST)) if sd_h > 0 else np.zeros((2, 1, N_TEST))
    g = rng.normal(0.0, SD_SPLIT, (1, n_seeds, N_TEST))
    a = rng.normal(0.0, SD_SEED, (2, n_seeds, 1))
    eps = rng.normal(0.0, SD_EPS, (2, n_seeds, N_TEST))
    shift = np.array([0.0, beta])[:, None, None]
    correct = (theta + shift + h + a + g + eps > 0).astype(np.float64)
    return correct[1], correct[0]


# ------------------------------------------------------------------ the rules


Outcome = tuple[str, float, float]  # verdict, interval low, interval high


def rule_new(b: np.ndarray, a: np.ndarray, samples: bool) -> Outcome:
    seeds = range(b.shape[0])
    kw = {}
    if samples:
        kw = {"method_samples": dict(zip(seeds, b)), "baseline_samples": dict(zip(seeds, a))}
    v = compare_to_baseline(
        dict(zip(seeds, b.mean(1))), dict(zip(seeds, a.mean(1))), rope=ROPE, level=LEVEL, **kw
    )
    return v.verdict, v.low, v.high


def rule_old(b: np.ndarray, a: np.ndarray) -> Outcome:
    """The former experiments/_stats.py rule (no ROPE: 'no significant difference' otherwise)."""
    d = b.mean(1) - a.mean(1)
    m = float(d.mean())
    if d.size < 2:
        return INCONCLUSIVE, math.nan, math.nan
    sd = d.std(ddof=1)
    if sd == 0.0:
        return (INCONCLUSIVE if m == 0 else (POSITIVE if m > 0 else NEGATIVE)), m, m
    half = stats.t.ppf(0.5 + LEVEL / 2, d.size - 1) * sd / math.sqrt(d.size)
    if m - half > 0:
        return POSITIVE, m - half, m + half
    if m + half < 0:
        return NEGATIVE, m - half, m + half
    return INCONCLUSIVE, m - half, m + half


def rule_boot(
    b: np.ndarray, a: np.ndarray, rng: np.random.Generator, n_boot: int = 2000
) -> Outcome:
    e = b - a
    n, N = e.shape
    d, within_sd = e.mean(1), e.std(1, ddof=1) / math.sqrt(N)
    idx = rng.integers(0, n, (n_boot, n))
    means = (d[idx] + within_sd[idx] * rng.standard_normal((n_boot, n))).mean(1)
    lo, hi = (float(v) for v in np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]))
    if lo > ROPE:
        return POSITIVE, lo, hi
    if hi < -ROPE:
        return NEGATIVE, lo, hi
    if lo >= -ROPE and hi <= ROPE:
        return EQUIVALENT, lo, hi
    return INCONCLUSIVE, lo, hi


def all_rules(b: np.ndarray, a: np.ndarray, rng: np.random.Generator) -> dict[str, Outcome]:
    return {
        "new+samples": rule_new(b, a, True),
        "new": rule_new(b, a, False),
        "old t": rule_old(b, a),
        "h-boot": rule_boot(b, a, rng),
    }


# ------------------------------------------------------------------ tables


def rates(outcomes: list[dict[str, Outcome]], which: Callable[[str], bool]) -> dict[str, float]:
    return {r: float(np.mean([which(o[r][0]) for o in outcomes])) for r in RULES}


def coverage(outcomes: list[dict[str, Outcome]], truth: float) -> dict[str, float]:
    """Rate at which each rule's interval contains the true gain (nominal LEVEL)."""
    return {r: float(np.mean([o[r][1] <= truth <= o[r][2] for o in outcomes])) for r in RULES}


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def run_simulation(reps: int, rng: np.random.Generator) -> None:
    # name: (sd_h, true gain, the right verdict or None, what counts as a wrong verdict)
    pos_neg = lambda v: v in (POSITIVE, NEGATIVE)  # noqa: E731
    scenarios = {
        "same": (0.0, 0.0, EQUIVALENT, pos_neg),
        "equal": (SD_H, 0.0, EQUIVALENT, pos_neg),
        "edge +0.01": (SD_H, 0.01, None, lambda v: v in (POSITIVE, NEGATIVE)),
        "gain +0.03": (SD_H, 0.03, POSITIVE, lambda v: v in (NEGATIVE, EQUIVALENT)),
    }
    rows_false, rows_cov, rows_power = [], [], []
    draws: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    sd_seed = []
    for name, (sd_h, gain, truth, is_wrong) in scenarios.items():
        beta = beta_for_gain(gain, sd_h) if gain else 0.0
        draws[name] = [simulate(rng, max(SEEDS), sd_h, beta) for _ in range(reps)]
        sd_seed += [np.std(b.mean(1) - a.mean(1), ddof=1) for b, a in draws[name]]
        for n in SEEDS:
            outs = [all_rules(b[:n], a[:n], rng) for b, a in draws[name]]
            w, cov = rates(outs, is_wrong), coverage(outs, gain)
            rows_cov.append([name, str(n)] + [f"{cov[r]:.3f}" for r in RULES])
            if truth == POSITIVE:
                right = rates(outs, lambda v: v == POSITIVE)
                rows_power.append(
                    [name, str(n)]
                    + [f"{right[r]:.3f}" for r in RULES]
                    + [f"{w[r]:.3f}" for r in RULES]
                )
            else:
                eq = rates(outs, lambda v: v == EQUIVALENT)
                rows_false.append(
                    [name, str(n)]
                    + [f"{w[r]:.3f}" for r in RULES]
                    + [f"{eq[r]:.3f}" for r in ("new+samples", "new")]
                )
    print(f"simulated per-seed sd of the difference: {np.mean(sd_seed):.4f}")
    print_table(
        f"(a) No true difference ('same', 'equal') or a true gain on the ROPE's edge ('edge'), {reps} "
        "repetitions: rate of a false 'positive' or 'negative' verdict (nominal <= 0.05; 'edge': "
        "'positive' <= 0.025), and rate of 'practically equivalent'",
        ["scenario", "seeds"]
        + [f"false: {r}" for r in RULES]
        + ["equiv.: new+samples", "equiv.: new"],
        rows_false,
    )
    print_table(
        f"(b) Coverage: rate at which the 95% interval contains the true (population) gain, {reps} "
        "repetitions (nominal 0.95; 'old t' and 'new' share the paired t interval)",
        ["scenario", "seeds"] + list(RULES),
        rows_cov,
    )
    print_table(
        f"(c) True gain +0.03 (ROPE 0.01), {reps} repetitions: power (rate of 'positive') and rate "
        "of a wrong verdict ('negative' or 'equivalent')",
        ["scenario", "seeds"] + [f"power: {r}" for r in RULES] + [f"wrong: {r}" for r in RULES],
        rows_power,
    )
    # sequential plan on the same draws
    plan = SequentialPlan.from_range(3, 10)
    rows = []
    for name, (_, _, truth, is_wrong) in scenarios.items():
        outcomes, used = [], []
        for b, a in draws[name]:
            n, verdict = 0, None
            while k := plan.next_batch(n, [verdict] if verdict else []):
                n += k
                s = range(n)
                verdict = compare_to_baseline(
                    dict(zip(s, b[:n].mean(1))),
                    dict(zip(s, a[:n].mean(1))),
                    rope=ROPE,
                    level=plan.look_level(LEVEL),
                    method_samples=dict(zip(s, b[:n])),
                    baseline_samples=dict(zip(s, a[:n])),
                )
            outcomes.append(verdict.verdict)
            used.append(n)
        w = np.mean([is_wrong(v) for v in outcomes])
        right = "" if truth is None else f"{np.mean([v == truth for v in outcomes]):.3f}"
        rows.append([name, f"{w:.3f}", right, f"{np.mean(used):.2f}"])
    print_table(
        f"(d) Sequential plan looks={plan.looks}, level {plan.look_level(LEVEL):.4f} per look, "
        f"new+samples, {reps} repetitions",
        ["scenario", "wrong verdict", "right verdict", "mean seeds used"],
        rows,
    )
    # a report's family of 30 comparisons: no true difference, or every true gain on the ROPE's edge
    m, fam_reps, n = 30, max(100, reps // 10), 10
    rows = []
    for name, gain in (("equal", 0.0), ("edge +0.01", 0.01)):
        beta = beta_for_gain(gain, SD_H) if gain else 0.0
        counts = {"none": 0, "bonferroni": 0, "holm": 0, "old t": 0}
        for _ in range(fam_reps):
            comps, old_any = [], False
            for _ in range(m):
                b, a = simulate(rng, n, SD_H, beta)
                s = range(n)
                comps.append(
                    Comparison(
                        dict(zip(s, b.mean(1))),
                        dict(zip(s, a.mean(1))),
                        rope=ROPE,
                        method_samples=dict(zip(s, b)),
                        baseline_samples=dict(zip(s, a)),
                    )
                )
                # the old rule has no ROPE: at the edge only its 'negative' is wrong
                old_wrong = (NEGATIVE,) if gain else (POSITIVE, NEGATIVE)
                old_any |= rule_old(b, a)[0] in old_wrong
            counts["old t"] += old_any
            for adj in ("none", "bonferroni", "holm"):
                counts[adj] += any(
                    v.verdict in (POSITIVE, NEGATIVE) for v in adjust_verdicts(comps, method=adj)
                )
        rows.append([name] + [f"{v / fam_reps:.3f}" for v in counts.values()])
    print_table(
        f"(e) A report of {m} comparisons ({n} seeds each, new+samples), {fam_reps} repetitions: rate of at "
        "least one false 'positive'/'negative' in the report (family-wise error, nominal <= 0.05)",
        ["scenario of all 30", "no adjustment", "bonferroni", "holm", "old t"],
        rows,
    )


def run_real(pool: int, reps: int, rng: np.random.Generator) -> None:
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_pool, X_test, y_pool, y_test = train_test_split(
        X, y, test_size=N_TEST, stratify=y, random_state=0
    )
    t0 = time.perf_counter()
    pairs = []
    for seed in range(pool):
        r = np.random.default_rng(10_000 + seed)
        idx = np.concatenate(
            [r.choice(np.flatnonzero(y_pool == c), 10, replace=False) for c in range(10)]
        )
        correct = []
        for init in (2 * seed, 2 * seed + 1):  # the same classifier under two names
            clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=init)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X_pool[idx], y_pool[idx])
            correct.append((clf.predict(X_test) == y_test).astype(np.float64))
        pairs.append(correct)
    arr = np.asarray(pairs)  # pool x 2 x N
    print(
        f"\n(f) real training: {pool} seeds x 2 fits in {time.perf_counter() - t0:.0f} s; "
        f"mean accuracy {arr.mean():.3f}, per-seed sd of the difference {np.std(arr[:, 1].mean(1) - arr[:, 0].mean(1), ddof=1):.4f}"
    )
    rows = []
    for n in SEEDS:
        vs = []
        for _ in range(reps):
            pick = rng.choice(pool, n, replace=False)
            vs.append(all_rules(arr[pick, 1], arr[pick, 0], rng))
        w = rates(vs, lambda v: v in (POSITIVE, NEGATIVE))
        eq = rates(vs, lambda v: v == EQUIVALENT)
        rows.append([str(n)] + [f"{w[r]:.3f}" for r in RULES] + [f"{eq['new+samples']:.3f}"])
    print_table(
        f"(f) Real training, the same MLP under two names on scikit-learn digits (10 labels/class, "
        f"fixed test set of {N_TEST}), {reps} repetitions drawing seeds from a pool of {pool}: "
        "rate of a false 'positive'/'negative' verdict (nominal <= 0.05)",
        ["seeds"] + [f"false: {r}" for r in RULES] + ["equiv.: new+samples"],
        rows,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000, help="repetitions per setting (>= 200)")
    ap.add_argument("--real", action="store_true", help="also run the real-training null on digits")
    ap.add_argument("--pool", type=int, default=300, help="seeds trained for --real")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    print(
        f"verdict calibration: ROPE {ROPE}, level {LEVEL}, N_test {N_TEST}, python {platform.python_version()}"
    )
    run_simulation(args.reps, rng)
    if args.real:
        run_real(args.pool, args.reps, rng)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
