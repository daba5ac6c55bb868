"""The regression toy problem of GradNorm (Chen et al., ICML 2018, Sec. 4, Fig. 2), as one run.

T tasks ``f_i(x) = sigma_i tanh((B + eps_i) x)`` (:func:`transferkit.data.multitask.
make_gradnorm_toy`), a 4-layer ReLU trunk of ``hidden`` units, one affine head per task,
squared loss, full-batch Adam on the network. With ``use_gradnorm`` the task weights are
GradNorm's (on the last shared layer's weights, trained by Adam at ``weight_lr``; with the
paper's ``"direct"`` parametrisation renormalised after each step, with ``"softmax"`` kept as
``m * softmax(s)``); otherwise they are equal. The benchmark
``benchmarks/multitask_gradnorm_toy.py`` and the test ``tests/multitask/test_gradnorm_toy.py``
both run this function.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..data.multitask import make_gradnorm_toy
from ..multitask import FixedWeighting, GradNorm

__all__ = ["train_gradnorm_toy"]


def train_gradnorm_toy(
    sigmas: Sequence[float],
    use_gradnorm: bool,
    steps: int,
    alpha: float = 0.12,
    seed: int = 0,
    lr: float = 1e-3,
    weight_lr: float = 0.1,
    n: int = 1000,
    hidden: int = 100,
    average_last: int = 1,
    fixed_weights: Sequence[float] | None = None,
    trace_every: int = 0,
    trace: list[tuple[int, list[float], list[float]]] | None = None,
    parametrization: str = "direct",
) -> tuple[np.ndarray, np.ndarray]:
    """Train for ``steps``; return the training rates and the final weights.

    The rates are ``mean(L_i) / L_i(0)`` over the losses of the last ``average_last`` steps
    (the losses each step was computed on; 1 = after the last step only). Averaging over a
    window reads through the step-to-step wobble that GradNorm's weight updates cause.
    Without GradNorm the weights are ``fixed_weights`` (default: all 1; ``(1, 0)`` trains the
    first task alone). With ``trace_every > 0``, ``(step, rates, weights)`` is appended to
    ``trace`` every ``trace_every`` steps.
    """
    if average_last < 1 or average_last > steps:
        raise ValueError(f"average_last must be in [1, steps={steps}], got {average_last}")
    x, ys = make_gradnorm_toy(sigmas, n_samples=n, seed=seed)
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(4):
        layers += [nn.Linear(x.shape[1] if i == 0 else hidden, hidden), nn.ReLU()]
    trunk = nn.Sequential(*layers)
    heads = nn.ModuleList([nn.Linear(hidden, ys[0].shape[1]) for _ in sigmas])
    if use_gradnorm:
        bal = GradNorm(len(sigmas), alpha=alpha, parametrization=parametrization)
    else:
        bal = FixedWeighting(len(sigmas), weights=fixed_weights)
    opt = torch.optim.Adam([*trunk.parameters(), *heads.parameters()], lr=lr)
    opt_w = torch.optim.Adam(bal.parameters(), lr=weight_lr) if use_gradnorm else None
    last_shared = [trunk[6].weight]  # W of Chen et al.: the last shared layer's weights

    def losses() -> torch.Tensor:
        z = trunk(x)
        return torch.stack([((h(z) - y) ** 2).mean() for h, y in zip(heads, ys)])

    first = None
    window: deque[torch.Tensor] = deque(maxlen=average_last)
    for step in range(steps):
        opt.zero_grad()
        if opt_w is not None:
            opt_w.zero_grad()
        L = losses()
        if first is None:
            first = L.detach()
        window.append(L.detach())
        if trace_every and trace is not None and step % trace_every == 0:
            trace.append((step, (L.detach() / first).tolist(), bal.weights.tolist()))
        if use_gradnorm:
            bal.backward(L, last_shared)
        else:
            bal(L).backward()
        opt.step()
        if opt_w is not None:
            opt_w.step()
            bal.renormalize()
    with torch.no_grad():
        if average_last == 1:
            rates = (losses() / first).numpy()
        else:
            rates = (torch.stack(list(window)).mean(0) / first).numpy()
    return rates, bal.weights.numpy()
