"""GradNorm: gradient normalisation for adaptive loss balancing.

Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018. Learnable weights ``w_i`` (init 1) are
trained with the loss (their Eq. 2)

    L_grad = sum_i | G_W^(i) - mean_j(G_W^(j)) * r_i^alpha |_1,
    G_W^(i) = | grad_W (w_i L_i) |_2,  r_i = L~_i / mean_j L~_j,  L~_i = L_i(t) / L_i(0),

where ``W`` is the last shared layer and the target ``mean(G) r^alpha`` is a constant. After
each optimiser step the weights are renormalised to ``sum_i w_i = m`` (:meth:`renormalize`).

Two parametrisations of the weights:

* ``"direct"`` (the paper's): the parameters are the ``w_i`` themselves; an optimiser step
  moves them additively, then they are clamped positive and renormalised. When the tasks'
  scales differ by orders of magnitude the balance needs some ``w_i`` near 0, where an Adam step
  of size ``lr`` is as large as the weight itself, and the weights wobble.
* ``"softmax"``: ``w = m * softmax(s)`` with parameters ``s`` (logits, init 0, i.e. ``w_i = 1``),
  as LibMTL does. The weights are positive and sum to ``m`` by construction (no
  renormalisation), and an optimiser step moves ``log w`` additively, i.e. scales each weight by
  a bounded factor, so small weights move by small amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from .._registry import register
from ._backward import reduce_grads
from ._weighting_base import Weighting, stack_losses

__all__ = ["GradNorm"]

PARAMETRIZATIONS = ("direct", "softmax")


@register("weighting", "gradnorm")
class GradNorm(Weighting):
    """GradNorm (Chen et al. 2018, Eq. 2); asymmetry ``alpha`` (paper's range 0-3; 1.5 default).

    ``parametrization``: ``"direct"`` (the paper's, weights are the parameters) or
    ``"softmax"`` (``w = m * softmax(s)``, multiplicative updates; see the module docstring).

    Use::

        gn = GradNorm(num_tasks=2, alpha=1.5)
        opt = SGD([*model.parameters(), *gn.parameters()], lr)
        total = gn.backward(losses, last_shared_layer.parameters())  # fills all .grad
        opt.step(); gn.renormalize()

    State: ``initial_losses`` (``L_i(0)``, recorded by the first :meth:`backward` unless set);
    the trainable parameter is ``task_weights`` (``"direct"``) or ``task_logits``
    (``"softmax"``).
    """

    def __init__(self, num_tasks: int, alpha: float = 1.5, parametrization: str = "direct") -> None:
        super().__init__()
        if num_tasks <= 0:
            raise ValueError(f"num_tasks must be > 0, got {num_tasks}")
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(
                f"parametrization must be one of {PARAMETRIZATIONS}, got {parametrization!r}"
            )
        self.num_tasks = num_tasks
        self.alpha = float(alpha)
        self.parametrization = parametrization
        if parametrization == "direct":
            self.task_weights = nn.Parameter(torch.ones(num_tasks))
        else:
            self.task_logits = nn.Parameter(torch.zeros(num_tasks))
        self.register_buffer("initial_losses", torch.full((num_tasks,), float("nan")))

    def extra_repr(self) -> str:
        return f"num_tasks={self.num_tasks}, alpha={self.alpha}, parametrization={self.parametrization!r}"

    @property
    def _param(self) -> nn.Parameter:
        return self.task_weights if self.parametrization == "direct" else self.task_logits

    def _weight_vector(self) -> Tensor:
        """The weights ``w`` as a differentiable function of the trainable parameter."""
        if self.parametrization == "direct":
            return self.task_weights
        return self.num_tasks * torch.softmax(self.task_logits, dim=0)

    @property
    def weights(self) -> Tensor:
        return self._weight_vector().detach()

    def gradnorm_loss(
        self,
        losses: Sequence[Tensor] | Tensor,
        shared_params: Iterable[nn.Parameter],
        all_reduce: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """``L_grad`` of Eq. 2, differentiable w.r.t. the weights' parameter only.

        ``all_reduce`` (several processes): a function averaging a tensor over them in place,
        e.g. :func:`~transferkit.multitask.mean_over_processes`. The losses and the task
        gradients w.r.t. ``W`` are averaged before the norms are taken, so ``L_grad`` is that of
        the global batch and identical in every process.
        """
        L = stack_losses(losses, self.num_tasks)
        W = [p for p in shared_params if p.requires_grad]
        if not W:
            raise ValueError("GradNorm needs the last shared layer's parameters, got none")
        L_now = L.detach().float()
        if all_reduce is not None:
            L_now = all_reduce(L_now.clone())
        if torch.isnan(self.initial_losses).any():
            self.initial_losses.copy_(L_now)
        w = self._weight_vector()
        norms = []
        for i in range(self.num_tasks):
            g = torch.autograd.grad(L[i], W, retain_graph=True, allow_unused=True)
            g = [torch.zeros_like(p) if x is None else x.detach() for x, p in zip(g, W)]
            g = reduce_grads(W, g, all_reduce)
            gn = torch.sqrt(sum((x**2).sum() for x in g))
            norms.append(w[i] * gn.to(w.dtype))  # w_i |grad L_i|
        G = torch.stack(norms)
        ratio = L_now.to(G.dtype) / self.initial_losses.to(G.dtype).clamp(min=1e-12)
        r = ratio / ratio.mean()
        target = (G.mean() * r**self.alpha).detach()
        return (G - target).abs().sum()

    def backward(
        self,
        losses: Sequence[Tensor] | Tensor,
        shared_params: Iterable[nn.Parameter],
        all_reduce: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """Fill ``.grad`` of the model (from ``sum w_i L_i``) and of the weights' parameter
        (from ``L_grad``); returns the weighted total loss (detached).

        With several processes pass ``all_reduce`` (see :meth:`gradnorm_loss`): the task
        weights then get the same gradient everywhere; the model's gradients come from
        ``Tensor.backward`` and are averaged by DDP's hooks when the model is DDP-wrapped.
        """
        L = stack_losses(losses, self.num_tasks)
        lg = self.gradnorm_loss(L, shared_params, all_reduce)
        param = self._param
        (gw,) = torch.autograd.grad(lg, [param], retain_graph=True)
        total = self(L)  # sum_i w_i L_i with the weights held constant
        total.backward()
        param.grad = gw if param.grad is None else param.grad + gw
        return total.detach()

    @torch.no_grad()
    def renormalize(self) -> None:
        """Rescale the weights so they sum to ``m`` (and stay > 0); call after each step.

        A no-op with ``parametrization="softmax"``, whose weights sum to ``m`` by construction.
        """
        if self.parametrization != "direct":
            return
        w = self.task_weights.clamp_(min=1e-6)
        w.mul_(self.num_tasks / w.sum())
