"""Conformance of every fine-tuning strategy, and the math of each regulariser."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import transferkit as tk
from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.finetune import GradualUnfreezing, UnfreezeSchedule
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune

STRATEGIES = [m.name for m in tk.list_methods("finetune")]


def pretrained_lenet(num_source_classes: int = 4) -> torch.nn.Module:
    torch.manual_seed(1)
    return create_backbone("lenet", in_channels=1, input_size=8, num_outputs=num_source_classes, widths=(4, 8), feature_dim=16)


def toy_domain(n=24, classes=3, seed=0) -> Domain:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.random((n, 1, 8, 8), dtype=np.float32) * 0.3
    for c in range(classes):
        X[y == c, 0, c * 2 : c * 2 + 2] += 0.7
    return Domain(X, y.astype(np.int64), "toy", classes)


def train_briefly(model, strategy, epochs=3):
    return fit_finetune(model, strategy, toy_domain(), None, TrainerConfig(max_epochs=epochs, accelerator="cpu", batch_size=8, patience=0), OptimConfig(lr=1e-2), seed=0).model


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_conformance(name):
    """prepare -> finite loss -> params that should train change, frozen ones are bit-identical."""
    strategy = tk.create("finetune", name)
    model = strategy.prepare(pretrained_lenet(), num_classes=3)
    assert model.num_outputs == 3
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable_at_start = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable_at_start, "a strategy must train something"
    x = torch.from_numpy(toy_domain().X)
    feats = model.features(x)
    reg = strategy.regularizer(model, x, feats, model.head(feats))
    assert reg.ndim == 0 and torch.isfinite(reg)
    trained = train_briefly(model, strategy, epochs=1)
    changed = {n for n, p in trained.named_parameters() if not torch.equal(p, before[n])}
    assert changed, "training changed nothing"
    assert changed <= trainable_at_start, f"frozen parameters changed: {sorted(changed - trainable_at_start)}"
    assert any(n.startswith("head.") for n in changed), "the new head must train"


@pytest.mark.parametrize("name, params, frozen_prefixes", [
    ("linear_probe", {}, ["blocks.0.", "blocks.1.", "blocks.2."]),
    ("layer_transfer", {"k": 2}, ["blocks.0.", "blocks.1."]),
    ("layer_transfer", {"k": 1, "which": "last"}, ["blocks.2."]),
    ("layer_transfer", {"patterns": ["blocks.1.*"]}, ["blocks.1."]),
])
def test_frozen_parameters_are_bit_identical_after_training(name, params, frozen_prefixes):
    strategy = tk.create("finetune", name, **params)
    model = strategy.prepare(pretrained_lenet(), 3)
    before = copy.deepcopy(model.state_dict())
    trained = train_briefly(model, strategy, epochs=3)
    for n, p in trained.named_parameters():
        if any(n.startswith(pre) for pre in frozen_prefixes):
            assert torch.equal(p, before[n]), n
        elif n.startswith("head."):
            assert not torch.equal(p, before[n]), n


def test_layer_transfer_rejects_impossible_settings():
    with pytest.raises(ValueError, match="k=9 exceeds the backbone's 3 layer groups"):
        tk.create("finetune", "layer_transfer", k=9).prepare(pretrained_lenet(), 3)
    with pytest.raises(ValueError, match="no parameter name matches"):
        tk.create("finetune", "layer_transfer", patterns=["nothing.*"]).prepare(pretrained_lenet(), 3)
    with pytest.raises(ValueError, match="which must be 'first' or 'last'"):
        tk.create("finetune", "layer_transfer", which="middle")


def test_l2sp_penalty_is_zero_at_start_and_its_gradient_points_back():
    alpha = 0.5
    strategy = tk.create("finetune", "l2_sp", alpha=alpha, beta=0.0)
    model = strategy.prepare(pretrained_lenet(), 3)
    x = torch.from_numpy(toy_domain().X)
    feats = model.features(x)
    assert strategy.regularizer(model, x, feats, model.head(feats)).item() == 0.0
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.zero_grad()
    feats = model.features(x)
    strategy.regularizer(model, x, feats, model.head(feats)).backward()
    for n, p in model.named_parameters():
        if n.startswith("head."):
            assert p.grad is None or torch.all(p.grad == 0)
        else:  # d/dw alpha/2 ||w - w0||^2 = alpha (w - w0): a step along -grad moves back to w0
            torch.testing.assert_close(p.grad, alpha * (p.detach() - start[n]))


def test_l2sp_head_term_is_weight_decay():
    strategy = tk.create("finetune", "l2_sp", alpha=0.0, beta=0.2)
    model = strategy.prepare(pretrained_lenet(), 3)
    x = torch.from_numpy(toy_domain().X)
    feats = model.features(x)
    expected = 0.1 * sum(p.pow(2).sum() for p in model.head.parameters())
    torch.testing.assert_close(strategy.regularizer(model, x, feats, model.head(feats)), expected)


def test_lwf_is_the_papers_cross_entropy_on_softened_old_task_outputs():
    """Li & Hoiem (TPAMI 2017, eq. 2): lambda_o * mean_n -sum_i y'_old log y'_new at T=2, no T^2
    factor; at the start (student == teacher) it is the entropy of y'_old, its minimum."""
    strategy = tk.create("finetune", "lwf", lam=1.0, temperature=2.0)
    source = pretrained_lenet()
    model = strategy.prepare(copy.deepcopy(source), 3)
    x = torch.from_numpy(toy_domain().X)

    def by_hand(z_old, z_new):
        y_old = F.softmax(z_old.double(), 1) ** 0.5  # y^(1/T), then renormalised
        y_old = y_old / y_old.sum(1, keepdim=True)
        y_new = F.softmax(z_new.double(), 1) ** 0.5
        y_new = y_new / y_new.sum(1, keepdim=True)
        return -(y_old * y_new.log()).sum(1).mean()

    feats = model.features(x)
    with torch.no_grad():
        entropy = by_hand(source(x), source(x))
    assert strategy.regularizer(model, x, feats, model.head(feats)).item() == pytest.approx(entropy.item(), rel=1e-5)
    with torch.no_grad():
        strategy.source_head.weight.add_(0.3)
    feats = model.features(x)
    got = strategy.regularizer(model, x, feats, model.head(feats))
    with torch.no_grad():
        expected = by_hand(source(x), strategy.source_head(feats))
    torch.testing.assert_close(got.double(), expected, rtol=1e-5, atol=1e-6)
    assert got.item() > entropy.item()


def test_bss_matches_numpy_singular_values():
    strategy = tk.create("finetune", "bss", eta=0.01, k=2)
    feats = torch.randn(10, 6, dtype=torch.float64)
    s = np.linalg.svd(feats.numpy(), compute_uv=False)
    expected = 0.01 * np.sum(np.sort(s)[:2] ** 2)
    assert strategy.regularizer(None, None, feats, None).item() == pytest.approx(expected, rel=1e-6)


def test_gradual_unfreezing_follows_its_visible_schedule():
    sched = UnfreezeSchedule(num_groups=3, every=2)
    assert sched.describe() == [(0, 0), (2, 1), (4, 2), (6, 3)]
    strategy = GradualUnfreezing(every=2)
    model = strategy.prepare(pretrained_lenet(), 3)
    groups = model.layer_groups()

    def trainable():
        return [all(p.requires_grad for p in g.parameters()) for g in groups]

    assert trainable() == [False, False, False]
    strategy.on_epoch_start(model, 2)
    assert trainable() == [False, False, True]
    strategy.on_epoch_start(model, 6)
    assert trainable() == [True, True, True]
    assert all(p.requires_grad for p in model.head.parameters())


def test_discriminative_lr_decays_from_the_head_down():
    strategy = tk.create("finetune", "discriminative_lr", decay=0.5)
    model = strategy.prepare(pretrained_lenet(), 3)
    lrs = [g["lr"] for g in strategy.param_groups(model, 1.0)]
    assert lrs == [0.125, 0.25, 0.5, 1.0]


def test_full_finetune_trains_the_head_at_the_base_rate():
    strategy = tk.create("finetune", "full", backbone_lr_scale=0.1)
    model = strategy.prepare(pretrained_lenet(), 3)
    groups = {g["name"]: g["lr"] for g in strategy.param_groups(model, 1e-2)}
    assert groups == {"backbone": pytest.approx(1e-3), "head": pytest.approx(1e-2)}


def test_scratch_reinitialises_every_weight():
    source = pretrained_lenet()
    model = tk.create("finetune", "scratch").prepare(copy.deepcopy(source), 3)
    for (n, p), (_, q) in zip(model.named_parameters(), source.named_parameters()):
        if not n.startswith("head."):
            assert not torch.equal(p, q), n


@pytest.mark.parametrize("name, params, message", [
    ("l2_sp", {"alpha": -1}, "alpha must be >= 0, got -1"),
    ("full", {"backbone_lr_scale": 0}, "backbone_lr_scale must be > 0, got 0"),
    ("bss", {"k": 0}, "k must be >= 1, got 0"),
    ("lwf", {"temperature": 0}, "temperature must be > 0, got 0"),
    ("gradual_unfreezing", {"every": 0}, "every must be >= 1, got 0"),
])
def test_bad_hyperparameters_are_named(name, params, message):
    with pytest.raises(ValueError, match=message):
        tk.create("finetune", name, **params)


def test_strategy_usable_in_a_plain_pytorch_loop():
    strategy = tk.create("finetune", "l2_sp")
    model = strategy.prepare(pretrained_lenet(), 3)
    opt = torch.optim.Adam(strategy.param_groups(model, lr=1e-2))
    d = toy_domain()
    x, y = torch.from_numpy(d.X), torch.from_numpy(d.y)
    losses = []
    for epoch in range(80):
        strategy.on_epoch_start(model, epoch)
        feats = model.features(x)
        logits = model.head(feats)
        loss = F.cross_entropy(logits, y) + strategy.regularizer(model, x, feats, logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_reuse_head_keeps_the_source_head_when_labels_match():
    source = pretrained_lenet(num_source_classes=3)
    model = tk.create("finetune", "full").prepare(copy.deepcopy(source), 3, reuse_head=True)
    x = torch.from_numpy(toy_domain().X)
    torch.testing.assert_close(model(x), source(x))  # the starting model is the source model
    assert all(p.requires_grad for p in model.head.parameters())
    with pytest.raises(ValueError, match="reuse_head needs a source head with 5 outputs"):
        tk.create("finetune", "full").prepare(copy.deepcopy(source), 5, reuse_head=True)


def test_compare_reuse_head_requires_matching_classes(tmp_path):
    from transferkit.exceptions import ConfigError
    from transferkit.experiments import parse_config, run_compare

    cfg = {"data": {"kind": "digits", "source_classes": [0, 1, 2, 3, 4], "target_classes": [5, 6, 7, 8, 9, 0]},
           "pretrain": {"reuse_head": True}}
    with pytest.raises(ConfigError, match="reuse_head needs the same classes.*source has 5, the target 6"):
        run_compare(parse_config(cfg), tmp_path, progress=False)
