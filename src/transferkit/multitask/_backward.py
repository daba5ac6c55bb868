"""``mtl_backward``: fill ``.grad`` from several task losses with a gradient aggregator.

Two modes:

* **full Jacobian** (``representation=None``): the Jacobian of the losses w.r.t. the shared
  parameters is built row by row (one backward pass per task), the aggregator turns it into
  one direction ``J^T w``, written into the shared parameters' ``.grad``.
* **representation / upper bound** (``representation=z``): the Gramian is computed from the
  gradients w.r.t. the shared representation ``z`` (cheap: they only traverse the task heads),
  the aggregator's weights ``w`` are taken from it, and a single backward pass of
  ``sum_i w_i L_i`` goes through the shared trunk. With MGDA this is MGDA-UB (Sener & Koltun
  2018, Sec. 3.3, Eq. 5-6), which minimises an upper bound of the MGDA objective.

In both modes each task-specific parameter receives the gradient of the plain sum of the
losses (its own task's loss), as in S&K Algorithm 2. Gradients are *accumulated* into
``.grad`` like ``Tensor.backward``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from ._aggregator_base import Aggregator, gramian

__all__ = ["mtl_backward"]


def _accumulate(params: Sequence[nn.Parameter], grads: Sequence[Tensor | None]) -> None:
    for p, g in zip(params, grads):
        if g is None:
            continue
        if p.grad is None:
            p.grad = g.detach().clone()
        else:
            p.grad.add_(g.detach())


def mtl_backward(
    losses: Sequence[Tensor] | Tensor,
    shared_params: Iterable[nn.Parameter],
    aggregator: Aggregator,
    task_params: Iterable[nn.Parameter] | None = None,
    representation: Tensor | None = None,
    retain_graph: bool = False,
) -> Tensor:
    """Backward of ``losses`` (``m`` scalars) through an aggregator; returns the weights ``[m]``.

    Args:
        losses: the task losses (list of scalars or a ``[m]`` tensor).
        shared_params: the parameters shared by all tasks; their ``.grad`` receives the
            aggregated direction.
        aggregator: a transferkit :class:`~transferkit.multitask.Aggregator`.
        task_params: task-specific parameters (heads); they receive the gradient of
            ``sum_i L_i``. ``None`` leaves them untouched.
        representation: the shared representation ``z`` the heads read (``[N, ...]`` or a list
            thereof). Given, the weights come from the Gramian of ``dL_i/dz`` (UB mode).
        retain_graph: keep the graph after the call.

    Example::

        z = trunk(x); losses = [F.cross_entropy(h(z), y) for h, y in zip(heads, ys)]
        w = mtl_backward(losses, trunk.parameters(), MGDA(), heads.parameters(), representation=z)
        optimizer.step()
    """
    if isinstance(losses, Tensor):
        losses = list(losses.reshape(-1).unbind())
    losses = list(losses)
    if not losses:
        raise ValueError("mtl_backward needs at least one loss, got none")
    for i, loss in enumerate(losses):
        if loss.dim() != 0:
            raise ValueError(f"loss {i} must be a scalar, got shape {tuple(loss.shape)}")
    shared = [p for p in shared_params if p.requires_grad]
    heads = [p for p in (task_params or []) if p.requires_grad]
    if not shared:
        raise ValueError("mtl_backward: shared_params holds no parameter that requires grad")
    m = len(losses)

    if representation is None:
        rows: list[Tensor] = []
        head_grads: list[Tensor | None] = [None] * len(heads)
        for loss in losses:
            gs = torch.autograd.grad(
                loss, shared + heads, retain_graph=True, allow_unused=True
            )
            rows.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(gs[: len(shared)], shared)
                    ]
                )
            )
            for k, g in enumerate(gs[len(shared) :]):
                if g is not None:
                    head_grads[k] = g if head_grads[k] is None else head_grads[k] + g
        J = torch.stack(rows)
        direction, w = aggregator.aggregate(J)
        offset = 0
        shared_grads = []
        for p in shared:
            shared_grads.append(direction[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        _accumulate(shared, shared_grads)
        _accumulate(heads, head_grads)
        return w.detach()

    reps = [representation] if isinstance(representation, Tensor) else list(representation)
    rows_z: list[Tensor] = []
    z_grads: list[list[Tensor]] = []
    head_grads = [None] * len(heads)
    for loss in losses:
        gs = torch.autograd.grad(loss, reps + heads, retain_graph=True, allow_unused=True)
        gz = [g if g is not None else torch.zeros_like(z) for g, z in zip(gs[: len(reps)], reps)]
        z_grads.append(gz)
        rows_z.append(torch.cat([g.reshape(-1) for g in gz]))
        for k, g in enumerate(gs[len(reps) :]):
            if g is not None:
                head_grads[k] = g if head_grads[k] is None else head_grads[k] + g
    w = aggregator.weights(gramian(torch.stack(rows_z))).to(rows_z[0].dtype)
    # one backward pass through the trunk with the combined upstream gradient sum_i w_i dL_i/dz
    upstream = [sum(w[i] * z_grads[i][k] for i in range(m)) for k in range(len(reps))]
    grads = torch.autograd.grad(
        reps, shared, grad_outputs=upstream, retain_graph=retain_graph, allow_unused=True
    )
    _accumulate(shared, list(grads))
    _accumulate(heads, head_grads)
    return w.detach()
