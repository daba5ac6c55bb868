"""Choosing groups of tasks to train together from inter-task affinities.

Fifty, Amid, Zhao, Yu, Anil, Finn, "Efficiently Identifying Task Groupings for Multi-Task
Learning" (TAG), NeurIPS 2021, following Standley, Zamir, Chen, Guibas, Malik,
Savarese, "Which Tasks Should Be Learned Together in Multi-task Learning?", ICML 2020.
With ``Z[i, j]`` the affinity of task ``i`` onto task ``j`` (how much a step on
``i``'s loss lowers ``j``'s; see :func:`lookahead_affinity`), a task ``j`` in a group ``g``
scores the mean ``Z[i, j]`` over the other members ``i`` of ``g``. Up to ``k`` groups are
chosen (they may overlap, as in both papers: a task can be trained in several networks and is
served by its best one) so that every task is in at least one group and the sum over tasks of
their best group's score is maximal.

Exact search: for ``n <= exact_max_tasks`` tasks, an integer program over all ``2^n - 1``
candidate groups (``scipy.optimize.milp``, proven optimal), equal to enumerating every choice
of ``k`` groups. Beyond that, a stated approximation: the same program over a candidate pool
of every group of one or two tasks, the group grown greedily from each task (adding the task
that most raises the group's total score while it rises) and the group of all tasks.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ..exceptions import ConfigError, DataError
from ._common import _to_numpy

__all__ = ["TaskGrouping", "choose_task_groups", "group_score"]


@dataclass(frozen=True)
class TaskGrouping:
    """Chosen task groups.

    Attributes:
        groups: the groups that serve at least one task, each a sorted tuple of task names.
        assignment: task -> index in ``groups`` of the group that serves it (its best one).
        score: sum over tasks of the serving group's score for that task.
        exact: True when the search was exact (see the module docstring).
    """

    groups: tuple[tuple[str, ...], ...]
    assignment: dict[str, int]
    score: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [list(g) for g in self.groups],
            "assignment": dict(self.assignment),
            "score": self.score,
            "exact": self.exact,
        }


def _task_scores(z: np.ndarray, members: Sequence[int], singleton: float) -> dict[int, float]:
    if len(members) == 1:
        return {members[0]: singleton}
    idx = np.asarray(members)
    sub = z[np.ix_(idx, idx)]
    onto = (sub.sum(axis=0) - np.diag(sub)) / (len(members) - 1)
    return {int(j): float(v) for j, v in zip(idx, onto)}


def group_score(affinity: Any, group: Sequence[int], singleton_score: float = 0.0) -> float:
    """Total score of one group: sum over its tasks of the mean affinity onto them."""
    z = _matrix(affinity)
    return float(sum(_task_scores(z, list(group), singleton_score).values()))


def _matrix(affinity: Any) -> np.ndarray:
    z = _to_numpy(affinity).astype(np.float64)
    if z.ndim != 2 or z.shape[0] != z.shape[1] or z.shape[0] == 0:
        raise DataError(
            f"affinity must be a square [n, n] matrix (source i -> target j), got {z.shape}"
        )
    off = ~np.eye(z.shape[0], dtype=bool)
    if not np.isfinite(z[off]).all():
        raise DataError("affinity contains NaN or inf off the diagonal")
    return z


def _greedy_groups(z: np.ndarray, singleton: float) -> list[tuple[int, ...]]:
    n = z.shape[0]
    out = []
    for seed in range(n):
        group = [seed]
        best = group_score(z, group, singleton)
        while len(group) < n:
            cands = [
                (group_score(z, group + [t], singleton), t) for t in range(n) if t not in group
            ]
            val, t = max(cands)
            if val <= best:
                break
            group.append(t)
            best = val
        out.append(tuple(sorted(group)))
    return out


def choose_task_groups(
    affinity: Any,
    k: int,
    *,
    tasks: Sequence[str] | None = None,
    singleton_score: float = 0.0,
    exact_max_tasks: int = 10,
    time_limit: float | None = None,
) -> TaskGrouping:
    """Choose up to ``k`` (possibly overlapping) task groups maximising the total affinity.

    Args:
        affinity: [n, n] matrix, ``affinity[i, j]`` = affinity of task ``i`` onto task ``j``
            (TAG's ``Z_{i -> j}``, averaged over training); the diagonal is ignored.
        k: the number of networks one can afford (1 <= k).
        tasks: names of the n tasks (default ``"0"``, ``"1"``, ...).
        singleton_score: the score of a task trained alone (no other task to help it).
        exact_max_tasks: largest ``n`` solved exactly over all ``2^n - 1`` groups; above it the
            candidate-pool approximation of the module docstring is used.
        time_limit: optional solver time limit in seconds.
    """
    z = _matrix(affinity)
    n = z.shape[0]
    names = [str(i) for i in range(n)] if tasks is None else list(tasks)
    if len(names) != n or len(set(names)) != n:
        raise ConfigError(f"tasks must be {n} distinct names (one per affinity row), got {names}")
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if exact_max_tasks < 1:
        raise ConfigError(f"exact_max_tasks must be >= 1, got {exact_max_tasks}")
    exact = n <= exact_max_tasks
    if exact:
        cands = [c for r in range(1, n + 1) for c in itertools.combinations(range(n), r)]
    else:
        pool = {(i,) for i in range(n)} | set(itertools.combinations(range(n), 2))
        pool |= set(_greedy_groups(z, singleton_score)) | {tuple(range(n))}
        cands = sorted(pool, key=lambda g: (len(g), g))
    # variables: y_g (group chosen) then a_{g, j} (task j served by group g), j in g
    pairs = [
        (g, j, s)
        for g, c in enumerate(cands)
        for j, s in _task_scores(z, c, singleton_score).items()
    ]
    ng, na = len(cands), len(pairs)
    obj = np.concatenate([np.zeros(ng), -np.array([s for _, _, s in pairs])])
    a_idx = ng + np.arange(na)
    serve = scipy.sparse.csr_matrix(
        (np.ones(na), ([j for _, j, _ in pairs], a_idx)), shape=(n, ng + na)
    )
    link = scipy.sparse.csr_matrix(
        (
            np.concatenate([np.ones(na), -np.ones(na)]),
            (np.tile(np.arange(na), 2), np.concatenate([a_idx, [g for g, _, _ in pairs]])),
        ),
        shape=(na, ng + na),
    )
    count = scipy.sparse.csr_matrix(
        (np.ones(ng), (np.zeros(ng, dtype=int), np.arange(ng))), shape=(1, ng + na)
    )
    options: dict[str, Any] = {"mip_rel_gap": 0.0}
    if time_limit is not None:
        options["time_limit"] = time_limit
    res = milp(
        obj,
        constraints=[
            LinearConstraint(serve, 1.0, 1.0),
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(count, 0.0, float(k)),
        ],
        integrality=np.ones(ng + na),
        bounds=Bounds(0.0, 1.0),
        options=options,
    )
    if res.x is None:
        raise DataError(f"task grouping failed: {res.message}")
    served = {j: cands[g] for (g, j, _), v in zip(pairs, res.x[ng:]) if v > 0.5}
    used = sorted(set(served.values()), key=lambda g: (len(g), g))
    groups = tuple(tuple(names[i] for i in g) for g in used)
    assignment = {names[j]: used.index(served[j]) for j in range(n)}
    score = float(sum(s for (g, j, s), v in zip(pairs, res.x[ng:]) if v > 0.5))
    return TaskGrouping(groups=groups, assignment=assignment, score=score, exact=exact)
