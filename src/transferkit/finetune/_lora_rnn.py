"""LoRA for recurrent layers (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``), which peft does not adapt.

Each weight matrix of a recurrent layer (``weight_ih_l{k}``: ``[G * H, d_in]`` and
``weight_hh_l{k}``: ``[G * H, H]``, ``G`` = 4 gates for the LSTM, 3 for the GRU; also the
``_reverse`` and projection weights when present) gets the update of Hu et al. (ICLR 2022,
Eq. 3), ``W0 + (alpha / r) B A`` with ``A`` (``r x d_in``, Kaiming-uniform as peft initialises
it) and ``B`` (``d_out x r``, zero, so the adapted layer starts equal to the pretrained one).
The stacked gate matrix is one matrix to LoRA, as a Linear of ``G * H`` outputs would be.

The update is a ``torch.nn.utils.parametrize`` parametrisation of the weight: the layer keeps
its fused recurrent kernel (``nn.LSTM.forward`` re-reads its weights when they change), so the
cost is one ``r``-rank product per weight and call, not a Python loop over time steps. Biases
stay frozen (peft's ``bias="none"``). LoRA's input dropout has no weight-space form and does
not apply to these adapters. A parametrised module cannot be pickled whole (torch refuses
``torch.save(model)``); save ``adapter_state_dict`` or ``state_dict()``, or ``merge`` first.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

__all__ = ["LowRankUpdate", "is_recurrent", "add_recurrent_lora", "recurrent_lora_state_dict",
           "load_recurrent_lora_state_dict", "merge_recurrent_lora", "has_recurrent_lora"]


class LowRankUpdate(nn.Module):
    """Parametrisation ``W -> W + scale * B A`` (``A``: ``[r, d_in]``, ``B``: ``[d_out, r]``, zero)."""

    def __init__(self, d_out: int, d_in: int, r: int, scale: float):
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(r, d_in))
        self.lora_B = nn.Parameter(torch.zeros(d_out, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = float(scale)

    def forward(self, weight: Tensor) -> Tensor:
        return weight + self.scale * (self.lora_B @ self.lora_A)


def is_recurrent(module: nn.Module) -> bool:
    return isinstance(module, nn.RNNBase)


def _weight_names(module: nn.RNNBase) -> list[str]:
    return [n for n in module._flat_weights_names if n.startswith("weight_")]


def has_recurrent_lora(model: nn.Module) -> bool:
    return any(is_recurrent(m) and parametrize.is_parametrized(m) for m in model.modules())


def add_recurrent_lora(model: nn.Module, names: list[str], r: int, alpha: float) -> int:
    """Parametrise every weight matrix of the recurrent modules ``names``; returns how many."""
    count = 0
    for name in names:
        module = model.get_submodule(name)
        for wname in _weight_names(module):
            weight = getattr(module, wname)
            update = LowRankUpdate(weight.shape[0], weight.shape[1], r, alpha / r).to(weight)
            parametrize.register_parametrization(module, wname, update)
            count += 1
    return count


def recurrent_lora_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """``A`` and ``B`` of every recurrent adapter, under their names in ``model.state_dict()``."""
    return {k: v for k, v in model.state_dict().items() if ".parametrizations." in k and ".lora_" in k}


def load_recurrent_lora_state_dict(model: nn.Module, state: dict[str, Tensor]) -> list[str]:
    """Copy the recurrent adapters of ``state`` into ``model``; returns the keys it does not have."""
    own = recurrent_lora_state_dict(model)
    unexpected = [k for k in state if k not in own]
    with torch.no_grad():
        for k, v in state.items():
            if k in own:
                own[k].copy_(v)
    return unexpected


def merge_recurrent_lora(model: nn.Module) -> None:
    """Fold ``scale * B A`` into each recurrent weight and drop the parametrisations."""
    for module in model.modules():
        if is_recurrent(module) and parametrize.is_parametrized(module):
            for wname in list(module.parametrizations.keys()):
                parametrize.remove_parametrizations(module, wname, leave_parametrized=True)
            module._init_flat_weights()
