"""GradNorm on the toy problem of Chen et al. (ICML 2018, Sec. 4, Fig. 2).

Regression tasks ``f_i(x) = sigma_i tanh((B + eps_i) x)`` with ``x`` in R^250 (N(0, 1)),
outputs in R^100, ``B`` entries N(0, 10) and ``eps_i`` entries N(0, 3.5) (read as variances),
a 4-layer fully connected ReLU trunk of 100 units and one affine head per task, squared loss.
The paper's case T = 2 with sigma = (1, 100) and alpha = 0.12: with equal weights the
high-sigma task dominates the shared trunk and the tasks train at very different rates
``L_i(t) / L_i(0)``; GradNorm, applied to the last shared layer's weights, up-weights the
low-sigma task and brings the training rates together.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.data.multitask import make_gradnorm_toy
from transferkit.experiments.gradnorm_toy import train_gradnorm_toy as train

DIM_IN, DIM_OUT = 250, 100


def toy_problem(sigmas, n=1000, seed=0):
    return make_gradnorm_toy(sigmas, n_samples=n, seed=seed, in_dim=DIM_IN, out_dim=DIM_OUT)


def test_toy_problem_matches_the_papers_definition():
    x, (y0, y1) = toy_problem([1.0, 100.0], n=64, seed=3)
    assert x.shape == (64, DIM_IN) and y0.shape == y1.shape == (64, DIM_OUT)
    assert y0.abs().max() <= 1.0 and y1.abs().max() <= 100.0
    # B ~ N(0, 10), eps ~ N(0, 3.5): pre-activations have std sqrt(13.5 * 250) ~ 58, so tanh
    # saturates and most targets sit near +-sigma_i
    assert (y0.abs() > 0.9).float().mean() > 0.9
    x2, (y0b, _) = toy_problem([1.0, 100.0], n=64, seed=3)
    assert torch.equal(x, x2) and torch.equal(y0, y0b)


def spread(rates):
    """How unequal two training rates are: |log(r_0 / r_1)| (0 = equal rates)."""
    return float(abs(np.log(rates[0] / rates[1])))


@pytest.mark.slow
def test_gradnorm_equalises_training_rates():
    torch.set_num_threads(1)
    sigmas = [1.0, 100.0]
    # rates from the mean loss over the last 100 of 1500 steps (reads through GradNorm's wobble)
    eq_rates, _ = train(sigmas, False, 1500, average_last=100)
    gn_rates, gn_w = train(sigmas, True, 1500, alpha=0.12, average_last=100)  # the paper's toy alpha
    gn15_rates, gn15_w = train(sigmas, True, 1500, alpha=1.5, average_last=100)  # its default alpha
    # measured (2026-11-29, seed 0; python benchmarks/multitask_gradnorm_toy.py prints the same):
    #   equal r = (2.17, 0.496), spread 1.48;
    #   alpha 0.12: r = (1.00, 0.684), spread 0.38, w = (1.99, 0.0132);
    #   alpha 1.5:  r = (0.85, 0.729), spread 0.15, w = (2.00, 0.0028)
    assert eq_rates[1] < 0.5 * eq_rates[0], eq_rates  # equal weights: the sigma=100 task dominates
    assert eq_rates[0] > 1.0, eq_rates  # ... and the sigma=1 task's loss grows
    assert spread(gn_rates) < 0.35 * spread(eq_rates), (eq_rates, gn_rates)
    assert spread(gn15_rates) < 0.3 * spread(eq_rates), (eq_rates, gn15_rates)
    assert gn15_rates[0] < 1.0 and gn15_rates[1] < 1.0, gn15_rates  # both tasks train
    # at the paper's alpha = 0.12 (direct weights), after 1500 steps the sigma=1 task's loss has
    # stopped growing (rate 2.17 -> 1.00) but hardly begun to fall (0.9997 at seed 0; 0.957 and
    # 0.917 at seeds 1, 2), and the balance does not last (rate 1.23 and 1.51 after 5000 steps,
    # seeds 0, 1). "Both tasks train" does not hold at this alpha with direct weights; what
    # holds at 1500 steps is asserted: the sigma=1 task no longer gets worse, the sigma=100 one
    # trains. docs/gradnorm_toy.md says why (the small weight cannot settle under additive
    # steps; the softmax parametrisation below does balance at alpha = 0.12).
    assert gn_rates[0] < 0.5 * eq_rates[0] and gn_rates[0] < 1.02, (eq_rates, gn_rates)
    assert gn_rates[1] < 1.0, gn_rates
    # weights end up ordered inversely to sigma (they equalise ||grad_W w_i L_i||), sum T
    for w in (gn_w, gn15_w):
        assert w[0] > 50 * w[1], w
        assert abs(w.sum() - 2.0) < 1e-5


@pytest.mark.slow
def test_gradnorm_softmax_weights_make_the_training_rates_equal():
    # w = 2 softmax(s): multiplicative weight updates, so w_1 ~ 0.003 no longer wobbles
    torch.set_num_threads(1)
    sigmas = [1.0, 100.0]
    eq_rates, _ = train(sigmas, False, 1500, average_last=100)
    for alpha in (0.12, 1.5):
        rates, w = train(sigmas, True, 1500, alpha=alpha, average_last=100,
                         parametrization="softmax")
        # measured (2026-11-23, seed 0): alpha 0.12: r = (0.816, 0.802), spread 0.02,
        #   w = (2.00, 0.0030); alpha 1.5: r = (0.744, 0.824), spread 0.10, w = (2.00, 0.00066)
        assert spread(rates) < 0.1 * spread(eq_rates), (alpha, eq_rates, rates)
        assert rates.max() < 1.0, rates  # both tasks train
        assert w[0] > 100 * w[1] and abs(w.sum() - 2.0) < 1e-5, w


def test_average_last_is_validated():
    with pytest.raises(ValueError, match="average_last"):
        train([1.0, 100.0], False, 10, average_last=11)
