import numpy as np
import pytest
import torch

import transferkit
from transferkit.adaptation import proxy_a_distance
from transferkit.exceptions import DataError


def test_entropy_scorer_value():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert transferkit.create("scorer", "entropy")(probs_t=p) == pytest.approx(-np.log(2) / 2)


def test_snd_matches_direct_formula():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=12)
    # direct evaluation of Saito et al. 2021 eq. 1-3, written independently with loops
    n = p / np.linalg.norm(p, axis=1, keepdims=True)
    ents = []
    for i in range(12):
        sims = np.array([n[i] @ n[j] / 0.05 for j in range(12) if j != i])
        q = np.exp(sims - sims.max())
        q /= q.sum()
        ents.append(-(q * np.log(q)).sum())
    snd = transferkit.create("scorer", "snd")
    assert snd(probs_t=p) == pytest.approx(np.mean(ents), rel=1e-9)
    # all points in one neighbourhood: uniform similarity, the maximum log(n - 1)
    assert snd(probs_t=np.tile([0.7, 0.2, 0.1, 0.0], (12, 1))) == pytest.approx(np.log(11))
    # invariant to the order of the samples
    assert snd(probs_t=p[::-1]) == pytest.approx(snd(probs_t=p))
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        transferkit.create("scorer", "snd", temperature=0)


def _classification_case(shift, seed=0):
    rng = np.random.default_rng(seed)
    fs = rng.normal(size=(300, 2))
    ft = rng.normal(size=(300, 2)) + shift
    y = (fs[:, 0] > 0).astype(int)
    logit = 3 * fs[:, 0]
    ps = np.stack([1 / (1 + np.exp(logit)), 1 / (1 + np.exp(-logit))], 1)
    return fs, ft, ps, y


def test_iwcv_and_dev_reduce_to_source_loss_without_shift():
    fs, ft, ps, y = _classification_case(0.0)
    plain = -np.log(ps[np.arange(300), y]).mean()
    for name in ("iwcv", "dev"):
        s = transferkit.create("scorer", name)(features_s=fs, probs_s=ps, y_s=y, features_t=ft)
        assert s == pytest.approx(-plain, rel=0.15)


def test_iwcv_weights_emphasise_target_region():
    from transferkit.adaptation import domain_density_ratio

    fs, ft, _, _ = _classification_case(np.array([1.5, 0.0]))
    w = domain_density_ratio(fs, ft)
    near = fs[:, 0] > 1
    assert w[near].mean() > 3 * w[~near].mean()
    # the estimated ratio tracks the true Gaussian ratio exp(1.5 x - 1.125) in rank
    true = np.exp(1.5 * fs[:, 0] - 1.125)
    assert np.corrcoef(np.argsort(np.argsort(w)), np.argsort(np.argsort(true)))[0, 1] > 0.95


def test_scorer_missing_input_named():
    with pytest.raises(DataError, match="needs 'features_t'"):
        transferkit.create("scorer", "iwcv")(features_s=np.zeros((3, 2)), probs_s=np.ones((3, 2)) / 2,
                                             y_s=[0, 1, 0], features_t=None)


def test_proxy_a_distance_extremes():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 5)), rng.normal(size=(400, 5))
    assert proxy_a_distance(a, b) < 0.3
    assert proxy_a_distance(a, b + 10) == pytest.approx(2.0)
    assert proxy_a_distance(torch.tensor(a), torch.tensor(b + 10)) == pytest.approx(2.0)
    with pytest.raises(DataError, match="dimension 5, features_t 4"):
        proxy_a_distance(a, b[:, :4])
