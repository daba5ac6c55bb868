"""A fine-tuning run resumed from its checkpoint ends where an uninterrupted run ends, strategy
state included (LwF's teacher and old-task head, L2-SP's starting point, the unfreezing schedule)."""

from __future__ import annotations

import pytest
import torch

import transferkit as tk
from transferkit.training import OptimConfig, TrainerConfig, fit_finetune

from ._helpers import bn_dropout_backbone, image_domain
from .test_state import assert_same_state


def _fit(name, epochs, ckpt_dir=None, resume=False, calls=None):
    strategy = tk.create("finetune", name)
    model = strategy.prepare(bn_dropout_backbone(num_outputs=4), num_classes=3)
    if calls is not None:
        model.head.register_forward_hook(lambda *_: calls.append(1))
    fit = fit_finetune(
        model, strategy, image_domain(), None,
        TrainerConfig(max_epochs=epochs, accelerator="cpu", batch_size=8, patience=0),
        OptimConfig(name="sgd", lr=0.05), seed=0, ckpt_dir=ckpt_dir, resume=resume,
    )
    return fit.model, strategy


@pytest.mark.parametrize("name", ["lwf", "gradual_unfreezing"])
def test_resumed_run_matches_an_uninterrupted_one(name, tmp_path):
    _fit(name, 2, ckpt_dir=tmp_path)  # "killed" after two epochs
    calls: list = []
    resumed, resumed_strategy = _fit(name, 3, ckpt_dir=tmp_path, resume=True, calls=calls)
    assert len(calls) == 3  # only the third epoch ran (24 samples, batches of 8)
    straight, straight_strategy = _fit(name, 3)
    assert_same_state(resumed.state_dict(), straight.state_dict(), "model")
    assert_same_state(resumed_strategy.state_dict(), straight_strategy.state_dict(), "strategy")
    assert not torch.equal(resumed.head.weight, bn_dropout_backbone(num_outputs=3).head.weight)
