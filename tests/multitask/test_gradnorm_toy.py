"""GradNorm on the toy problem of Chen et al. (ICML 2018, Sec. 5.1).

Tasks ``f_i(x) = sigma_i tanh((B + eps_i) x)`` share ``B`` and differ by ``eps_i`` and a loss
scale ``sigma_i``. With equal weights the high-``sigma`` task dominates the shared gradient and
the tasks train at very different rates ``L_i(t)/L_i(0)``; GradNorm (alpha > 0) equalises them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from transferkit.multitask import FixedWeighting, GradNorm


def toy_problem(sigmas, dim=50, out=10, n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(out, dim, generator=g) * np.sqrt(10.0) / np.sqrt(dim)
    x = torch.randn(n, dim, generator=g)
    ys = []
    for s in sigmas:
        eps = torch.randn(out, dim, generator=g) * np.sqrt(3.5) / np.sqrt(dim)
        ys.append(s * torch.tanh(x @ (B + eps).T))
    return x, ys


def train(sigmas, use_gradnorm, steps, alpha=0.12, seed=0, weight_lr=1e-2):
    x, ys = toy_problem(sigmas, seed=seed)
    torch.manual_seed(seed)
    h = 64
    trunk = nn.Sequential(nn.Linear(50, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                          nn.Linear(h, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU())
    heads = nn.ModuleList([nn.Linear(h, 10) for _ in sigmas])
    bal = GradNorm(len(sigmas), alpha=alpha) if use_gradnorm else FixedWeighting(len(sigmas))
    opt = torch.optim.Adam([*trunk.parameters(), *heads.parameters()], lr=1e-3)
    opt_w = torch.optim.Adam(bal.parameters(), lr=weight_lr) if use_gradnorm else None
    last_shared = list(trunk[6].parameters())
    first = None
    for _ in range(steps):
        opt.zero_grad()
        if opt_w is not None:
            opt_w.zero_grad()
        z = trunk(x)
        losses = torch.stack([((h(z) - y) ** 2).mean() for h, y in zip(heads, ys)])
        if first is None:
            first = losses.detach()
        if use_gradnorm:
            bal.backward(losses, last_shared)
        else:
            bal(losses).backward()
        opt.step()
        if use_gradnorm:
            opt_w.step()
            bal.renormalize()
    rates = (losses.detach() / first).numpy()
    return rates, bal.weights.numpy()


def spread(rates):
    """How unequal two training rates are: |log(r_0 / r_1)| (0 = equal rates)."""
    return float(abs(np.log(rates[0] / rates[1])))


@pytest.mark.slow
def test_gradnorm_equalises_training_rates():
    sigmas = [1.0, 100.0]
    eq_rates, _ = train(sigmas, False, 1000)
    gn_rates, gn_w = train(sigmas, True, 1000)
    # measured here: equal weights r = (0.62, 5.1e-4), GradNorm r = (0.44, 2.4e-3)
    assert spread(gn_rates) < 0.8 * spread(eq_rates), (eq_rates, gn_rates)
    assert gn_w[0] > gn_w[1]  # the small-sigma (slow) task is up-weighted
