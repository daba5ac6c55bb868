"""``transferkit taxonomy``: Taskonomy's budgeted choice of which tasks to supervise and which
transfer feeds each target (Zamir et al., CVPR 2018, Section 3.4), per budget.

Input: ``affinities`` (a Taskonomy release JSON such as ``taskonomy/all_affinities.json``,
read by :func:`transferkit.transferability.load_taskonomy_affinities`, or an inline
``{"src__tgt": affinity}`` mapping) or ``win_rates`` (per target, the pairwise win-rate matrix
of its sources, turned into affinities with AHP, :func:`~transferkit.transferability.ahp_weights`).
For every budget the binary integer program is solved exactly
(:func:`~transferkit.transferability.solve_taxonomy`); ``results.json``, ``report.md`` and one
drawn taxonomy per budget are written. Every budget is solved before the output directory is
created, so a budget below the cheapest feasible taxonomy, or a key naming an unknown task,
leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError
from ._config import TaxonomyConfig
from ._results import (
    check_output_dir,
    is_main_process,
    markdown_table,
    prepare_output_dir,
    write_results,
)

__all__ = ["run_taxonomy", "affinities_from_win_rates"]


def affinities_from_win_rates(win_rates: dict[str, Any]) -> dict[tuple[tuple[str, ...], str], float]:
    """``{target: {"sources": [...], "matrix": [[...]]}}`` -> ``{(sources, target): affinity}``.

    Each target's sources are weighted with AHP (the principal eigenvector of the reciprocal
    matrix of the clipped win rates, summing to 1). A source may name several tasks joined by
    ``__`` (a higher-order transfer); ``self`` is the target's own supervised network.
    """
    from ..transferability import ahp_weights

    if not isinstance(win_rates, dict) or not win_rates:
        raise ConfigError("win_rates must map each target to {sources: [...], matrix: [[...]]}")
    out: dict[tuple[tuple[str, ...], str], float] = {}
    for target, entry in win_rates.items():
        if not isinstance(entry, dict) or set(entry) != {"sources", "matrix"}:
            raise ConfigError(f"win_rates.{target} must hold exactly the keys 'sources' and 'matrix', "
                              f"got {sorted(entry) if isinstance(entry, dict) else type(entry).__name__}")
        sources = entry["sources"]
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
            raise ConfigError(f"win_rates.{target}.sources must be a non-empty list of task names")
        matrix = np.asarray(entry["matrix"], dtype=float)
        if matrix.shape != (len(sources), len(sources)):
            raise DataError(f"win_rates.{target}.matrix must be {len(sources)} x {len(sources)} (one row and "
                            f"column per source), got shape {matrix.shape}")
        try:
            weights = ahp_weights(matrix)
        except DataError as err:
            raise DataError(f"win_rates.{target}: {err}") from None
        for s, w in zip(sources, weights):
            parts = tuple(target if p == "self" else p for p in s.split("__"))
            out[(tuple(sorted(set(parts))), target)] = float(w)
    return out


def _load(cfg: TaxonomyConfig) -> tuple[dict, str]:
    from ..transferability import load_taskonomy_affinities

    if cfg.win_rates is not None:
        raw = cfg.win_rates
        where = "inline win_rates"
        if isinstance(raw, str):
            where = f"win rates in '{raw}'"
            try:
                raw = json.loads(Path(raw).expanduser().read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise DataError(f"win_rates: '{cfg.win_rates}' is not a readable JSON file ({err})") from None
        return affinities_from_win_rates(raw), where + " (AHP-normalised)"
    if isinstance(cfg.affinities, str):
        return load_taskonomy_affinities(cfg.affinities, exclude=tuple(cfg.exclude)), f"'{cfg.affinities}'"
    return dict(cfg.affinities or {}), "inline affinities"


def run_taxonomy(
    cfg: TaxonomyConfig,
    output_dir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Solve the taxonomy program for every budget; returns the results also written to disk."""
    from ..transferability import solve_taxonomy

    out = cfg.output_dir(output_dir)
    check_output_dir(out, resume, overwrite)
    start = time.perf_counter()
    affinities, where = _load(cfg)
    solutions = solve_taxonomy(
        affinities, cfg.budget_list(), tasks=cfg.tasks, targets=cfg.targets, costs=cfg.costs,
        importances=cfg.importances, max_order=cfg.max_order,
    )
    from ..transferability import parse_transfer_key

    # keys are (sources, target) from a file, "src__tgt" strings inline
    pairs = [parse_transfer_key(k) for k in affinities]
    all_tasks = sorted({n for (s, t) in pairs for n in (*s, t)} | set(cfg.tasks or []))
    targets = list(solutions[0].transfers)
    seconds = time.perf_counter() - start
    prepare_output_dir(out, resume, overwrite)
    def count(x: float) -> float | int:  # budgets and costs in whole tasks print as 1, not 1.000
        return int(x) if float(x).is_integer() else x

    summary = [{
        "budget": count(s.budget), "cost": count(s.cost), "objective": s.objective,
        "mean_affinity": s.objective / len(targets) if targets else None,
        "supervised": ", ".join(s.supervised),
        "n_supervised": len(s.supervised),
        "targets_own_network": sum(1 for t, src in s.transfers.items() if src == (t,)),
        "higher_order_transfers": sum(1 for src in s.transfers.values() if len(src) > 1),
    } for s in solutions]
    figures = [_draw(out, s, all_tasks, targets) for s in solutions] if is_main_process() else []
    columns = ["budget", "cost", "objective", "mean_affinity", "n_supervised", "targets_own_network",
               "higher_order_transfers", "supervised"]
    results = write_results(
        out, cfg.model_dump(mode="json"), [{"method": "taxonomy", "seed": None, "budget": s.budget,
                                            "metrics": {"objective": s.objective}, **s.to_dict()} for s in solutions],
        summary, command="taxonomy",
        extra={"source": where, "tasks": all_tasks, "targets": targets,
               "transfers": len(affinities), "solve_seconds": seconds, "figures": figures, "columns": columns},
    )
    if is_main_process():
        results["report"] = _report(out, cfg, where, all_tasks, targets, solutions, summary, columns, figures)
    return results


def _draw(out: Path, sol: Any, tasks: list[str], targets: list[str]) -> str:
    """Tasks on a circle, supervised ones filled, an arrow from every source of each chosen
    transfer to its target (a target keeping its own network gets a ring, no arrow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    n = len(tasks)
    angle = {t: 2 * math.pi * i / n for i, t in enumerate(tasks)}
    pos = {t: (math.cos(a), math.sin(a)) for t, a in angle.items()}
    size = max(6.0, 0.35 * n)
    fig, ax = plt.subplots(figsize=(size, size))
    supervised = set(sol.supervised)
    for tgt, sources in sol.transfers.items():
        if sources == (tgt,):
            continue
        colour = "#e76f51" if len(sources) > 1 else "#264653"
        for s in sources:
            ax.annotate("", xy=pos[tgt], xytext=pos[s],
                        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 0.9, "alpha": 0.7,
                                    "shrinkA": 9, "shrinkB": 9, "connectionstyle": "arc3,rad=0.08"})
    for t in tasks:
        x, y = pos[t]
        own = sol.transfers.get(t) == (t,)
        ax.scatter([x], [y], s=260, zorder=3, color="#2a9d8f" if t in supervised else "white",
                   edgecolors="#e9c46a" if own else "#555555", linewidths=3 if own else 1)
        ha = "left" if x > 0.05 else "right" if x < -0.05 else "center"
        ax.text(1.13 * x, 1.13 * y, t + ("" if t in targets else " (source only)"), fontsize=7, ha=ha,
                va="center")
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Taxonomy at budget {sol.budget:g}: {len(supervised)} supervised (filled); arrows = chosen "
                 "transfers (red: higher order); ringed = keeps its own network", fontsize=8)
    fig.tight_layout()
    name = f"figures/taxonomy_budget_{sol.budget:g}.png"
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _report(out: Path, cfg: TaxonomyConfig, where: str, tasks: list[str], targets: list[str], solutions: list,
            summary: list[dict], columns: list[str], figures: list[str]) -> str:
    lines = [
        "# transferkit taxonomy", "",
        f"Affinities: {where}; {len(tasks)} tasks, {len(targets)} targets"
        + (f", transfers of order <= {cfg.max_order}" if cfg.max_order else "") + ". "
        "For every budget, the binary integer program of Zamir et al. (CVPR 2018, Section 3.4) is solved "
        "exactly (scipy.optimize.milp, HiGHS): choose the supervised tasks and one incoming transfer per target, "
        "maximising the importance-weighted affinity of the chosen transfers, within the budget "
        "(cost of the supervised tasks; default 1 each).",
        "",
        markdown_table(summary, columns), "",
    ]
    for sol, fig in zip(solutions, figures or [None] * len(solutions)):
        by_source: dict[tuple[str, ...], list[str]] = {}
        for t, s in sol.transfers.items():
            by_source.setdefault(s, []).append(t)
        lines += [f"## Budget {sol.budget:g}", "", "| sources | targets |", "|---|---|"]
        lines += [f"| {' + '.join(s)} | {', '.join(sorted(ts))} |" for s, ts in sorted(by_source.items())]
        lines += [""]
        if fig:
            lines += [f"![taxonomy at budget {sol.budget:g}]({fig})", ""]
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text)
    return text
