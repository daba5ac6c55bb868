import math

import numpy as np
import pytest
import torch

from transferkit.adaptation import build_method
from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.training.adaptation import AdaptOptimConfig, PairedSampler, fit_adaptation


def test_paired_sampler_cycles_shorter_side_with_explicit_length():
    s = PairedSampler(10, 3, batch_size=4, target_batch_size=2, steps=5, seed=1)
    batches = list(s)
    assert len(batches) == len(s) == 5
    src = torch.cat([b[0] for b in batches])
    tgt = torch.cat([b[1] for b in batches])
    assert len(src) == 20 and len(tgt) == 10
    # each pass over a domain is a permutation: the first 10 source / first 3 target indices
    assert sorted(src[:10].tolist()) == list(range(10))
    assert sorted(tgt[:3].tolist()) == [0, 1, 2] and sorted(tgt[3:6].tolist()) == [0, 1, 2]
    # a pure function of (seed, epoch)
    again = list(PairedSampler(10, 3, 4, 2, 5, seed=1))
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    s.set_epoch(1)
    assert not torch.equal(torch.cat([b[0] for b in s]), src)
    # evaluation covers the target exactly once, in order
    ev = list(PairedSampler(5, 7, 3, shuffle=False))
    assert torch.cat([b[1] for b in ev]).tolist() == list(range(7))
    assert all(len(a) == len(b) for a, b in ev)


def _blobs(n, shift, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 6)).astype(np.float32) * 0.5
    X[np.arange(n), y] += 2.0
    X[:, 5] += shift
    return Domain(X, y, f"blobs{shift}", 3)


@pytest.mark.parametrize("name", ["dann", "pada"])
def test_fit_adaptation_steps_schedule_and_logs(name):
    src, tgt = _blobs(96, 0.0, 0), _blobs(64, 1.5, 1)
    torch.manual_seed(0)
    bb = create_backbone("mlp", in_features=6, hidden=(16,), num_outputs=3)
    method = build_method(name, bb.feature_dim, 3, hidden=(16,))
    res = fit_adaptation(bb, method, src, tgt, target_eval=tgt, epochs=3, batch_size=16,
                         steps_per_epoch=4, optim=AdaptOptimConfig(lr=0.05), seed=0)
    module = res.module
    assert module.schedule.current_step == 12  # stepped once per optimisation step
    assert method.grl.coeff == pytest.approx(2 / (1 + math.exp(-10 * 11 / 12)) - 1)
    assert len(res.history) == 3
    assert all(0 <= h["target_acc"] <= 1 and 0 <= h["domain_acc"] <= 1 for h in res.history)
    assert res.history[-1]["target_acc"] > 0.6
    if name == "pada":
        assert not torch.equal(method.class_weights, torch.ones(3))  # refreshed from predictions


def test_fit_is_deterministic_and_ignores_target_labels():
    src, tgt = _blobs(64, 0.0, 0), _blobs(48, 1.0, 1)

    def run(target):
        torch.manual_seed(0)
        bb = create_backbone("mlp", in_features=6, hidden=(8,), num_outputs=3)
        m = build_method("deep_coral", bb.feature_dim, 3)
        fit_adaptation(bb, m, src, target, epochs=2, batch_size=16, seed=3, evaluate_every_epoch=False)
        return torch.cat([p.detach().flatten() for p in bb.parameters()])

    shuffled = Domain(tgt.X, np.random.default_rng(0).permutation(tgt.y), tgt.name, 3)
    a, b, c = run(tgt), run(tgt), run(shuffled)
    assert torch.equal(a, b) and torch.equal(a, c)
