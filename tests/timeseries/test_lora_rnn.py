"""LoRA on the recurrent backbone: a low-rank update of every LSTM/GRU weight matrix
(``finetune._lora_rnn``), checked against a plain LSTM/GRU run with the updated weights."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from transferkit.backbones import create_backbone
from transferkit.finetune._lora import LoRA

CELLS = ["lstm", "gru"]


def rnn(cell, hidden=6, num_layers=2, in_channels=2):
    torch.manual_seed(0)
    return create_backbone("rnn", cell=cell, hidden=hidden, num_layers=num_layers,
                           in_channels=in_channels, num_outputs=5)


def series(n=4, c=2, t=9, seed=0):
    return torch.randn(n, c, t, generator=torch.Generator().manual_seed(seed))


def _randomize_b(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)


def _recurrent(model):
    return [m for m in model.modules() if isinstance(m, nn.RNNBase)]


@pytest.mark.parametrize("cell", CELLS)
def test_starts_unchanged_and_only_adapters_and_head_train(cell):
    model, x = rnn(cell).eval(), series()
    with torch.no_grad():
        before = model.features(x)
    lora = LoRA(r=2, alpha=4)
    model = lora.prepare(model, num_classes=3).eval()
    with torch.no_grad():  # B = 0: the adapted encoder is the pretrained one
        torch.testing.assert_close(model.features(x), before)
    for name, p in model.named_parameters():
        assert p.requires_grad == ("lora_" in name or name.startswith("head.")), name
    _randomize_b(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    opt = torch.optim.SGD(lora.param_groups(model, lr=0.1), lr=0.1)
    F.cross_entropy(model(x), torch.arange(4) % 3).backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, state[k])}
    assert any("lora_A" in k for k in changed) and any("lora_B" in k for k in changed)
    assert any(k.startswith("head.") for k in changed)
    assert all("lora_" in k or k.startswith("head.") for k in changed), sorted(changed)


@pytest.mark.parametrize("cell", CELLS)
def test_update_is_w0_plus_scaled_ba_inside_the_fused_layer(cell):
    """The adapted layer computes what a plain nn.LSTM/nn.GRU computes with weights
    W0 + (alpha / r) B A built by hand (Hu et al. 2022, Eq. 3), for every weight matrix."""
    model = rnn(cell)
    plain = [(m, {n: p.detach().clone() for n, p in m.named_parameters()}) for m in _recurrent(model)]
    r, alpha = 3, 6.0
    model = LoRA(r=r, alpha=alpha).prepare(model, num_classes=3)
    _randomize_b(model)
    z = torch.randn(3, 7, 2)
    for (_, w0), adapted in zip(plain, _recurrent(model)):
        weights = dict(w0)
        n_matrices = 0
        for name, update in adapted.parametrizations.items():
            weights[name] = w0[name] + (alpha / r) * update[0].lora_B @ update[0].lora_A
            n_matrices += 1
        assert n_matrices == 2  # weight_ih_l0 and weight_hh_l0 of this one-layer module
        reference = type(adapted)(adapted.input_size, adapted.hidden_size, batch_first=True)
        with torch.no_grad():
            expected = functional_call(reference, weights, (z,))[0]
            torch.testing.assert_close(adapted(z)[0], expected)
            assert not torch.allclose(expected, functional_call(reference, w0, (z,))[0])
        z = torch.randn(3, 7, adapted.hidden_size)  # the next layer's input


@pytest.mark.parametrize("cell", CELLS)
def test_adapter_count_merge_and_state_round_trip(cell):
    hidden, gates, r = 6, {"lstm": 4, "gru": 3}[cell], 2
    model, x = rnn(cell, hidden=hidden), series()
    lora = LoRA(r=r, alpha=4)
    model = lora.prepare(model, num_classes=3)
    # per layer: W_ih [G*H, d_in] and W_hh [G*H, H], each r * (d_in + d_out) parameters
    expected = r * ((2 + gates * hidden) + (hidden + gates * hidden)) + 2 * r * (hidden + gates * hidden)
    assert lora.trainable_parameters(model) == (expected, hidden * 3 + 3)
    _randomize_b(model)
    model.eval()
    state = lora.adapter_state_dict(model)
    assert len(state) == 2 * 4 and all("lora_" in k for k in state)
    fresh = LoRA(r=r, alpha=4).prepare(rnn(cell, hidden=hidden), num_classes=3).eval()
    fresh.head.load_state_dict(model.head.state_dict())
    LoRA.load_adapter_state_dict(fresh, state)
    with torch.no_grad():
        adapted = model(x)
        torch.testing.assert_close(fresh(x), adapted)
    with pytest.raises(ValueError, match="unexpected keys"):
        LoRA.load_adapter_state_dict(fresh, {"blocks.9.parametrizations.weight_hh_l0.0.lora_A": state[next(iter(state))]})
    with pytest.raises(ValueError, match="already carries LoRA"):
        LoRA().prepare(model, num_classes=3)
    lora.merge(model)
    assert not any("lora_" in n or "parametrizations" in n for n, _ in model.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(model(x), adapted, atol=1e-6, rtol=1e-5)
