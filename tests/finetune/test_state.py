"""Strategy state lives in the strategy, not in the model, for every registered strategy.

A fine-tuned model's ``state_dict()`` loads with ``strict=True`` into a freshly created backbone
of the same name (or through ``create_backbone(..., checkpoint=...)``) and computes the same
outputs; LoRA changes the module structure, so for it the contract holds after
``strategy.merge(model)``. ``strategy.state_dict()`` survives ``torch.save`` / ``torch.load``
(weights only) and ``load_state_dict`` restores it into a strategy prepared elsewhere.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import transferkit as tk
from transferkit.backbones import create_backbone

from ._helpers import image_domain

STRATEGIES = [m.name for m in tk.list_methods("finetune")]
ARCH = {"widths": (4, 8)}


def pretrained(seed: int = 1, num_outputs: int = 4):
    torch.manual_seed(seed)
    return create_backbone("small_resnet", num_outputs=num_outputs, **ARCH)


def make(name):
    if name == "lora":
        pytest.importorskip("peft")
    return tk.create("finetune", name)


def batch():
    d = image_domain(channels=3)
    return torch.from_numpy(d.X), torch.from_numpy(d.y)


def train_a_few_steps(strategy, model, steps: int = 3):
    x, y = batch()
    opt = torch.optim.SGD(strategy.param_groups(model, lr=0.05), lr=0.05)
    for epoch in range(steps):
        strategy.on_epoch_start(model, epoch)
        model.train()
        feats = model.features(x)
        logits = model.head(feats)
        loss = F.cross_entropy(logits, y) + strategy.regularizer(model, x, feats, logits)
        opt.zero_grad()
        loss.backward()
        opt.step()


def assert_same_state(a, b, path="state"):
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            assert_same_state(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    else:
        assert a == b, path


@pytest.mark.parametrize("name", STRATEGIES)
def test_finetuned_model_loads_into_a_fresh_backbone(name, tmp_path):
    strategy = make(name)
    model = strategy.prepare(pretrained(), num_classes=3)
    twin = copy.deepcopy(model)  # compare.py and best-state keeping copy prepared models
    assert twin.state_dict().keys() == model.state_dict().keys()
    train_a_few_steps(strategy, model)
    if name == "lora":
        model = strategy.merge(model)
    fresh = create_backbone("small_resnet", num_outputs=3, **ARCH)
    fresh.load_state_dict(model.state_dict(), strict=True)
    torch.save(model.state_dict(), tmp_path / "finetuned.pt")
    reloaded = create_backbone("small_resnet", num_outputs=3, checkpoint=tmp_path / "finetuned.pt", **ARCH)
    x, _ = batch()
    model.eval()
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(fresh.eval()(x), expected)
        assert torch.equal(reloaded.eval()(x), expected)


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_state_round_trip(name, tmp_path):
    strategy = make(name)
    model = strategy.prepare(pretrained(seed=1), num_classes=3)
    train_a_few_steps(strategy, model)
    torch.save(strategy.state_dict(), tmp_path / "strategy.pt")
    saved = torch.load(tmp_path / "strategy.pt", weights_only=True)

    # prepared on *other* pretrained weights: only load_state_dict can make it equal
    restored = make(name)
    restored.prepare(pretrained(seed=2), num_classes=3)
    restored.load_state_dict(saved)
    assert_same_state(restored.state_dict(), strategy.state_dict())

    x, _ = batch()
    model.eval()
    with torch.no_grad():
        feats = model.features(x)
        logits = model.head(feats)
        assert torch.equal(
            restored.regularizer(model, x, feats, logits), strategy.regularizer(model, x, feats, logits)
        )
    copy.deepcopy(strategy).load_state_dict(strategy.state_dict())


@pytest.mark.parametrize("name", STRATEGIES)
def test_foreign_strategy_state_is_rejected_by_name(name):
    strategy = make(name)
    strategy.prepare(pretrained(), num_classes=3)
    with pytest.raises(ValueError, match=r"state does not match: .*unexpected keys \['bogus'\]"):
        strategy.load_state_dict({**strategy.state_dict(), "bogus": torch.zeros(1)})


def test_lwf_state_holds_the_teacher_and_the_old_task_head():
    strategy = tk.create("finetune", "lwf")
    source = pretrained()
    strategy.prepare(copy.deepcopy(source), num_classes=3)
    state = strategy.state_dict()
    assert set(state) == {"teacher", "source_head"}
    assert_same_state(state["teacher"], source.state_dict())
    assert_same_state(state["source_head"], source.head.state_dict())
    with pytest.raises(ValueError, match="prepare the strategy on the same backbone"):
        tk.create("finetune", "lwf").load_state_dict(state)
