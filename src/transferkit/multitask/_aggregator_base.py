"""Base class of gradient aggregators: pure functions of the task Jacobian or its Gramian.

An aggregator maps the Jacobian ``J`` (``[m, n]``: one row per task gradient) to one update
direction ``d`` (``[n]``). Every aggregator here is *Gramian-based*: it picks weights
``w = weights(J J^T)`` and returns ``d = J^T w``, so it only needs the ``m x m`` Gramian (this is
also what makes MGDA-UB cheap, see :func:`~transferkit.multitask.mtl_backward`).

Aggregators hold hyper-parameters only, no training state: calling one twice on the same
matrix gives the same answer, except PCGrad, whose random task orders come from a generator it
owns (seeded at construction); no aggregator reads or advances torch's global RNG.
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["Aggregator", "gramian"]


def gramian(jacobian: Tensor) -> Tensor:
    """``J J^T`` of a ``[m, ...]`` Jacobian (trailing dimensions are flattened)."""
    J = jacobian.reshape(jacobian.shape[0], -1)
    return J @ J.T


class Aggregator:
    """Maps a task Jacobian ``[m, n]`` to an update direction ``[n]`` via Gramian weights."""

    def weights(self, gramian: Tensor) -> Tensor:  # pragma: no cover - abstract
        """Weights ``w`` (``[m]``) such that the direction is ``J^T w``; ``gramian = J J^T``."""
        raise NotImplementedError

    def __call__(self, jacobian: Tensor) -> Tensor:
        return self.aggregate(jacobian)[0]

    def aggregate(self, jacobian: Tensor) -> tuple[Tensor, Tensor]:
        """``(direction, weights)`` for a ``[m, n]`` Jacobian."""
        if jacobian.dim() != 2:
            raise ValueError(
                f"an aggregator expects a [m, n] Jacobian, got shape {tuple(jacobian.shape)}"
            )
        if jacobian.shape[0] == 0:
            raise ValueError("an aggregator needs at least one task gradient (m >= 1), got 0")
        w = self.weights(gramian(jacobian)).to(jacobian.dtype)
        return w @ jacobian, w

    def _check_gramian(self, G: Tensor) -> None:
        if G.dim() != 2 or G.shape[0] != G.shape[1]:
            raise ValueError(f"a Gramian must be square [m, m], got shape {tuple(G.shape)}")

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items()
            if not k.startswith("_") and not k.endswith("_")  # fitted attributes end in "_"
        )
        return f"{type(self).__name__}({params})"
