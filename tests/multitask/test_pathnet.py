"""PathNet (Fernando et al. 2017): pathway mutation, freezing across tasks, a two-task run."""

import numpy as np
import pytest
import torch

import transferkit
from transferkit.exceptions import ConfigError
from transferkit.multitask import PathNet, PathNetEvolution, Task, mutate_pathway, random_pathway


def test_mutation_stays_in_range_and_hits_one_index_per_pathway_on_average():
    rng = np.random.default_rng(0)
    L, M, N = 3, 10, 3
    changed = total = 0
    for _ in range(4000):
        path = random_pathway(L, M, N, rng)
        new = mutate_pathway(path, M, rng)
        assert new.shape == (L, N) and new.min() >= 0 and new.max() < M
        diff = (new - path) % M
        assert set(np.unique(diff)) <= {0, 1, 2, M - 2, M - 1}  # shifts within [-2, 2], wrapped
        changed += int((new != path).sum())
        total += path.size
    # each index mutates with p = 1/(L*N) and a shift of 0 (1 in 5) leaves it unchanged
    expected = (1 / (L * N)) * 4 / 5
    assert abs(changed / total - expected) < 0.01
    edge = mutate_pathway(np.full((L, N), M - 1), M, rng, prob=1.0)  # wraps, never leaves the grid
    assert edge.min() >= 0 and edge.max() < M


def _two_tasks(n_per_task=300):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float32)
    y = torch.tensor(y)
    a, b = y < 5, y >= 5
    return (X[a][:n_per_task], y[a][:n_per_task]), (X[b][:n_per_task], y[b][:n_per_task] - 5)


def _net(seed=0):
    torch.manual_seed(seed)
    return PathNet([Task("A", 5), Task("B", 5)], input_shape=(64,), layers=2, modules=4, active=2, width=16)


def test_frozen_modules_of_task_one_are_bit_identical_after_task_two_trains():
    (xa, ya), (xb, yb) = _two_tasks()
    net = _net()
    evo = PathNetEvolution(net, "A", xa, ya, population=4, steps_per_pathway=5, seed=0)
    evo.run(4)
    path_a = evo.finish()
    frozen = net.path_modules(path_a)
    assert frozen and all(bool(net.frozen[i, m]) for i, m in frozen)
    snap = {k: v.clone() for k, v in net.state_dict().items()}
    probe = xa[:32]
    out_a = net.forward_path(probe, path_a, "A").detach().clone()
    evo_b = PathNetEvolution(net, "B", xb, yb, population=4, steps_per_pathway=5, seed=1)
    # make task B run through a frozen module, so "frozen" is tested where it matters
    evo_b.population[:, :, 0] = path_a[:, 0]
    evo_b.run(4)
    after = net.state_dict()
    for i, m in frozen:
        for name in ("weight", "bias"):
            key = f"grid.{i}.{m}.{name}"
            assert torch.equal(after[key], snap[key]), key
    for name in ("weight", "bias"):
        assert torch.equal(after[f"heads.A.{name}"], snap[f"heads.A.{name}"])
    assert torch.equal(net.forward_path(probe, path_a, "A"), out_a)  # task A's function is unchanged
    moved = [k for k in after if k.startswith("grid.") and not torch.equal(after[k], snap[k])]
    assert moved  # task B did train its own modules


def test_fix_task_reinitialises_every_module_not_frozen():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    path = np.array([[0, 0], [1, 2]])
    net.fix_task("A", path)
    for i in range(net.L):
        for m in range(net.M):
            same = torch.equal(net.grid[i][m].weight, before[f"grid.{i}.{m}.weight"])
            assert same == ((i, m) in {(0, 0), (1, 1), (1, 2)}), (i, m)
            assert bool(net.frozen[i, m]) == same
            if same:
                assert not net.grid[i][m].weight.requires_grad


def test_second_task_learns_from_the_learnt_pathnet_and_from_scratch():
    """The tiny two-task run the benchmark repeats over seeds (benchmarks/pathnet_transfer.py)."""
    (xa, ya), (xb, yb) = _two_tasks()
    xb_tr, yb_tr, xb_te, yb_te = xb[:150], yb[:150], xb[150:], yb[150:]
    learnt = _net(0)
    evo_a = PathNetEvolution(learnt, "A", xa, ya, population=4, steps_per_pathway=10, seed=0)
    evo_a.run(6)
    evo_a.finish()
    scratch = _net(0)
    accs = {}
    for name, net in (("pathnet", learnt), ("scratch", scratch)):
        evo = PathNetEvolution(net, "B", xb_tr, yb_tr, population=4, steps_per_pathway=10, seed=1)
        evo.run(6)
        path = evo.finish()
        with torch.no_grad():
            accs[name] = float((net.forward_path(xb_te, path, "B").argmax(1) == yb_te).float().mean())
    assert accs["pathnet"] > 0.5 and accs["scratch"] > 0.5  # chance is 0.2


def test_registered_and_validated():
    net = transferkit.create("mtl_architecture", "pathnet", tasks=[Task("A", 3)], input_shape=(1, 8, 8), layers=2)
    out = net(torch.randn(4, 1, 8, 8))
    assert out["A"].shape == (4, 3)
    with pytest.raises(ConfigError, match="active must be <= modules"):
        PathNet([Task("A", 3)], input_shape=(4,), modules=2, active=3)
    with pytest.raises(ConfigError, match="population must be >= 2"):
        PathNetEvolution(net, "A", torch.randn(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), population=1)
    with pytest.raises(ValueError, match=r"pathway indices must be in \[0, 10\)"):
        net.forward_path(torch.randn(2, 1, 8, 8), np.array([[0, 1, 10], [0, 1, 2]]), "A")
