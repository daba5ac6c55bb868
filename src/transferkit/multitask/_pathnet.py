"""PathNet: evolution channels gradient descent in a modular network.

Fernando et al., "PathNet: Evolution Channels Gradient Descent in Super Neural Networks",
arXiv:1701.08734, 2017. The network has ``L`` layers of ``M`` modules each; a *pathway* names up
to ``N`` active modules per layer (an ``[L, N]`` integer array; a repeated index activates the
module once). The active modules of a layer see the sum of the previous layer's active outputs
(Sec. 2.1: "the outputs of the modules ... are summed"), and the last layer feeds a task-specific
linear readout.

Learning a task (Sec. 2.2, the binary tournament of the supervised experiments): a population of
random pathways; each tournament picks two at random, trains each for ``T`` minibatches by
gradient descent on its own active modules (and the task's readout), scores its fitness as the
training accuracy over those minibatches, and overwrites the loser by a copy of the winner
mutated independently at each index with probability ``1/(L*N)`` by a uniform integer shift in
``[-2, 2]`` (wrapped around ``M``). When a task is done, its best pathway is fixed, its modules
are frozen, and every other module is re-initialised (Sec. 2.3); the next task evolves its own
pathway and may run through the frozen modules, which it can use but not change.

:class:`PathNet` is the network (a registered ``mtl_architecture``), :class:`PathNetEvolution`
the evolution of one task's pathway, stepped explicitly (``step()`` = one tournament).

Differences from the paper, for CPU-sized runs: Adam (the paper uses SGD; lr is a parameter),
and the module width, population and ``T`` are arguments with the paper's MNIST values as
defaults (``L=3``, ``M=10``, ``N=3``, 20 units, population 64, ``T=50``, minibatch 16).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .._registry import register
from ..backbones._base import Backbone
from ..exceptions import ConfigError
from ._arch_base import MultiTaskModel, check_tasks, resolve_backbone
from ._task import Task

__all__ = ["PathNet", "PathNetEvolution", "mutate_pathway", "random_pathway"]


def random_pathway(layers: int, modules: int, active: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random ``[layers, active]`` pathway with indices in ``[0, modules)``."""
    return rng.integers(0, modules, size=(layers, active))


def mutate_pathway(path: np.ndarray, modules: int, rng: np.random.Generator, prob: float | None = None,
                   max_shift: int = 2) -> np.ndarray:
    """A mutated copy of ``path``: each index, with probability ``prob`` (default ``1/(L*N)``),
    shifted by a uniform integer in ``[-max_shift, max_shift]`` and wrapped into ``[0, modules)``
    (Fernando et al. 2017, Sec. 2.2)."""
    path = np.asarray(path)
    if prob is None:
        prob = 1.0 / path.size
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1], got {prob}")
    hit = rng.random(path.shape) < prob
    shift = rng.integers(-max_shift, max_shift + 1, size=path.shape)
    return np.where(hit, (path + shift) % modules, path)


@register("mtl_architecture", "pathnet")
class PathNet(MultiTaskModel):
    """PathNet (Fernando et al. 2017): ``layers`` x ``modules`` modules, a pathway per task.

    Args:
        tasks: the tasks, each with its own readout and pathway (a random one until evolved).
        backbone: optional encoder in front of the modules, kept **frozen** (fixed features, so
            a finished task's computation never changes); ``None``: the flattened input.
        input_shape: one sample's shape; needed without a backbone.
        layers, modules, active: ``L``, ``M`` and ``N`` of the paper (3, 10, 3 for MNIST).
        width: units of each module (a linear layer + ReLU; 20 in the paper's MNIST runs).
        seed: the random initial pathways.
    """

    def __init__(
        self,
        tasks: Sequence[Task],
        backbone: Backbone | str | None = None,
        input_shape: Sequence[int] | None = None,
        layers: int = 3,
        modules: int = 10,
        active: int = 3,
        width: int = 20,
        seed: int = 0,
        backbone_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        for key, v in (("layers", layers), ("modules", modules), ("active", active), ("width", width)):
            if int(v) <= 0:
                raise ConfigError(f"{key} must be > 0, got {v}")
        if active > modules:
            raise ConfigError(f"active must be <= modules, got active={active}, modules={modules}")
        self.tasks = check_tasks(tasks)
        self.L, self.M, self.N, self.width = int(layers), int(modules), int(active), int(width)
        if backbone is not None:
            self.encoder: nn.Module | None = resolve_backbone(backbone, backbone_params)
            for p in self.encoder.parameters():
                p.requires_grad_(False)
            in_dim = int(self.encoder.feature_dim)
        else:
            if input_shape is None:
                raise ConfigError("PathNet needs input_shape (one sample's shape) when no backbone is given")
            self.encoder = None
            in_dim = int(math.prod(input_shape))
        self.grid = nn.ModuleList(
            nn.ModuleList(nn.Linear(in_dim if i == 0 else self.width, self.width) for _ in range(self.M))
            for i in range(self.L)
        )
        self.heads = nn.ModuleDict({t.name: t.make_head(self.width) for t in self.tasks})
        self.register_buffer("frozen", torch.zeros(self.L, self.M, dtype=torch.bool))
        rng = np.random.default_rng(seed)
        self.register_buffer("pathways", torch.as_tensor(
            np.stack([random_pathway(self.L, self.M, self.N, rng) for _ in self.tasks]), dtype=torch.long))
        self.register_buffer("fixed", torch.zeros(len(self.tasks), dtype=torch.bool))
        self.sync_trainable()

    # ------------------------------------------------------------------ forward
    def _task_index(self, task: str) -> int:
        if task not in self.task_names:
            raise ConfigError(f"unknown task '{task}'; tasks: {self.task_names}")
        return self.task_names.index(task)

    def _inputs(self, x: Tensor) -> Tensor:
        if self.encoder is not None:
            self.encoder.eval()
            with torch.no_grad():
                return self.encoder.features(x)
        return torch.flatten(x, 1)

    def forward_path(self, x: Tensor, pathway: Tensor | np.ndarray, task: str) -> Tensor:
        """The output of ``task``'s readout through ``pathway`` (``[L, N]`` module indices)."""
        path = torch.as_tensor(np.asarray(pathway), dtype=torch.long)
        if tuple(path.shape) != (self.L, self.N):
            raise ValueError(f"pathway must have shape ({self.L}, {self.N}), got {tuple(path.shape)}")
        if int(path.min()) < 0 or int(path.max()) >= self.M:
            raise ValueError(f"pathway indices must be in [0, {self.M}), got {path.tolist()}")
        h = self._inputs(x)
        for i in range(self.L):
            h = sum(torch.relu(self.grid[i][m](h)) for m in sorted(set(path[i].tolist())))
        return self.heads[task](h)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return {t: self.forward_path(x, self.pathways[k], t) for k, t in enumerate(self.task_names)}

    # --------------------------------------------------------------- modules
    def path_modules(self, pathway: Tensor | np.ndarray) -> list[tuple[int, int]]:
        """The ``(layer, module)`` pairs a pathway activates."""
        path = np.asarray(pathway)
        return sorted({(i, int(m)) for i in range(self.L) for m in path[i]})

    def trainable_path_parameters(self, pathway: Tensor | np.ndarray) -> list[nn.Parameter]:
        """The parameters of the pathway's modules that are not frozen."""
        return [p for i, m in self.path_modules(pathway) if not bool(self.frozen[i, m])
                for p in self.grid[i][m].parameters()]

    def set_trainable(self, pathways: Sequence[Tensor | np.ndarray]) -> None:
        """``requires_grad`` exactly on the unfrozen modules of ``pathways`` (the rest get no
        gradient: a module off every pathway is not part of the network being trained)."""
        on = {im for path in pathways for im in self.path_modules(path)}
        for i in range(self.L):
            for m in range(self.M):
                trainable = (i, m) in on and not bool(self.frozen[i, m])
                for p in self.grid[i][m].parameters():
                    p.requires_grad_(trainable)

    def sync_trainable(self) -> None:
        """Train the current pathways of the tasks not yet fixed (joint training by ``forward``)."""
        self.set_trainable([self.pathways[k] for k in range(len(self.tasks)) if not bool(self.fixed[k])])

    def fix_task(self, task: str, pathway: Tensor | np.ndarray, reinit_rest: bool = True) -> None:
        """Fix ``task``'s pathway, freeze its modules and its readout, and re-initialise every
        module not frozen (Fernando et al. 2017, Sec. 2.3)."""
        k = self._task_index(task)
        self.pathways[k] = torch.as_tensor(np.asarray(pathway), dtype=torch.long)
        for i, m in self.path_modules(pathway):
            self.frozen[i, m] = True
        self.fixed[k] = True
        if reinit_rest:
            for i in range(self.L):
                for m in range(self.M):
                    if not bool(self.frozen[i, m]):
                        self.grid[i][m].reset_parameters()
        for p in self.heads[task].parameters():
            p.requires_grad_(False)
        self.sync_trainable()

    def shared_parameters(self) -> Iterator[nn.Parameter]:
        return (p for layer in self.grid for mod in layer for p in mod.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [p for mod in self.grid[-1] for p in mod.parameters()]


class PathNetEvolution:
    """The binary-tournament evolution of one task's pathway (Fernando et al. 2017, Sec. 2.2).

    Each :meth:`step` is one tournament: two distinct random pathways of the population are
    trained for ``steps_per_pathway`` minibatches each (their non-frozen modules and the task's
    readout, by Adam), their fitness is their training accuracy over those minibatches, and the
    loser is overwritten by a mutated copy of the winner. :meth:`finish` fixes the best pathway
    in the network (freezing its modules, re-initialising the rest).

    Args:
        net: the :class:`PathNet`.
        task: the task's name.
        X, y: the task's training inputs and integer labels.
        population: pathways in the population (64 in the paper).
        steps_per_pathway: ``T``, minibatches each contestant trains (50 in the paper).
        batch_size: minibatch size (16 in the paper).
        lr: Adam's learning rate.
        mutation_prob: per-index mutation probability; ``None``: ``1/(L*N)``.
        seed: population, tournaments, mutations and minibatches.
    """

    def __init__(self, net: PathNet, task: str, X: Tensor, y: Tensor, population: int = 64,
                 steps_per_pathway: int = 50, batch_size: int = 16, lr: float = 1e-3,
                 mutation_prob: float | None = None, seed: int = 0) -> None:
        if population < 2:
            raise ConfigError(f"population must be >= 2 (a tournament needs two pathways), got {population}")
        if steps_per_pathway <= 0 or batch_size <= 0 or lr <= 0:
            raise ConfigError(f"steps_per_pathway, batch_size and lr must be > 0, got {steps_per_pathway}, "
                              f"{batch_size}, {lr}")
        if mutation_prob is not None and not 0.0 <= mutation_prob <= 1.0:
            raise ConfigError(f"mutation_prob must be in [0, 1], got {mutation_prob}")
        if len(X) != len(y) or len(X) == 0:
            raise ConfigError(f"X and y must be non-empty and of one length, got {len(X)} and {len(y)}")
        self.net, self.task = net, task
        self.k = net._task_index(task)
        self.X, self.y = X, y
        self.T, self.batch_size = int(steps_per_pathway), int(batch_size)
        self.mutation_prob = mutation_prob if mutation_prob is not None else 1.0 / (net.L * net.N)
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.population = np.stack([random_pathway(net.L, net.M, net.N, self.rng) for _ in range(population)])
        self.fitness = np.full(population, -np.inf)
        if bool(net.fixed[self.k]):
            raise ConfigError(f"task '{task}' is already fixed; its pathway and readout are frozen")
        params = [p for i, mod in enumerate(net.grid) for j, m in enumerate(mod) if not bool(net.frozen[i, j])
                  for p in m.parameters()]
        params += list(net.heads[task].parameters())
        self.optimizer = torch.optim.Adam(params, lr=lr)
        self.tournaments = 0

    def _train(self, path: np.ndarray) -> float:
        """Train ``path`` for T minibatches; its fitness is the training accuracy over them."""
        net = self.net
        net.train()
        net.set_trainable([path])  # only the pathway's own, unfrozen modules get gradients
        correct = total = 0
        for _ in range(self.T):
            idx = torch.randint(0, len(self.X), (self.batch_size,), generator=self.gen)
            x, y = self.X[idx], self.y[idx]
            self.optimizer.zero_grad(set_to_none=True)
            out = net.forward_path(x, path, self.task)
            loss = torch.nn.functional.cross_entropy(out, y)
            loss.backward()
            self.optimizer.step()  # Adam skips the parameters without a gradient
            correct += int((out.argmax(1) == y).sum())
            total += len(y)
        net.sync_trainable()
        return correct / total

    def step(self) -> dict[str, Any]:
        """One binary tournament; returns the contestants, their fitness and the winner."""
        a, b = self.rng.choice(len(self.population), size=2, replace=False)
        fa, fb = self._train(self.population[a]), self._train(self.population[b])
        win, lose = (a, b) if fa >= fb else (b, a)
        self.fitness[a], self.fitness[b] = fa, fb
        self.population[lose] = mutate_pathway(self.population[win], self.net.M, self.rng, self.mutation_prob)
        self.fitness[lose] = -np.inf  # a new pathway, not yet evaluated
        self.tournaments += 1
        return {"winner": int(win), "loser": int(lose), "fitness": (fa, fb), "best_fitness": max(fa, fb)}

    def run(self, tournaments: int, target_fitness: float | None = None) -> int:
        """Up to ``tournaments`` steps, stopping once a contestant reaches ``target_fitness``
        (the paper's stopping rule, 0.998 for MNIST); returns the tournaments run."""
        for t in range(tournaments):
            res = self.step()
            if target_fitness is not None and res["best_fitness"] >= target_fitness:
                return t + 1
        return tournaments

    def best(self) -> np.ndarray:
        """The pathway with the highest fitness seen (the last winner's lineage)."""
        return self.population[int(np.argmax(self.fitness))].copy()

    def finish(self) -> np.ndarray:
        """Fix the best pathway as the task's (freeze its modules, re-initialise the rest)."""
        path = self.best()
        self.net.fix_task(self.task, path)
        return path
