"""Sequence backbones: the published layer sizes, any length, and every transfer algorithm
running a step on each (fine-tuning strategies, DANN, hard sharing)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transferkit as tk
from transferkit.adaptation import build_method
from transferkit.backbones import create_backbone
from transferkit.multitask import Task

SEQUENCE = ["fcn", "resnet1d", "inception_time", "rnn", "ts_transformer"]
#: small widths so each step stays fast; the defaults are checked in test_published_sizes
SMALL = {
    "fcn": {"filters": (8, 16, 8)},
    "resnet1d": {"filters": (8, 16, 16)},
    "inception_time": {"n_filters": 4, "bottleneck": 4, "kernel_sizes": (9, 5, 3)},
    "rnn": {"hidden": 8},
    "ts_transformer": {"d_model": 8, "nhead": 2, "dim_feedforward": 16},
}
STRATEGIES = [m.name for m in tk.list_methods("finetune")]


def _strategy_cases():
    """Every strategy on every sequence net (LoRA included: peft adapts the Linear/Conv1d
    layers, ``finetune._lora_rnn`` the LSTM/GRU weights; tests/timeseries/test_lora_rnn.py)."""
    return [pytest.param(name, strategy, id=f"{name}-{strategy}") for name in SEQUENCE for strategy in STRATEGIES]


def small(name, in_channels=2, num_outputs=4, **kw):
    torch.manual_seed(0)
    return create_backbone(name, in_channels=in_channels, num_outputs=num_outputs, **{**SMALL[name], **kw})


def series(n=6, c=2, t=20, seed=0):
    return torch.randn(n, c, t, generator=torch.Generator().manual_seed(seed))


def test_fcn_and_resnet_have_the_published_layers():
    """Wang, Yan & Oates (IJCNN 2017): FCN 128/8, 256/5, 128/3; ResNet blocks 64, 128, 128
    of kernels 8, 5, 3; InceptionTime (Ismail Fawaz et al. 2020): 32 filters of 40, 20, 10."""
    convs = [m for m in create_backbone("fcn").modules() if isinstance(m, nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(128, 8), (256, 5), (128, 3)]
    res = create_backbone("resnet1d")
    body = [(c.out_channels, c.kernel_size[0]) for g in res.layer_groups()
            for n, c in g.named_modules() if isinstance(c, nn.Conv1d) and "shortcut" not in n]
    assert body == [(64, 8), (64, 5), (64, 3), (128, 8), (128, 5), (128, 3), (128, 8), (128, 5), (128, 3)]
    inc = create_backbone("inception_time")
    lengths = sorted({c.kernel_size[0] for c in inc.modules() if isinstance(c, nn.Conv1d)})
    assert lengths == [1, 10, 20, 40] and len(inc.layer_groups()) == 2
    assert sum(isinstance(m, nn.BatchNorm1d) for m in inc.modules()) == 6 + 2  # modules + shortcuts
    # FCN parameter count from the layer sizes alone (conv + batch norm, 1 input channel)
    expected = (1 * 128 * 8 + 128) + (128 * 256 * 5 + 256) + (256 * 128 * 3 + 128) + 2 * (128 + 256 + 128)
    assert sum(p.numel() for p in create_backbone("fcn").parameters()) == expected


@pytest.mark.parametrize("name", SEQUENCE)
def test_any_length_and_univariate_input(name):
    model = small(name, in_channels=1).eval()
    with torch.no_grad():
        for t in (5, 31):
            assert model(torch.randn(3, 1, t)).shape == (3, 4)
        x = torch.randn(3, 17)
        torch.testing.assert_close(model(x), model(x.unsqueeze(1)))
    with pytest.raises(ValueError, match="in_channels=1 but got series with 3 channels"):
        model(torch.randn(2, 3, 10))


@pytest.mark.parametrize("name", SEQUENCE)
def test_features_are_invariant_to_batch_composition(name):
    """Eval-mode features of one series do not depend on the others in its batch."""
    model = small(name).eval()
    x = series()
    with torch.no_grad():
        torch.testing.assert_close(model.features(x)[:2], model.features(x[:2]), atol=1e-5, rtol=1e-5)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="in_channels must be > 0, got 0"):
        create_backbone("fcn", in_channels=0)
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'gru'"):
        create_backbone("rnn", cell="tcn")
    with pytest.raises(ValueError, match="multiple of nhead"):
        create_backbone("ts_transformer", d_model=10, nhead=4)
    with pytest.raises(ValueError, match="depth must be a multiple of residual_every"):
        create_backbone("inception_time", depth=4)
    with pytest.raises(ValueError, match="no pretrained weights"):
        create_backbone("fcn", pretrained=True)


@pytest.mark.parametrize("name, strategy_name", _strategy_cases())
def test_every_finetune_strategy_runs_a_step(name, strategy_name):
    model = small(name, num_outputs=5)  # the source head (5 classes)
    strategy = tk.create("finetune", strategy_name)
    model = strategy.prepare(model, num_classes=3)
    model.train()
    strategy.on_epoch_start(model, 0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(strategy.param_groups(model, lr=0.1), lr=0.1)
    x, y = series(), torch.arange(6) % 3
    feats = model.features(x)
    logits = model.head(feats)
    loss = F.cross_entropy(logits, y) + strategy.regularizer(model, x, feats, logits)
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert any(n.startswith("head.") or "head" in n for n in changed), f"{strategy_name}: the head did not train"


@pytest.mark.parametrize("name", SEQUENCE)
def test_dann_runs_a_step(name):
    model = small(name, num_outputs=3)
    method = build_method("dann", model.feature_dim, 3, hidden=(8,))
    opt = torch.optim.SGD([*model.parameters(), *method.parameters()], lr=0.1)
    x_s, x_t, y_s = series(seed=1), series(n=4, seed=2), torch.arange(6) % 3
    f_s, f_t = model.features(x_s), model.features(x_t)
    logits_s, logits_t = model.head(f_s), model.head(f_t)
    loss = method.source_loss(logits_s, y_s) + method(f_s, f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s)
    first = model.layer_groups()[0]
    w0 = [p.detach().clone() for p in first.parameters()]
    opt.zero_grad()
    loss.backward()
    grads = [p.grad for p in method.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(w0, first.parameters())), "the encoder did not train"


ARCHS = [m.name for m in tk.list_methods("mtl_architecture")]
ADAPT = [m.name for m in tk.list_methods("adaptation")]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", SEQUENCE)
def test_every_multitask_architecture_runs_a_step(name, arch):
    """Hard sharing (the brief's check) and every other registered architecture."""
    tasks = [Task("a", 3), Task("b", 1, kind="regression")]
    extra = {"mmoe": {"input_dim": 2 * 20, "num_experts": 2}, "progressive": {"input_shape": (2, 20)}}.get(arch, {})
    model = tk.create("mtl_architecture", arch, backbone=small(name, num_outputs=0), tasks=tasks, **extra)
    x = series()
    out = model(x)
    assert out["a"].shape == (6, 3) and out["b"].shape == (6, 1)
    loss = tasks[0].loss(out["a"], torch.arange(6) % 3) + tasks[1].loss(out["b"], torch.randn(6))
    (loss + model.regularization()).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("method_name", ADAPT)
def test_every_adaptation_method_trains_a_sequence_encoder(method_name):
    """Each registered adaptation method's loss reaches the FCN's first block."""
    import inspect

    model = small("fcn", num_outputs=3)
    accepted = inspect.signature(tk.get_method("adaptation", method_name).factory).parameters
    method = build_method(method_name, model.feature_dim, 3, **({"hidden": (8,)} if "hidden" in accepted else {}))
    x_s, x_t, y_s = series(seed=1), series(n=4, seed=2), torch.arange(6) % 3
    f_s, f_t = model.features(x_s), model.features(x_t)
    logits_s, logits_t = model.head(f_s), model.head(f_t)
    if method.has_class_weights:
        method.update_class_weights(logits_t.softmax(1).detach())
    loss = method.source_loss(logits_s, y_s) + method(f_s, f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s)
    assert torch.isfinite(loss)
    loss.backward()
    first = next(model.layer_groups()[0].parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_lora_with_conv1d_targets(monkeypatch):
    """With nn.Conv1d among LoRA's targets, LoRA trains only adapters and head on the FCN and
    its output at the start equals the unadapted model's (B = 0)."""
    from transferkit.finetune import _lora

    def targets(model):
        return [n for n, m in model.named_modules()
                if n and not _lora._excluded(n)
                and (isinstance(m, nn.Linear) or (isinstance(m, (nn.Conv1d, nn.Conv2d)) and m.groups == 1))]

    monkeypatch.setattr(_lora, "lora_target_modules", targets)
    base = small("fcn", num_outputs=3).eval()
    x = series()
    with torch.no_grad():
        before = base.features(x)
    strategy = tk.create("finetune", "lora", r=2)
    model = strategy.prepare(base, num_classes=3).eval()
    with torch.no_grad():
        torch.testing.assert_close(model.features(x), before)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    assert sum("lora_" in n for n in trainable) == 2 * 3  # A and B for each of the 3 convolutions


def test_forecast_pretext_learns_a_predictable_series():
    """On noiseless sine waves of random phase the forecast error falls well below the error of
    predicting zeros (the series' mean)."""
    from transferkit.backbones import ForecastPretext, pretrain_forecasting

    g = torch.Generator().manual_seed(0)
    t = torch.arange(32, dtype=torch.float32)
    x = torch.sin(0.4 * t + 6.28 * torch.rand(64, 1, generator=g)).unsqueeze(1)  # [64, 1, 32]
    model = small("rnn", in_channels=1, num_outputs=0, hidden=16)
    history = pretrain_forecasting(model, x, horizon=4, epochs=15, batch_size=32, lr=1e-2, seed=0)
    zero_mse = float((x[..., -4:] ** 2).mean())  # about 0.5 for a unit sine
    assert len(history) == 15 and history[-1] < 0.25 * zero_mse
    pretext = ForecastPretext(model, 1, horizon=4)
    assert pretext.cut(32) == 28
    with pytest.raises(ValueError, match="horizon must be > 0"):
        ForecastPretext(model, 1, horizon=0)
    with pytest.raises(ValueError, match="leave no past"):
        pretext.loss(torch.randn(2, 1, 4))
