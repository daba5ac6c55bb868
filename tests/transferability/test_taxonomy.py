"""The Taskonomy binary integer program against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from transferkit.exceptions import ConfigError, DataError
from transferkit.transferability import (
    cheapest_taxonomy_cost,
    load_taskonomy_affinities,
    solve_taxonomy,
)


def _instance(seed, n_tasks=5, n_targets=4, second_order=4):
    rng = np.random.default_rng(seed)
    tasks = [f"t{i}" for i in range(n_tasks)]
    targets = tasks[:n_targets]
    aff = {}
    for t in targets:
        for s in tasks:
            if rng.random() < 0.7 or s == t:
                aff[f"{s}__{t}"] = float(rng.random())
        for _ in range(second_order):
            a, b = rng.choice(n_tasks, 2, replace=False)
            aff[f"{tasks[a]}__{tasks[b]}__{t}"] = float(rng.random())
    costs = {t: float(rng.integers(1, 4)) for t in tasks}
    imp = {t: float(rng.uniform(0.5, 2.0)) for t in targets}
    return tasks, targets, aff, costs, imp


def _brute_force(tasks, targets, aff, costs, imp, budget, max_order=None):
    parsed = [(tuple(k.split("__")[:-1]), k.split("__")[-1], v) for k, v in aff.items()]
    best = -np.inf
    for r in range(len(tasks) + 1):
        for sup in itertools.combinations(tasks, r):
            if sum(costs[t] for t in sup) > budget + 1e-9:
                continue
            total = 0.0
            for t in targets:
                vals = [
                    v
                    for s, tt, v in parsed
                    if tt == t and set(s) <= set(sup) and (max_order is None or len(s) <= max_order)
                ]
                if not vals:
                    break
                total += imp[t] * max(vals)
            else:
                best = max(best, total)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_equals_brute_force_and_respects_the_constraints(seed):
    tasks, targets, aff, costs, imp = _instance(seed)
    low = cheapest_taxonomy_cost(aff, tasks=tasks, costs=costs)
    budgets = [low, low + 1, low + 3, sum(costs.values())]
    for max_order in (1, None):
        sols = solve_taxonomy(
            aff, budgets, tasks=tasks, costs=costs, importances=imp, max_order=max_order
        )
        prev = -np.inf
        for b, sol in zip(budgets, sols):
            assert sol.objective == pytest.approx(
                _brute_force(tasks, targets, aff, costs, imp, b, max_order), abs=1e-9
            )
            assert set(sol.transfers) == set(targets)  # exactly one incoming transfer each
            for sources in sol.transfers.values():
                assert set(sources) <= set(sol.supervised)
                assert max_order is None or len(sources) <= max_order
            assert set(sol.supervised) == {s for src in sol.transfers.values() for s in src}
            assert sol.cost <= b + 1e-9
            assert sol.objective >= prev - 1e-12  # never decreases as the budget grows
            prev = sol.objective


def test_self_transfer_needs_the_target_supervised():
    aff = {"a__a": 0.9, "b__a": 0.4, "b__b": 0.8}
    one = solve_taxonomy(aff, 1)
    assert one.supervised == ("b",) and one.transfers == {"a": ("b",), "b": ("b",)}
    two = solve_taxonomy(aff, 2)
    assert two.transfers["a"] == ("a",) and two.objective == pytest.approx(1.7)


def test_budget_below_the_cheapest_solution_is_an_error():
    aff = {"a__b__c": 1.0, "c__c": 0.5, "a__a": 1.0, "b__b": 1.0}
    # a and b must be supervised (their only transfers), and then c can use a + b
    with pytest.raises(
        ConfigError, match=r"budget 1.5 is below the cheapest feasible taxonomy, which costs 2"
    ):
        solve_taxonomy(aff, 1.5)
    sol = solve_taxonomy(aff, 2)
    assert sol.supervised == ("a", "b") and sol.transfers["c"] == ("a", "b")


def test_unknown_names_are_errors():
    aff = {"a__b": 0.5, "b__b": 0.5}
    with pytest.raises(ConfigError, match=r"'a__b' names unknown task\(s\) \['a'\]"):
        solve_taxonomy(aff, 1, tasks=["b"])
    with pytest.raises(ConfigError, match="costs names unknown task 'z'"):
        solve_taxonomy(aff, 1, costs={"z": 1})
    with pytest.raises(ConfigError, match="importances names unknown target 'a'"):
        solve_taxonomy(aff, 1, importances={"a": 2})
    with pytest.raises(DataError, match=r"\['c'\] have no candidate transfer"):
        solve_taxonomy(aff, 1, tasks=["a", "b", "c"], targets=["b", "c"])


def test_taskonomy_release_small_budgets(data_root):
    path = data_root / "taskonomy" / "all_affinities.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    aff = load_taskonomy_affinities(path)
    sols = solve_taxonomy(aff, [1, 2])
    assert [len(s.supervised) for s in sols] == [1, 2]
    assert all(len(s.transfers) == 22 for s in sols)
    assert sols[0].objective <= sols[1].objective
