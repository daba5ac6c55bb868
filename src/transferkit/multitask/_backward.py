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

**Several processes** (data parallel): pass ``all_reduce``, a function that averages a tensor
over the processes in place (:func:`mean_over_processes` does it with ``torch.distributed``).
Each process's losses are means over its own batch, so the global loss is the mean of the
processes' losses. In full-Jacobian mode the Jacobians are averaged *before* aggregation (the
Jacobian of the global loss), so every process takes the same aggregated step; in
representation mode the Gramian of the global representation gradients,
``mean_r(G_r) / R``, is used, and the shared and task gradients are averaged afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from ._aggregator_base import Aggregator, gramian

__all__ = ["mean_over_processes", "mtl_backward"]

AllReduce = Callable[[Tensor], Tensor]


def _world_size() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def mean_over_processes(tensor: Tensor) -> Tensor:
    """Average ``tensor`` in place over the default ``torch.distributed`` process group.

    A no-op (returns ``tensor``) when ``torch.distributed`` is not initialised or has one process.
    """
    n = _world_size()
    if n == 1:
        return tensor
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor.div_(n)


def reduce_grads(
    params: Sequence[nn.Parameter], grads: Sequence[Tensor | None], all_reduce: AllReduce | None
) -> list[Tensor | None]:
    """Average ``grads`` over the processes; a missing gradient counts as zeros, so every
    process makes the same collective calls whatever its batch held."""
    if all_reduce is None:
        return list(grads)
    return [
        all_reduce(torch.zeros_like(p) if g is None else g.detach().clone())
        for p, g in zip(params, grads)
    ]


def _accumulate(
    params: Sequence[nn.Parameter], grads: Sequence[Tensor | None], owned: bool = False
) -> None:
    """Add ``grads`` into ``.grad``. Tensors from autograd are copied (two may alias one buffer
    or be stride-0 expansions); ``owned`` ones (views of a direction built here) are not."""
    for p, g in zip(params, grads):
        if g is None:
            continue
        if p.grad is None:
            p.grad = g.detach() if owned else g.detach().clone()
        else:
            p.grad.add_(g.detach())


def mtl_backward(
    losses: Sequence[Tensor] | Tensor,
    shared_params: Iterable[nn.Parameter],
    aggregator: Aggregator,
    task_params: Iterable[nn.Parameter] | None = None,
    representation: Tensor | None = None,
    retain_graph: bool = False,
    all_reduce: AllReduce | None = None,
    world_size: int | None = None,
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
        all_reduce: with several processes, a function averaging a tensor over them in place
            (e.g. :func:`mean_over_processes`); every process must call ``mtl_backward`` with
            the same parameters. ``None``: one process.
        world_size: the number of processes ``all_reduce`` averages over, used to scale the
            representation-mode Gramian; ``None`` reads it from ``torch.distributed`` (pass it
            when ``all_reduce`` does not use ``torch.distributed``).

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
    if world_size is not None and int(world_size) < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    m = len(losses)

    if representation is None:
        # the Jacobian is written row by row into one preallocated [m, n] buffer (no cat/stack
        # copies); the last pass frees the graph unless the caller keeps it
        sizes = [p.numel() for p in shared]
        J = shared[0].new_zeros(m, sum(sizes))
        head_grads: list[Tensor | None] = [None] * len(heads)
        for i, loss in enumerate(losses):
            gs = torch.autograd.grad(
                loss, shared + heads, retain_graph=retain_graph or i < m - 1, allow_unused=True
            )
            for block, g in zip(J[i].split(sizes), gs[: len(shared)]):
                if g is not None:
                    block.copy_(g.reshape(-1))
            for k, g in enumerate(gs[len(shared) :]):
                if g is not None:
                    head_grads[k] = g if head_grads[k] is None else head_grads[k] + g
        if all_reduce is not None:
            all_reduce(J)
            head_grads = reduce_grads(heads, head_grads, all_reduce)
        direction, w = aggregator.aggregate(J)
        _accumulate(
            shared, [d.view_as(p) for d, p in zip(direction.split(sizes), shared)], owned=True
        )
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
    G = gramian(torch.stack(rows_z))
    if all_reduce is not None:  # the global batch's Gramian: sum_r G_r / R^2 = mean_r(G_r) / R
        G = all_reduce(G.clone()) / (_world_size() if world_size is None else int(world_size))
    w = aggregator.weights(G).to(rows_z[0].dtype)
    # one backward pass through the trunk with the combined upstream gradient sum_i w_i dL_i/dz
    upstream = [sum(w[i] * z_grads[i][k] for i in range(m)) for k in range(len(reps))]
    grads = torch.autograd.grad(
        reps, shared, grad_outputs=upstream, retain_graph=retain_graph, allow_unused=True
    )
    _accumulate(shared, reduce_grads(shared, grads, all_reduce))
    _accumulate(heads, reduce_grads(heads, head_grads, all_reduce))
    return w.detach()
