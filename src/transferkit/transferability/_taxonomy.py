"""The Taskonomy binary integer program: which tasks to supervise, and what feeds each target.

Zamir, Sax, Shen, Guibas, Malik, Savarese, "Taskonomy: Disentangling Task Transfer Learning",
CVPR 2018, Section 3.4. Given the affinity ``p_i`` of every candidate transfer ``i`` (a set of
source tasks -> one target; first order = one source, higher order = several), the cost
``l_j`` of supervising task ``j`` and the importance ``r_t`` of each target, choose

* ``x_j`` in {0, 1}: task ``j`` is supervised (trained from full supervision),
* ``e_i`` in {0, 1}: transfer ``i`` is used,

to maximise ``sum_i r_target(i) p_i e_i`` subject to

* every target has exactly one incoming transfer: ``sum_{i -> t} e_i = 1``;
* a transfer needs every one of its sources supervised: ``e_i <= x_s`` for ``s`` in ``S_i``;
* the supervision budget: ``sum_j l_j x_j <= budget``.

A supervised target can keep its own network: the transfer ``(t,) -> t`` (the release's
``self__t``) needs only ``t`` itself supervised. The program is solved exactly with
``scipy.optimize.milp`` (HiGHS branch and cut, relative gap 0). Among optimal solutions the
one returned supervises no task that its transfers do not use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ..exceptions import ConfigError, DataError
from ._ahp import parse_transfer_key

__all__ = ["Taxonomy", "solve_taxonomy", "cheapest_taxonomy_cost"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Taxonomy:
    """One solution of the taxonomy program.

    Attributes:
        budget: the budget it was solved for.
        supervised: the supervised tasks, sorted.
        transfers: target -> the source tasks of its chosen incoming transfer.
        affinity: target -> the affinity of that transfer.
        objective: ``sum_t r_t p_(chosen transfer of t)``.
        cost: ``sum_j l_j`` over the supervised tasks (<= budget).
    """

    budget: float
    supervised: tuple[str, ...]
    transfers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    affinity: dict[str, float] = field(default_factory=dict)
    objective: float = 0.0
    cost: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["supervised"] = list(self.supervised)
        d["transfers"] = {t: list(s) for t, s in self.transfers.items()}
        return d


@dataclass
class _Problem:
    tasks: list[str]
    targets: list[str]
    transfers: list[tuple[tuple[str, ...], str]]
    values: np.ndarray  # importance-weighted affinity per transfer
    raw: np.ndarray  # affinity per transfer
    costs: np.ndarray  # per task

    def constraints(self) -> list[LinearConstraint]:
        nt, ne = len(self.tasks), len(self.transfers)
        tix = {t: i for i, t in enumerate(self.tasks)}
        gix = {t: i for i, t in enumerate(self.targets)}
        # one incoming transfer per target
        rows = [gix[tgt] for _, tgt in self.transfers]
        one = scipy.sparse.csr_matrix(
            (np.ones(ne), (rows, nt + np.arange(ne))), shape=(len(self.targets), nt + ne)
        )
        # e_i - x_s <= 0 for every source s of transfer i
        r, c, v = [], [], []
        k = 0
        for i, (sources, _) in enumerate(self.transfers):
            for s in dict.fromkeys(sources):
                r += [k, k]
                c += [nt + i, tix[s]]
                v += [1.0, -1.0]
                k += 1
        need = scipy.sparse.csr_matrix((v, (r, c)), shape=(k, nt + ne))
        return [
            LinearConstraint(one, 1.0, 1.0),
            LinearConstraint(need, -np.inf, 0.0),
        ]

    def solve(self, objective: np.ndarray, extra: list[LinearConstraint], gap: float, time_limit):
        n = objective.shape[0]
        options: dict[str, Any] = {"mip_rel_gap": gap}
        if time_limit is not None:
            options["time_limit"] = time_limit
        return milp(
            objective,
            constraints=self.constraints() + extra,
            integrality=np.ones(n),
            bounds=Bounds(0.0, 1.0),
            options=options,
        )


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"{what} must be a list of task names, got {value!r}")
    out = list(dict.fromkeys(value))
    if not all(isinstance(t, str) and t for t in out):
        raise ConfigError(f"{what} must hold non-empty strings, got {out!r}")
    return out


def _build(
    affinities: Mapping[Any, float],
    tasks: Sequence[str] | None,
    targets: Sequence[str] | None,
    costs: Mapping[str, float] | None,
    importances: Mapping[str, float] | None,
    max_order: int | None,
) -> _Problem:
    if not isinstance(affinities, Mapping) or not affinities:
        raise ConfigError("affinities must be a non-empty mapping {'src__tgt': affinity, ...}")
    if max_order is not None and max_order < 1:
        raise ConfigError(f"max_order must be >= 1, got {max_order}")
    parsed: dict[tuple[tuple[str, ...], str], float] = {}
    for key, value in affinities.items():
        sources, target = parse_transfer_key(key)
        v = float(value)
        if not np.isfinite(v):
            raise DataError(f"affinity of transfer {key!r} is not finite: {value!r}")
        k = (tuple(sorted(set(sources))), target)
        parsed[k] = max(v, parsed.get(k, -np.inf))
    named = {n for (s, t) in parsed for n in (*s, t)}
    if tasks is None:
        task_list = sorted(named)
    else:
        task_list = _names(tasks, "tasks")
        unknown = sorted(named - set(task_list))
        if unknown:
            bad = next(
                k
                for k in affinities
                if {*parse_transfer_key(k)[0], parse_transfer_key(k)[1]} & set(unknown)
            )
            raise ConfigError(
                f"affinity key {bad!r} names unknown task(s) {unknown[:5]}; known tasks: {task_list}"
            )
    all_targets = sorted({t for _, t in parsed})
    target_list = all_targets if targets is None else _names(targets, "targets")
    for t in target_list:
        if t not in task_list:
            raise ConfigError(f"target '{t}' is not a known task; known tasks: {task_list}")
    transfers = [
        (s, t)
        for (s, t) in sorted(parsed)
        if t in target_list and (max_order is None or len(s) <= max_order)
    ]
    missing = sorted(set(target_list) - {t for _, t in transfers})
    if missing:
        raise DataError(
            f"target(s) {missing} have no candidate transfer"
            + (f" of order <= {max_order}" if max_order is not None else "")
        )
    cost_arr = np.ones(len(task_list))
    for key, value in (costs or {}).items():
        if key not in task_list:
            raise ConfigError(f"costs names unknown task '{key}'; known tasks: {task_list}")
        if not (np.isfinite(value) and value >= 0):
            raise ConfigError(f"cost of task '{key}' must be finite and >= 0, got {value}")
        cost_arr[task_list.index(key)] = float(value)
    imp = dict.fromkeys(target_list, 1.0)
    for key, value in (importances or {}).items():
        if key not in target_list:
            raise ConfigError(f"importances names unknown target '{key}'; targets: {target_list}")
        if not (np.isfinite(value) and value >= 0):
            raise ConfigError(f"importance of target '{key}' must be finite and >= 0, got {value}")
        imp[key] = float(value)
    raw = np.array([parsed[k] for k in transfers])
    values = raw * np.array([imp[t] for _, t in transfers])
    return _Problem(task_list, target_list, transfers, values, raw, cost_arr)


def _cheapest(problem: _Problem) -> tuple[float, list[str]]:
    ne = len(problem.transfers)
    res = problem.solve(np.concatenate([problem.costs, np.zeros(ne)]), [], 0.0, None)
    if res.status != 0 or res.x is None:  # pragma: no cover - always feasible: all tasks supervised
        raise DataError(f"the taxonomy program has no feasible solution ({res.message})")
    chosen = [t for t, xv in zip(problem.tasks, res.x[: len(problem.tasks)]) if xv > 0.5]
    return float(problem.costs @ np.round(res.x[: len(problem.tasks)])), chosen


def cheapest_taxonomy_cost(
    affinities: Mapping[Any, float],
    *,
    tasks: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    costs: Mapping[str, float] | None = None,
    max_order: int | None = None,
) -> float:
    """The smallest budget for which every target can get one incoming transfer."""
    return _cheapest(_build(affinities, tasks, targets, costs, None, max_order))[0]


def solve_taxonomy(
    affinities: Mapping[Any, float],
    budget: float | Sequence[float],
    *,
    tasks: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    costs: Mapping[str, float] | None = None,
    importances: Mapping[str, float] | None = None,
    max_order: int | None = None,
    mip_rel_gap: float = 0.0,
    time_limit: float | None = None,
) -> Taxonomy | list[Taxonomy]:
    """Solve the Taskonomy program (Zamir et al., CVPR 2018, Section 3.4) for one or more budgets.

    Args:
        affinities: ``{key: affinity}`` with keys ``"src__tgt"``, ``"src1__src2__tgt"``, a flat
            tuple ``(src1, ..., tgt)`` or ``((src1, ...), tgt)``; a key whose sources include
            its target (``"t__t"``, or ``self__t`` read by :func:`load_taskonomy_affinities`) is
            the target keeping its own supervised network.
        budget: the supervision budget, or a list of budgets (a list of results comes back).
        tasks: every task that may be supervised; default: every name in the keys. Keys
            naming another task are an error.
        targets: the tasks that need a transfer; default: every target in the keys.
        costs: ``l_j`` per task (default 1, so the budget counts supervised tasks as in the
            paper).
        importances: ``r_t`` per target (default 1).
        max_order: largest number of sources in a transfer (default: all in ``affinities``).
        mip_rel_gap: relative optimality gap of the solver; 0 = proven optimal.
        time_limit: optional solver time limit in seconds per budget.

    Raises:
        ConfigError: a budget below the cheapest feasible taxonomy, unknown task names,
            negative costs.
    """
    if mip_rel_gap < 0:
        raise ConfigError(f"mip_rel_gap must be >= 0, got {mip_rel_gap}")
    problem = _build(affinities, tasks, targets, costs, importances, max_order)
    budgets = [budget] if np.isscalar(budget) else list(budget)
    if not budgets:
        raise ConfigError("budget must be a number or a non-empty list of numbers")
    min_cost, min_set = _cheapest(problem)
    nt, ne = len(problem.tasks), len(problem.transfers)
    objective = np.concatenate([np.zeros(nt), -problem.values])
    results = []
    for b in budgets:
        b = float(b)
        if not np.isfinite(b) or b < min_cost - 1e-9:
            raise ConfigError(
                f"budget {b:g} is below the cheapest feasible taxonomy, which costs {min_cost:g} "
                f"(supervising {min_set}); every target needs one incoming transfer whose "
                "sources are all supervised"
            )
        row = np.concatenate([problem.costs, np.zeros(ne)])[None, :]
        res = problem.solve(objective, [LinearConstraint(row, -np.inf, b)], mip_rel_gap, time_limit)
        if res.x is None:
            raise DataError(f"the taxonomy program failed for budget {b:g}: {res.message}")
        if res.status != 0:
            log.warning(
                "taxonomy program, budget %g: %s (best solution found returned)", b, res.message
            )
        x = np.round(res.x)
        chosen = {problem.transfers[i][1]: i for i in range(ne) if x[nt + i] > 0.5}
        # a supervised task that no chosen transfer uses only spends budget: drop it (the
        # objective and feasibility are unchanged, the cost can only fall)
        used = {s for i in chosen.values() for s in problem.transfers[i][0]}
        x[:nt] = [1.0 if t in used else 0.0 for t in problem.tasks]
        supervised = tuple(t for t, xv in zip(problem.tasks, x[:nt]) if xv > 0.5)
        results.append(
            Taxonomy(
                budget=b,
                supervised=tuple(sorted(supervised)),
                transfers={t: problem.transfers[chosen[t]][0] for t in problem.targets},
                affinity={t: float(problem.raw[chosen[t]]) for t in problem.targets},
                objective=float(sum(problem.values[chosen[t]] for t in problem.targets)),
                cost=float(problem.costs @ x[:nt]),
            )
        )
    return results[0] if np.isscalar(budget) else results
