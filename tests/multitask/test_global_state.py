"""A multi-task fit leaves the process-wide warning filters and logger levels as it found them."""

from __future__ import annotations

import logging

import numpy as np
import torch
from _asserts import (
    assert_user_deprecation_warning_is_shown,
    snapshot,
    user_shows_deprecation_warnings,
)

from transferkit.data.multitask import from_arrays
from transferkit.multitask import HardSharing, Task, UncertaintyWeighting
from transferkit.training import quiet_lightning
from transferkit.training.multitask import fit_multitask


def test_quiet_lightning_is_a_context_manager_that_restores_state():
    logging.getLogger("lightning.pytorch").setLevel(logging.INFO)
    try:
        before = snapshot()
        with quiet_lightning():
            assert logging.getLogger("lightning.pytorch").level == logging.ERROR
        assert snapshot() == before
    finally:
        logging.getLogger("lightning.pytorch").setLevel(logging.NOTSET)


def test_fit_multitask_restores_warning_filters_and_logger_levels():
    X = np.random.default_rng(1).normal(size=(32, 4)).astype(np.float32)
    data = from_arrays(X, np.stack([X[:, 0], X[:, 1]], 1), ["a", "b"])
    tasks = [Task("a", 1, kind="regression"), Task("b", 1, kind="regression")]
    model = HardSharing("mlp", tasks, backbone_params={"in_features": 4, "hidden": [4]})
    with user_shows_deprecation_warnings():
        before = snapshot()
        fit_multitask(model, tasks, UncertaintyWeighting(2), data, max_epochs=1, batch_size=16)
        assert snapshot() == before
        assert_user_deprecation_warning_is_shown("after_fit_multitask")
    assert torch.isfinite(next(model.parameters())).all()
