"""Train/eval mode under fine-tuning: a sub-module is in eval mode iff all its parameters are
frozen, whenever the trainable set changes and whenever the model is put in train mode.

Frozen layers must compute what the pretrained ones did (batch-norm statistics fixed, dropout
off); layers that train must train for real (statistics follow the target data, dropout on).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import transferkit as tk
from transferkit.finetune import GradualUnfreezing
from transferkit.training import FineTuneModule, OptimConfig, TrainerConfig, fit_finetune

from ._helpers import bn_buffers, bn_dropout_backbone, image_domain


def _modes(group) -> set[bool]:
    return {m.training for m in group.modules()}


def _check_epoch(groups, n_train, before, after, epoch):
    n = len(groups)
    for i, g in enumerate(groups):
        trains = i >= n - n_train
        assert _modes(g) == {trains}, f"epoch {epoch}: group {i} (trains={trains}) has modes {_modes(g)}"
        moved = [k for k in after[i] if not torch.equal(after[i][k], before[i][k])]
        if trains:
            assert any(k.endswith("running_mean") for k in moved), (
                f"epoch {epoch}: group {i} trains but its batch-norm statistics did not move"
            )
        else:
            assert not moved, f"epoch {epoch}: frozen group {i} changed {moved}"


@pytest.mark.parametrize("call_train", ["never", "after_on_epoch_start"])
def test_gradual_unfreezing_in_a_plain_loop(call_train):
    strategy = GradualUnfreezing(every=1)
    model = strategy.prepare(bn_dropout_backbone(), num_classes=3)
    groups = model.layer_groups()
    d = image_domain()
    x, y = torch.from_numpy(d.X), torch.from_numpy(d.y)
    opt = torch.optim.SGD(strategy.param_groups(model, lr=0.05), lr=0.05)
    for epoch in range(len(groups) + 1):
        strategy.on_epoch_start(model, epoch)
        if call_train == "after_on_epoch_start":
            model.train()  # e.g. after evaluating the model between epochs
        before = [bn_buffers(g) for g in groups]
        for _ in range(2):
            feats = model.features(x)
            logits = model.head(feats)
            loss = F.cross_entropy(logits, y) + strategy.regularizer(model, x, feats, logits)
            opt.zero_grad()
            loss.backward()
            opt.step()
        _check_epoch(groups, min(epoch, len(groups)), before, [bn_buffers(g) for g in groups], epoch)
        assert model.head.training


class _RecordingUnfreezing(GradualUnfreezing):
    """Gradual unfreezing that remembers the epoch it was last stepped to."""

    epoch: int | None = None

    def on_epoch_start(self, model, epoch):
        super().on_epoch_start(model, epoch)
        self.epoch = epoch


def test_gradual_unfreezing_through_lightning():
    strategy = _RecordingUnfreezing(every=1)
    model = strategy.prepare(bn_dropout_backbone(), num_classes=3)
    groups = model.layer_groups()
    seen: dict[int, list] = {}  # epoch -> per group: (modes, batch-norm buffers) at its first batch

    def hook(i):
        def record(module, args):
            per_group = seen.setdefault(strategy.epoch, [None] * len(groups))
            if per_group[i] is None:
                per_group[i] = (_modes(module), bn_buffers(module))
        return record

    handles = [g.register_forward_pre_hook(hook(i)) for i, g in enumerate(groups)]
    epochs = len(groups) + 1
    fit_finetune(
        model, strategy, image_domain(), None,
        TrainerConfig(max_epochs=epochs, accelerator="cpu", batch_size=8, patience=0),
        OptimConfig(name="sgd", lr=0.05), seed=0,
    )
    for h in handles:
        h.remove()
    assert sorted(seen) == list(range(epochs))
    final = [bn_buffers(g) for g in groups]
    for epoch in range(epochs):
        modes = [m for m, _ in seen[epoch]]
        before = [b for _, b in seen[epoch]]
        after = [b for _, b in seen[epoch + 1]] if epoch + 1 < epochs else final
        n_train = min(epoch, len(groups))
        for i in range(len(groups)):
            trains = i >= len(groups) - n_train
            assert modes[i] == {trains}, f"epoch {epoch}: group {i} ran with modes {modes[i]}"
        # modes are checked at the batch; statistics over the whole epoch
        n = len(groups)
        for i in range(n):
            moved = [k for k in after[i] if not torch.equal(after[i][k], before[i][k])]
            if i >= n - n_train:
                assert any(k.endswith("running_mean") for k in moved), (epoch, i)
            else:
                assert not moved, f"epoch {epoch}: frozen group {i} changed {moved}"


def test_putting_the_model_in_train_mode_keeps_frozen_groups_in_eval():
    strategy = tk.create("finetune", "layer_transfer", k=2)
    model = strategy.prepare(bn_dropout_backbone(), num_classes=3)
    groups = model.layer_groups()
    for switch in (model.train, FineTuneModule(model, strategy, OptimConfig()).train):
        model.eval()
        switch()
        assert [_modes(g) for g in groups] == [{False}, {False}, {True}]
        assert model.training and model.head.training


def test_frozen_groups_statistics_are_bit_identical_after_lightning_training():
    strategy = tk.create("finetune", "layer_transfer", k=2)
    model = strategy.prepare(bn_dropout_backbone(), num_classes=3)
    groups = model.layer_groups()
    before = [bn_buffers(g) for g in groups]
    fit_finetune(
        model, strategy, image_domain(), None,
        TrainerConfig(max_epochs=2, accelerator="cpu", batch_size=8, patience=0),
        OptimConfig(name="sgd", lr=0.05), seed=0,
    )
    after = [bn_buffers(g) for g in groups]
    for i in (0, 1):
        assert all(torch.equal(after[i][k], before[i][k]) for k in before[i]), i
    assert not torch.equal(after[2]["3.running_mean"], before[2]["3.running_mean"])


def test_predicting_restores_each_parts_mode():
    from transferkit.training import predict

    strategy = tk.create("finetune", "layer_transfer", k=2)
    model = strategy.prepare(bn_dropout_backbone(), num_classes=3)
    d = image_domain()
    modes = [(m, m.training) for m in model.modules()]
    predict(model, [(torch.from_numpy(d.X), torch.from_numpy(d.y))])
    assert [m.training for m, _ in modes] == [mode for _, mode in modes]
    assert {False, True} == {mode for _, mode in modes}
