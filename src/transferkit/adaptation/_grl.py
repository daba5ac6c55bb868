"""Gradient reversal and the schedules of Ganin & Lempitsky (2015).

The gradient reversal layer (GRL) is the identity in the forward pass and multiplies the
incoming gradient by ``-coeff`` in the backward pass (Ganin & Lempitsky, ICML 2015, eq. 12-13;
Ganin et al., JMLR 2016, eq. 14). The coefficient ``lambda_p`` is raised from 0 to 1 with
training progress ``p`` by :class:`GRLSchedule` (JMLR 2016, Section 5.2.2):

    lambda_p = 2 / (1 + exp(-gamma * p)) - 1,   gamma = 10,

and the learning rate is annealed by :class:`LRAnnealing` (same section):

    mu_p = mu_0 / (1 + alpha * p) ** beta,      mu_0 = 0.01, alpha = 10, beta = 0.75.

Both schedules are explicit state objects: the training loop calls ``step()`` once per
optimisation step and reads ``value``; nothing advances inside ``forward``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["GRLSchedule", "GradientReversal", "GradientReversalFunction", "LRAnnealing", "grad_reverse"]


class GradientReversalFunction(torch.autograd.Function):
    """``y = x`` forward; ``dL/dx = -coeff * dL/dy`` backward."""

    @staticmethod
    def forward(ctx, x: Tensor, coeff: float) -> Tensor:  # type: ignore[override]
        ctx.coeff = float(coeff)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor):  # type: ignore[override]
        return -ctx.coeff * grad_output, None


def grad_reverse(x: Tensor, coeff: float = 1.0) -> Tensor:
    """Functional gradient reversal: identity forward, ``-coeff`` times the gradient backward."""
    return GradientReversalFunction.apply(x, coeff)


class GradientReversal(nn.Module):
    """Gradient reversal layer with a coefficient set on purpose by the training loop.

    Args:
        coeff: the reversal coefficient ``lambda`` (>= 0). Ganin & Lempitsky (2015) ramp it
            from 0 to 1 with :class:`GRLSchedule`; set it with :meth:`set_coeff`.
    """

    def __init__(self, coeff: float = 1.0):
        super().__init__()
        self.set_coeff(coeff)

    def set_coeff(self, coeff: float) -> None:
        coeff = float(coeff)
        if not math.isfinite(coeff) or coeff < 0:
            raise ValueError(f"coeff must be a finite number >= 0, got {coeff}")
        self.coeff = coeff

    def forward(self, x: Tensor) -> Tensor:
        return grad_reverse(x, self.coeff)

    def extra_repr(self) -> str:
        return f"coeff={self.coeff}"


class GRLSchedule:
    """``lambda_p = hi * (2 / (1 + exp(-gamma p)) - 1)`` with ``p = step / max_steps`` in [0, 1].

    Ganin et al., JMLR 2016, Section 5.2.2 (gamma = 10). Call :meth:`step` once per
    optimisation step; :attr:`value` is the coefficient for the *current* step.

    Args:
        max_steps: total number of optimisation steps (``p`` reaches 1 there and stays).
        gamma: steepness, 10 in the paper.
        hi: final coefficient (1 in the paper).
    """

    def __init__(self, max_steps: int, gamma: float = 10.0, hi: float = 1.0):
        if int(max_steps) <= 0:
            raise ValueError(f"max_steps must be > 0, got {max_steps}")
        if not gamma > 0:
            raise ValueError(f"gamma must be > 0, got {gamma}")
        if not hi >= 0:
            raise ValueError(f"hi must be >= 0, got {hi}")
        self.max_steps = int(max_steps)
        self.gamma = float(gamma)
        self.hi = float(hi)
        self.current_step = 0

    @property
    def progress(self) -> float:
        return min(self.current_step / self.max_steps, 1.0)

    @property
    def value(self) -> float:
        return self.hi * (2.0 / (1.0 + math.exp(-self.gamma * self.progress)) - 1.0)

    def step(self) -> float:
        """Advance one optimisation step; return the new coefficient."""
        self.current_step += 1
        return self.value

    def state_dict(self) -> dict:
        return {"current_step": self.current_step}

    def load_state_dict(self, state: dict) -> None:
        self.current_step = int(state["current_step"])

    def __repr__(self) -> str:
        return f"GRLSchedule(max_steps={self.max_steps}, gamma={self.gamma}, hi={self.hi})"


class LRAnnealing:
    """Learning-rate annealing ``mu_p = mu0 / (1 + alpha p) ** beta`` (Ganin et al., JMLR 2016).

    Use :meth:`factor` as ``torch.optim.lr_scheduler.LambdaLR(opt, sched.factor)`` (the factor
    multiplies ``mu0``, the optimiser's base learning rate), stepped once per optimisation step.

    Args:
        max_steps: total optimisation steps (``p = step / max_steps``).
        alpha: 10 in the paper.
        beta: 0.75 in the paper.
    """

    def __init__(self, max_steps: int, alpha: float = 10.0, beta: float = 0.75):
        if int(max_steps) <= 0:
            raise ValueError(f"max_steps must be > 0, got {max_steps}")
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.max_steps, self.alpha, self.beta = int(max_steps), float(alpha), float(beta)

    def factor(self, step: int) -> float:
        p = min(step / self.max_steps, 1.0)
        return 1.0 / (1.0 + self.alpha * p) ** self.beta

    def __repr__(self) -> str:
        return f"LRAnnealing(max_steps={self.max_steps}, alpha={self.alpha}, beta={self.beta})"
