import numpy as np
import pytest
import torch

from transferkit.adaptation import coral_loss, mk_mmd


def test_coral_matches_numpy_covariance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 4)), rng.normal(size=(13, 4)) * 2
    ref = ((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2).sum() / (4 * 16)
    got = coral_loss(torch.tensor(a), torch.tensor(b)).item()
    assert got == pytest.approx(ref, rel=1e-10)


def test_coral_zero_identical_and_symmetric():
    a, b = torch.randn(16, 5), torch.randn(9, 5) * 3
    assert coral_loss(a, a).item() == pytest.approx(0.0, abs=1e-12)
    assert coral_loss(a, b).item() == pytest.approx(coral_loss(b, a).item(), rel=1e-6)
    assert coral_loss(a, b).item() > 0


def _mmd_reference(a, b, gamma, mults):
    """Independent double loop over pairs (numpy) of the biased multi-kernel MMD^2."""
    def k(x, y):
        d2 = ((x - y) ** 2).sum()
        return np.mean([np.exp(-d2 / (m * gamma)) for m in mults])

    kss = np.mean([[k(x, y) for y in a] for x in a])
    ktt = np.mean([[k(x, y) for y in b] for x in b])
    kst = np.mean([[k(x, y) for y in b] for x in a])
    return kss + ktt - 2 * kst


def test_mmd_matches_pairwise_reference():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 3)), rng.normal(1.0, 1.0, size=(5, 3))
    mults = (0.5, 1.0, 2.0)
    got = mk_mmd(torch.tensor(a), torch.tensor(b), mults, bandwidth=1.7).item()
    assert got == pytest.approx(_mmd_reference(a, b, 1.7, mults), rel=1e-9)
    # default bandwidth: mean squared distance of the pooled batch off the diagonal
    x = np.concatenate([a, b])
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    gamma = d2.sum() / (len(x) ** 2 - len(x))
    got = mk_mmd(torch.tensor(a), torch.tensor(b), mults).item()
    assert got == pytest.approx(_mmd_reference(a, b, gamma, mults), rel=1e-9)


def test_mmd_zero_identical_symmetric_positive():
    a, b = torch.randn(12, 4, dtype=torch.double), torch.randn(8, 4, dtype=torch.double) + 2
    assert mk_mmd(a, a).item() == pytest.approx(0.0, abs=1e-12)
    assert mk_mmd(a, b).item() == pytest.approx(mk_mmd(b, a).item(), rel=1e-9)
    assert mk_mmd(a, b).item() > mk_mmd(a, torch.randn(8, 4, dtype=torch.double)).item() > 0
