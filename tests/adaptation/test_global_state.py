"""An adaptation fit leaves the process-wide warning filters and logger levels as it found them."""

from __future__ import annotations

import numpy as np
import torch
from _asserts import (
    assert_user_deprecation_warning_is_shown,
    snapshot,
    user_shows_deprecation_warnings,
)

from transferkit.adaptation import build_method
from transferkit.backbones import create_backbone
from transferkit.data import Domain
from transferkit.training.adaptation import fit_adaptation


def test_fit_adaptation_restores_warning_filters_and_logger_levels():
    rng = np.random.default_rng(0)
    src = Domain(rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 2, 32), "s", 2)
    tgt = Domain(rng.normal(size=(32, 4)).astype(np.float32) + 1, rng.integers(0, 2, 32), "t", 2)
    bb = create_backbone("mlp", in_features=4, hidden=(4,), num_outputs=2)
    method = build_method("dann", bb.feature_dim, 2, hidden=(4,))
    with user_shows_deprecation_warnings():
        before = snapshot()
        fit_adaptation(bb, method, src, tgt, epochs=1, batch_size=16, evaluate_every_epoch=False)
        assert snapshot() == before
        assert_user_deprecation_warning_is_shown("after_fit_adaptation")
    assert torch.isfinite(next(bb.parameters())).all()
