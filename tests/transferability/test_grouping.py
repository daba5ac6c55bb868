"""Task grouping against brute force, and TAG's look-ahead affinity against a manual step."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from transferkit.exceptions import ConfigError, DataError
from transferkit.transferability import choose_task_groups, group_score, lookahead_affinity


def _brute_force(z, k, singleton=0.0):
    n = z.shape[0]
    subsets = [c for r in range(1, n + 1) for c in itertools.combinations(range(n), r)]

    def onto(j, g):
        others = [i for i in g if i != j]
        return singleton if not others else float(np.mean([z[i, j] for i in others]))

    best = -np.inf
    for choice in itertools.combinations(subsets, min(k, len(subsets))):
        if set().union(*choice) != set(range(n)):
            continue
        best = max(best, sum(max(onto(j, g) for g in choice if j in g) for j in range(n)))
    return best


@pytest.mark.parametrize("n,k,seed", [(3, 1, 0), (3, 2, 1), (4, 2, 2), (4, 3, 3), (5, 2, 4)])
def test_exact_grouping_equals_brute_force(n, k, seed):
    z = np.random.default_rng(seed).normal(0.0, 1.0, (n, n))
    res = choose_task_groups(z, k)
    assert res.exact
    assert res.score == pytest.approx(_brute_force(z, k), abs=1e-9)
    assert len(res.groups) <= k
    # every task is served by a group that contains it, and the score adds up
    total = 0.0
    for t, gi in res.assignment.items():
        assert t in res.groups[gi]
        idx = [int(x) for x in res.groups[gi]]
        others = [i for i in idx if i != int(t)]
        total += 0.0 if not others else np.mean([z[i, int(t)] for i in others])
    assert total == pytest.approx(res.score)


def test_approximation_is_feasible_and_no_better_than_exact():
    z = np.random.default_rng(7).normal(0.0, 1.0, (6, 6))
    exact = choose_task_groups(z, 2)
    approx = choose_task_groups(z, 2, exact_max_tasks=4)
    assert exact.exact and not approx.exact
    assert approx.score <= exact.score + 1e-9
    assert set(approx.assignment) == {str(i) for i in range(6)}


def test_named_tasks_and_errors():
    z = np.array([[0, 1.0, -1.0], [1.0, 0, -1.0], [-1.0, -1.0, 0]])
    res = choose_task_groups(z, 2, tasks=["depth", "normals", "class"])
    assert set(res.groups) == {("depth", "normals"), ("class",)}
    assert group_score(z, [0, 1]) == pytest.approx(2.0)
    with pytest.raises(ConfigError, match="k must be >= 1"):
        choose_task_groups(z, 0)
    with pytest.raises(ConfigError, match="3 distinct names"):
        choose_task_groups(z, 1, tasks=["a", "a", "b"])
    with pytest.raises(DataError, match="square"):
        choose_task_groups(np.ones((2, 3)), 1)


def _model():
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh())
    heads = {"a": nn.Linear(6, 1), "b": nn.Linear(6, 1), "c": nn.Linear(6, 3)}
    x = torch.randn(16, 4)
    targets = {"a": torch.randn(16, 1), "b": torch.randn(16, 1), "c": torch.randint(0, 3, (16,))}
    losses = {
        "a": nn.functional.mse_loss,
        "b": nn.functional.mse_loss,
        "c": nn.functional.cross_entropy,
    }
    return trunk, heads, x, targets, losses


def test_lookahead_affinity_equals_a_manual_sgd_step_and_leaves_the_model_alone():
    trunk, heads, x, targets, losses = _model()
    state = copy.deepcopy(trunk.state_dict())
    lr = 0.1
    z = lookahead_affinity(trunk, heads, losses, x, targets, lr=lr)
    for key, value in trunk.state_dict().items():  # parameters and BN buffers unchanged
        assert torch.equal(value, state[key]), key
    names = list(heads)
    for i, ti in enumerate(names):
        stepped = copy.deepcopy(trunk)
        before = {t: losses[t](heads[t](copy.deepcopy(trunk)(x)), targets[t]).item() for t in names}
        for h in heads.values():
            h.zero_grad()
        losses[ti](heads[ti](stepped(x)), targets[ti]).backward()
        with torch.no_grad():  # plain SGD on the trunk only
            for p in stepped.parameters():
                p -= lr * p.grad
        with torch.no_grad():
            after = {
                t: losses[t](heads[t](copy.deepcopy(stepped)(x)), targets[t]).item() for t in names
            }
        for j, tj in enumerate(names):
            assert z[i, j] == pytest.approx(1 - after[tj] / before[tj], abs=1e-5)
    assert np.all(np.diag(z) > 0)  # a small step on a task lowers its own loss


def test_lookahead_affinity_errors():
    trunk, heads, x, targets, losses = _model()
    with pytest.raises(ConfigError, match="lr must be > 0"):
        lookahead_affinity(trunk, heads, losses, x, targets, lr=0.0)
    with pytest.raises(ConfigError, match=r"targets has no entry for task\(s\) \['c'\]"):
        lookahead_affinity(trunk, heads, losses, x, {"a": targets["a"], "b": targets["b"]}, lr=0.1)
