"""LoRA: low-rank adapters on a frozen pretrained encoder, through peft.

Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang, Chen, "LoRA: Low-Rank Adaptation of Large
Language Models", ICLR 2022. Each adapted weight ``W0`` (``d_out x d_in``) becomes
``W0 + (alpha / r) * B A`` with ``A`` (``r x d_in``, random) and ``B`` (``d_out x r``, zero at
the start, so the adapted model starts equal to the pretrained one) (Eq. 3 and Sec. 4.1).
Only ``A``, ``B`` and the new task head train: ``r * (d_in + d_out)`` parameters per adapted
Linear, ``r * (c_in * k * k + c_out)`` per adapted ``k x k`` Conv2d.

peft has no LoRA layer for ``nn.LSTM``/``nn.GRU``: their weight matrices get the same update
through :mod:`transferkit.finetune._lora_rnn` (a ``torch.nn.utils.parametrize`` low-rank term,
``r * (d_in + d_out)`` parameters per matrix), so the recurrent backbone adapts like the others
and a model with only recurrent layers does not need peft at all.

The adapters are peft's (``peft.inject_adapter_in_model`` with a ``LoraConfig``), injected in
place into the backbone, which keeps its protocol (``features``, ``head``, ``layer_groups``)::

    lora = transferkit.create("finetune", "lora", r=8, alpha=16)
    model = lora.prepare(backbone, num_classes=2)      # only adapters + head train
    ...train with lora.param_groups(model, lr)...
    state = lora.adapter_state_dict(model)             # the small file to keep
    lora.merge(model)                                  # fold B A into W0, drop the adapters
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from torch import Tensor, nn

from .._registry import register
from .._utils import require
from ..backbones._base import Backbone
from ..exceptions import ConfigError
from . import _lora_rnn
from ._base import FineTuneStrategy, check_lr_scale

__all__ = ["LoRA", "lora_target_modules"]

_ADAPTER = "default"
_EXCLUDED_ROOTS = ("head",)


def _excluded(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in _EXCLUDED_ROOTS)


def lora_target_modules(model: nn.Module) -> list[str]:
    """Names of every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and recurrent layer
    (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``) of the encoder (heads excluded).

    Grouped/depthwise convolutions are left out: peft cannot merge adapters into them.
    """
    names = []
    for name, module in model.named_modules():
        if not name or _excluded(name):
            continue
        if (isinstance(module, nn.Linear) or _lora_rnn.is_recurrent(module)
                or (isinstance(module, (nn.Conv1d, nn.Conv2d)) and module.groups == 1)):
            names.append(name)
    return names


@register("finetune", "lora")
class LoRA(FineTuneStrategy):
    """LoRA (Hu et al., ICLR 2022): train rank-``r`` adapters of the encoder and the head only.

    Args:
        r: rank of each update ``B A`` (paper: 1-64; 8 is the common default).
        alpha: scaling numerator; the update is multiplied by ``alpha / r`` (Sec. 4.1).
        dropout: dropout on the adapter input (0.0 in the paper's GPT-3 runs; 0.1 for RoBERTa);
            Linear/Conv adapters only (a recurrent layer's adapter has no input to drop).
        target_modules: ``"auto"`` (every Linear, non-grouped Conv1d/Conv2d and LSTM/GRU/RNN
            layer of the encoder), a list
            of module-name suffixes (``["query", "value"]`` is the paper's choice for
            attention), or a regular expression that must match a full module name.
        backbone_lr_scale: multiplies the base learning rate for the adapters (the head trains
            at the base rate); 1.0 since adapters start at zero and tolerate large rates.
    """

    def __init__(
        self,
        r: int = 8,
        alpha: float = 16.0,
        dropout: float = 0.0,
        target_modules: str | Sequence[str] = "auto",
        backbone_lr_scale: float = 1.0,
    ):
        if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
            raise ConfigError(f"r must be an integer > 0, got {r!r}")
        if not alpha > 0:
            raise ConfigError(f"alpha must be > 0, got {alpha}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        if isinstance(target_modules, str):
            if target_modules != "auto":
                try:
                    re.compile(target_modules)
                except re.error as err:
                    raise ConfigError(
                        f"target_modules must be 'auto', a list of names or a valid regular "
                        f"expression, got {target_modules!r} ({err})"
                    ) from None
        else:
            target_modules = [str(t) for t in target_modules]
            if not target_modules:
                raise ConfigError("target_modules must not be empty; use 'auto' for all layers")
        self.r = int(r)
        self.alpha = float(alpha)
        self.dropout = float(dropout)
        self.target_modules = target_modules
        self.backbone_lr_scale = check_lr_scale(backbone_lr_scale)

    # ------------------------------------------------------------------ configuration

    def _resolve_targets(self, model: nn.Module) -> list[str]:
        candidates = lora_target_modules(model)
        if self.target_modules == "auto":
            chosen = candidates
        elif isinstance(self.target_modules, str):
            pattern = re.compile(self.target_modules)
            chosen = [n for n in candidates if pattern.fullmatch(n)]
        else:
            chosen = [
                n
                for n in candidates
                if any(n == t or n.endswith("." + t) for t in self.target_modules)
            ]
        if not chosen:
            sample = ", ".join(candidates[:6]) + (", ..." if len(candidates) > 6 else "")
            raise ConfigError(
                f"target_modules={self.target_modules!r} matches no Linear/Conv/recurrent layer of the "
                f"encoder; candidates: {sample or 'none'}"
            )
        return chosen

    def _split_targets(self, model: nn.Module) -> tuple[list[str], list[str]]:
        """(targets peft adapts, recurrent targets adapted by :mod:`._lora_rnn`)."""
        targets = self._resolve_targets(model)
        recurrent = [n for n in targets if _lora_rnn.is_recurrent(model.get_submodule(n))]
        return [n for n in targets if n not in recurrent], recurrent

    def config(self, model: nn.Module):
        """The ``peft.LoraConfig`` this strategy injects into ``model`` (its Linear/Conv
        targets; ``None`` where every target is a recurrent layer)."""
        return self._peft_config(self._split_targets(model)[0])

    def _peft_config(self, targets: list[str]):
        if not targets:
            return None
        peft = require("peft", "adapters")
        pattern = "^(" + "|".join(re.escape(t) for t in targets) + ")$"
        return peft.LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=pattern,
            bias="none",
        )

    def _check_prepare(self, backbone: Backbone, num_classes: int, reuse_head: bool) -> None:
        # refused before prepare resets the head or unfreezes anything: the model stays as it was
        if getattr(backbone, "peft_config", None) or _lora_rnn.has_recurrent_lora(backbone):
            raise ConfigError("this model already carries LoRA adapters; prepare a fresh backbone")
        super()._check_prepare(backbone, num_classes, reuse_head)

    def _configure(self, model: Backbone) -> None:
        targets, recurrent = self._split_targets(model)
        config = self._peft_config(targets)
        if config is not None:
            peft = require("peft", "adapters")
            peft.inject_adapter_in_model(config, model, adapter_name=_ADAPTER)
        _lora_rnn.add_recurrent_lora(model, recurrent, self.r, self.alpha)
        for name, p in model.named_parameters():
            p.requires_grad_("lora_" in name)
        for p in model.head.parameters():
            p.requires_grad_(True)

    # ------------------------------------------------------------------ utilities

    @staticmethod
    def adapter_state_dict(model: nn.Module) -> dict[str, Tensor]:
        """The adapter weights only (peft's ``get_peft_model_state_dict``, plus the recurrent
        layers' adapters)."""
        state = _lora_rnn.recurrent_lora_state_dict(model)
        if getattr(model, "peft_config", None):
            peft = require("peft", "adapters")
            state.update(peft.get_peft_model_state_dict(model, adapter_name=_ADAPTER))
        return state

    @staticmethod
    def load_adapter_state_dict(model: nn.Module, state: dict[str, Tensor]) -> None:
        """Load adapter weights saved by :meth:`adapter_state_dict` into a prepared model."""
        unexpected = _lora_rnn.load_recurrent_lora_state_dict(
            model, {k: v for k, v in state.items() if ".parametrizations." in k})
        rest = {k: v for k, v in state.items() if ".parametrizations." not in k}
        if not getattr(model, "peft_config", None):
            unexpected += list(rest)
        else:
            peft = require("peft", "adapters")
            result = peft.set_peft_model_state_dict(model, rest, adapter_name=_ADAPTER)
            unexpected += list(getattr(result, "unexpected_keys", []) or [])
        if unexpected:
            raise ConfigError(
                f"adapter state does not fit this model: {len(unexpected)} unexpected keys "
                f"(e.g. {', '.join(unexpected[:3])})"
            )

    @staticmethod
    def trainable_parameters(model: nn.Module) -> tuple[int, int]:
        """``(adapter parameters, head parameters)`` that train."""
        adapters = sum(
            p.numel() for n, p in model.named_parameters() if "lora_" in n and p.requires_grad
        )
        head = sum(p.numel() for p in model.head.parameters() if p.requires_grad)
        return adapters, head

    @staticmethod
    def merge(model: nn.Module) -> nn.Module:
        """Fold every adapter into its base weight and put the plain layer back (peft's
        ``merge_and_unload``); the model computes the same function without the adapters."""
        _lora_rnn.merge_recurrent_lora(model)
        if not getattr(model, "peft_config", None):
            return model
        require("peft", "adapters")
        from peft.tuners.lora import LoraLayer

        for name, module in list(model.named_modules()):
            if isinstance(module, LoraLayer):
                module.merge(safe_merge=True)
                parent_name, _, child = name.rpartition(".")
                parent = model.get_submodule(parent_name) if parent_name else model
                setattr(parent, child, module.get_base_layer())
        if hasattr(model, "peft_config"):
            del model.peft_config
        return model
