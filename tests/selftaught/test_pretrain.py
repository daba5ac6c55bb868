"""NT-Xent against a hand computation, augmentations, and the pretraining objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import transferkit
from transferkit.backbones import create_backbone
from transferkit.exceptions import ConfigError, DataError
from transferkit.selftaught import (
    ContrastiveObjective,
    ImageAugment,
    PretrainModule,
    ReconstructionObjective,
    nt_xent_loss,
    pretrain,
)


def nt_xent_by_hand(z1: np.ndarray, z2: np.ndarray, t: float) -> float:
    """Chen et al. 2020, Eq. 1, one anchor at a time with Python loops."""
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        num = math.exp(z[i] @ z[j] / t)
        den = sum(math.exp(z[i] @ z[k] / t) for k in range(n2) if k != i)
        total += -math.log(num / den)
    return total / n2


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
def test_nt_xent_matches_the_hand_computation(t):
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    got = nt_xent_loss(torch.tensor(z1), torch.tensor(z2), t)
    assert float(got) == pytest.approx(nt_xent_by_hand(z1, z2, t), rel=1e-10)


def test_nt_xent_is_low_for_matching_views_and_checks_input():
    z = torch.eye(4)
    assert float(nt_xent_loss(z, z, 0.1)) < 0.01 < float(nt_xent_loss(z, z.roll(1, 0), 0.1))
    with pytest.raises(DataError, match="one shape"):
        nt_xent_loss(torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        nt_xent_loss(torch.ones(3, 2), torch.ones(3, 2), 0.0)


def test_augment_is_seeded_and_identity_without_randomness():
    x = torch.rand(6, 1, 8, 8)
    aug = ImageAugment()
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.allclose(a, x)
    same = ImageAugment(crop_scale=(1.0, 1.0), flip_p=0.0, noise_std=0.0)(x)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    flipped = ImageAugment(crop_scale=(1.0, 1.0), flip_p=1.0, noise_std=0.0)(x)
    torch.testing.assert_close(flipped, x.flip(-1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["simclr", "autoencoder"])
def test_pretraining_lowers_the_loss_and_leaves_a_backbone(kind):
    torch.manual_seed(0)
    backbone = create_backbone("lenet", input_size=8, widths=(4, 8), feature_dim=16)
    if kind == "simclr":
        obj = ContrastiveObjective(backbone, projection_dim=8)
    else:
        obj = ReconstructionObjective(backbone, (1, 8, 8), hidden=32)
    x = torch.rand(32, 1, 8, 8)
    hist = pretrain(obj, x, epochs=8, batch_size=16, lr=3e-3)
    assert hist[-1] < hist[0]
    assert obj.backbone is backbone and backbone.features(x).shape == (32, 16)


def test_objectives_reject_bad_input():
    backbone = create_backbone("mlp", in_features=4, hidden=(8,))
    with pytest.raises(ConfigError, match="backbone protocol"):
        ContrastiveObjective(torch.nn.Linear(2, 2))
    obj = ReconstructionObjective(backbone, (4,))
    with pytest.raises(DataError, match=r"built for \(4,\)"):
        obj(torch.zeros(3, 5))
    assert isinstance(PretrainModule(obj).configure_optimizers(), torch.optim.Adam)


@pytest.mark.slow  # the registry imports every family
def test_registered_in_the_selftaught_family():
    names = {m.name for m in transferkit.list_methods("selftaught")}
    assert {"sparse_coding", "simclr", "autoencoder"} <= names
