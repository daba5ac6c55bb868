"""LoRA through peft: only adapters and the head train, parameter counts, merge, save/load."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import transferkit
from transferkit.backbones import create_backbone

peft = pytest.importorskip("peft")
pytest.importorskip("torchvision")
pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

from test_backbones_external import TEXTS, make_tiny_bert  # noqa: E402 (after the importorskip above)

from transferkit.finetune._lora import LoRA, lora_target_modules  # noqa: E402


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("bert_lora"))


def _case(kind, tiny_bert):
    torch.manual_seed(0)
    if kind == "resnet":  # Conv2d (3x3 and 1x1) + batch norm, no Linear in the encoder
        return create_backbone("small_resnet", widths=(8, 16)), torch.randn(4, 3, 16, 16)
    if kind == "vit":  # Linear layers + a Conv2d patch embedding
        return create_backbone("timm/vit_tiny_patch16_224", img_size=32, depth=2), torch.randn(
            4, 3, 32, 32
        )
    if kind == "mlp":
        return create_backbone("mlp", in_features=12, hidden=(16, 8)), torch.randn(4, 12)
    model = create_backbone(f"hf/{tiny_bert}", pretrained=True)
    return model, model.encode(TEXTS)


KINDS = ["resnet", "vit", "mlp", "bert"]


def _randomize_b(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)


def _step(strategy, model, x, lr=0.1):
    strategy.on_epoch_start(model, 0)
    model.train()
    strategy.on_epoch_start(model, 0)  # frozen modules (batch norm) back in eval
    opt = torch.optim.SGD(strategy.param_groups(model, lr=lr), lr=lr)
    y = torch.arange(4) % 3
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    model.eval()


@pytest.mark.parametrize("kind", KINDS)
def test_only_adapters_and_head_are_updated(kind, tiny_bert):
    model, x = _case(kind, tiny_bert)
    model.eval()
    with torch.no_grad():
        before_feats = model.features(x)
    lora = LoRA(r=4, alpha=8)
    model = lora.prepare(model, num_classes=3)
    with torch.no_grad():  # B = 0 at the start: the adapted encoder is the pretrained one
        assert torch.allclose(model.features(x), before_feats, atol=1e-6)
    _randomize_b(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    _step(lora, model, x)
    after = model.state_dict()
    changed = {k for k in state if not torch.equal(state[k], after[k])}
    trainable = {k for k in state if "lora_" in k or k.startswith("head.")}
    assert changed, "nothing trained"
    assert changed <= trainable, f"frozen tensors changed: {sorted(changed - trainable)[:3]}"
    assert any("lora_A" in k for k in changed) and any(k.startswith("head.") for k in changed)
    for name, p in model.named_parameters():
        assert p.requires_grad == ("lora_" in name or name.startswith("head.")), name


def _formula(module: nn.Module, r: int) -> int:
    if isinstance(module, nn.Linear):
        return r * (module.in_features + module.out_features)
    k = module.kernel_size[0] * module.kernel_size[1]
    return r * (module.in_channels * k) + module.out_channels * r


@pytest.mark.parametrize("kind", KINDS)
def test_trainable_count_matches_peft_and_formula(kind, tiny_bert):
    model, _ = _case(kind, tiny_bert)
    reference = copy.deepcopy(model)
    targets = lora_target_modules(model)
    expected = sum(_formula(model.get_submodule(t), 8) for t in targets)
    lora = LoRA()  # r=8, alpha=16, dropout=0, auto targets
    config = lora.config(model)
    model = lora.prepare(model, num_classes=3)
    adapters, head = lora.trainable_parameters(model)
    assert adapters == expected
    assert head == model.feature_dim * 3 + 3
    # peft's own wrapper on the same model and config counts the same adapter parameters
    reference.reset_head(0)
    peft_model = peft.get_peft_model(reference, copy.deepcopy(config))
    peft_trainable, _ = peft_model.get_nb_trainable_parameters()
    assert peft_trainable == adapters


def test_attention_targets_on_bert(tiny_bert):
    model, _ = _case("bert", tiny_bert)
    lora = LoRA(r=2, target_modules=["query", "value"])
    model = lora.prepare(model, num_classes=2)
    adapted = [n for n, _ in model.named_modules() if n.endswith(("query.lora_A", "value.lora_A"))]
    assert len(adapted) == 2 * 2  # two layers x (query, value)
    assert lora.trainable_parameters(model)[0] == 4 * 2 * (32 + 32)
    assert not any("key.lora_A" in n for n, _ in model.named_modules())


@pytest.mark.parametrize("kind", KINDS)
def test_merge_keeps_outputs_and_removes_adapters(kind, tiny_bert):
    model, x = _case(kind, tiny_bert)
    lora = LoRA(r=4, alpha=8)
    model = lora.prepare(model, num_classes=3)
    _randomize_b(model)
    _step(lora, model, x)
    with torch.no_grad():
        adapted = model(x)
    lora.merge(model)
    assert not any("lora_" in n for n, _ in model.named_parameters())
    assert not any(type(m).__module__.startswith("peft") for m in model.modules()), (
        "peft layers remain after merge"
    )
    with torch.no_grad():
        assert torch.allclose(model(x), adapted, atol=1e-5)


@pytest.mark.parametrize("kind", ["resnet", "bert"])
def test_adapter_state_round_trip(kind, tiny_bert, tmp_path):
    model, x = _case(kind, tiny_bert)
    lora = LoRA(r=4, alpha=8)
    model = lora.prepare(model, num_classes=3)
    _randomize_b(model)
    _step(lora, model, x)
    state = lora.adapter_state_dict(model)
    assert state and all("lora_" in k for k in state)
    torch.save({"adapters": state, "head": model.head.state_dict()}, tmp_path / "adapter.pt")
    fresh, _ = _case(kind, tiny_bert)  # same seed: the same pretrained encoder
    fresh = LoRA(r=4, alpha=8).prepare(fresh, num_classes=3)
    saved = torch.load(tmp_path / "adapter.pt", weights_only=True)
    LoRA.load_adapter_state_dict(fresh, saved["adapters"])
    fresh.head.load_state_dict(saved["head"])
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(x), model(x))


def test_hyperparameters_are_validated_and_registered():
    assert "lora" in {m.name for m in transferkit.list_methods("finetune")}
    made = transferkit.create("finetune", "lora", r=4, alpha=32.0, dropout=0.1)
    assert (made.r, made.alpha, made.dropout) == (4, 32.0, 0.1)
    assert (LoRA().r, LoRA().alpha, LoRA().dropout, LoRA().target_modules) == (8, 16.0, 0.0, "auto")
    with pytest.raises(ValueError, match="r must be an integer > 0, got 0"):
        LoRA(r=0)
    with pytest.raises(ValueError, match="alpha must be > 0, got -1"):
        LoRA(alpha=-1)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        LoRA(dropout=1.0)
    with pytest.raises(ValueError, match="must not be empty"):
        LoRA(target_modules=[])
    with pytest.raises(ValueError, match="regular"):
        LoRA(target_modules="(")
    model = create_backbone("mlp", in_features=4, hidden=(8,))
    with pytest.raises(ValueError, match="matches no Linear/Conv"):
        LoRA(target_modules=["query"]).prepare(model, num_classes=2)
    model = LoRA().prepare(create_backbone("mlp", in_features=4, hidden=(8,)), num_classes=2)
    with pytest.raises(ValueError, match="already carries LoRA"):
        LoRA().prepare(model, num_classes=2)
