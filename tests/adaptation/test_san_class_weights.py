"""SAN's two class-weight estimates against hand computations (authors' code vs the paper's eq. 6)."""

from __future__ import annotations

import math

import pytest
import torch

from transferkit.adaptation import SAN


def _hand_loss(m, f_s, f_t, logits_s, logits_t, gamma):
    """1/(n_s+n_t) sum_k gamma_k sum_i p_i^k BCE(D_k(f_i), d_i) + mean_t H(p_t), with loops."""
    f = torch.cat([f_s, f_t])
    with torch.no_grad():
        d = m.discriminators(f)
    probs = torch.cat([logits_s, logits_t]).softmax(1)
    ns, n, k = f_s.shape[0], f.shape[0], probs.shape[1]
    total = 0.0
    for c in range(k):
        for i in range(n):
            z, y = float(d[i, c]), 1.0 if i < ns else 0.0
            bce = -(y * math.log(1 / (1 + math.exp(-z))) + (1 - y) * math.log(1 - 1 / (1 + math.exp(-z))))
            total += float(gamma[c]) * float(probs[i, c]) * bce
    ent = 0.0
    for j in range(f_t.shape[0]):
        p = logits_t[j].softmax(0)
        ent -= sum(float(q) * math.log(float(q)) for q in p)
    return total / n + m.entropy_weight * ent / f_t.shape[0]


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    f_s, f_t = torch.randn(4, 5, generator=g), torch.randn(6, 5, generator=g)
    logits_s, logits_t = torch.randn(4, 3, generator=g), 2 * torch.randn(6, 3, generator=g)
    return f_s, f_t, logits_s, logits_t


def test_target_max_default_uses_whole_target_weights_divided_by_their_maximum():
    m = SAN(5, 3, hidden=(8,))
    assert m.class_weighting == "target_max" and m.has_class_weights
    # whole-target predictions: mean (0.4, 0.5, 0.1), divided by the maximum 0.5
    whole = torch.tensor([[0.6, 0.4, 0.0], [0.2, 0.6, 0.2]])
    torch.testing.assert_close(m.update_class_weights(whole), torch.tensor([0.8, 1.0, 0.2]))
    f_s, f_t, logits_s, logits_t = _data()
    loss = m(f_s, f_t, logits_s=logits_s, logits_t=logits_t)
    assert loss.item() == pytest.approx(_hand_loss(m, f_s, f_t, logits_s, logits_t, [0.8, 1.0, 0.2]), rel=1e-5)


def test_batch_mean_uses_the_target_batch_mean_prediction_eq6():
    m = SAN(5, 3, hidden=(8,), class_weighting="batch_mean")
    assert not m.has_class_weights  # nothing for the training loop to refresh
    f_s, f_t, logits_s, logits_t = _data(1)
    gamma = [sum(float(logits_t[j].softmax(0)[c]) for j in range(6)) / 6 for c in range(3)]
    assert sum(gamma) == pytest.approx(1.0)  # means of probabilities: not renormalised
    loss = m(f_s, f_t, logits_s=logits_s, logits_t=logits_t)
    assert loss.item() == pytest.approx(_hand_loss(m, f_s, f_t, logits_s, logits_t, gamma), rel=1e-5)
    # the stored buffer plays no part: changing it changes nothing
    m.class_weights.fill_(7.0)
    assert m(f_s, f_t, logits_s=logits_s, logits_t=logits_t).item() == pytest.approx(loss.item())
    with pytest.raises(ValueError, match="class_weighting must be 'target_max' or 'batch_mean'"):
        SAN(5, 3, class_weighting="mean")
