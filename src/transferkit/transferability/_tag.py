"""TAG look-ahead inter-task affinity for a shared trunk with one head per task (torch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..exceptions import ConfigError, DataError

__all__ = ["lookahead_affinity"]


def lookahead_affinity(
    trunk: nn.Module,
    heads: Mapping[str, nn.Module],
    loss_fns: Mapping[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]],
    inputs: torch.Tensor,
    targets: Mapping[str, torch.Tensor],
    *,
    lr: float,
) -> np.ndarray:
    """Look-ahead affinities ``Z[i, j]`` of every task ``i`` onto every task ``j`` on one batch.

    Fifty, Amid, Zhao, Yu, Anil, Finn, "Efficiently Identifying Task Groupings for Multi-Task
    Learning", NeurIPS 2021: take one SGD step of the shared parameters on task
    ``i``'s loss alone, ``theta_s' = theta_s - lr grad_{theta_s} L_i``, keep the heads, and
    measure ``Z[i, j] = 1 - L_j(theta_s', theta_j) / L_j(theta_s, theta_j)``. Positive means a
    step on ``i`` lowers ``j``'s loss. TAG averages ``Z`` over the steps of training; call this
    on each batch (or every few) and average.

    The model is not changed: the steps are taken on copies of the parameters
    (``torch.func.functional_call``), and buffers such as batch-norm running statistics are
    copied before each forward pass.

    Args:
        trunk: the shared module; its trainable parameters are the ones stepped.
        heads: task name -> head module, applied to ``trunk(inputs)``.
        loss_fns: task name -> ``loss(head_output, target)`` returning a positive scalar.
        inputs: the batch fed to ``trunk``.
        targets: task name -> that task's targets for the batch.
        lr: the look-ahead step size (TAG uses the training learning rate).

    Returns:
        [n, n] array in the order of ``heads``: row ``i`` = task stepped on, column ``j`` =
        task whose loss is measured.
    """
    if not lr > 0:
        raise ConfigError(f"lr must be > 0, got {lr}")
    names = list(heads)
    for what, m in (("loss_fns", loss_fns), ("targets", targets)):
        missing = [t for t in names if t not in m]
        if missing:
            raise ConfigError(f"{what} has no entry for task(s) {missing}; tasks: {names}")
    params = {n: p for n, p in trunk.named_parameters() if p.requires_grad}
    if not params:
        raise ConfigError("the trunk has no trainable parameters to take a look-ahead step on")
    frozen = {n: p for n, p in trunk.named_parameters() if not p.requires_grad}

    def run(p: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        state = {**frozen, **p, **{n: b.clone() for n, b in trunk.named_buffers()}}
        rep = functional_call(trunk, state, (inputs,))
        return {t: loss_fns[t](heads[t](rep), targets[t]) for t in names}

    before = run(params)
    base = {}
    for t, v in before.items():
        if v.ndim != 0:
            raise DataError(f"loss of task '{t}' must be a scalar, got shape {tuple(v.shape)}")
        base[t] = float(v.detach())
        if not base[t] > 0:
            raise DataError(f"loss of task '{t}' must be > 0 for the ratio, got {base[t]}")
    z = np.zeros((len(names), len(names)))
    keys = list(params)
    for i, ti in enumerate(names):
        grads = torch.autograd.grad(
            before[ti], [params[k] for k in keys], retain_graph=True, allow_unused=True
        )
        with torch.no_grad():
            stepped = {
                k: params[k] - lr * g if g is not None else params[k] for k, g in zip(keys, grads)
            }
            after = run(stepped)
        for j, tj in enumerate(names):
            z[i, j] = 1.0 - float(after[tj]) / base[tj]
    return z
