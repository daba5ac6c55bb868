"""The Taskonomy taxonomy from the released affinities, for every supervision budget.

Reads the AHP-normalised affinities that Zamir et al. (CVPR 2018) released
(``<data root>/taskonomy/all_affinities.json``: first- and second-order transfers to 22
target tasks; ``all_affinities_1k.json``: the 1k-image transfer run, up to fourth order) and
solves the budgeted binary integer program for budgets 1 .. number of tasks, with unit task
costs and importances (the budget counts supervised tasks), at each transfer order.

    python benchmarks/taxonomy_taskonomy.py [--root ../shared/data] [--file all_affinities.json]
        [--orders 1 2] [--exclude pixels] [--detail 1 2 3]
"""

from __future__ import annotations

import argparse
import platform
import time

from transferkit._utils import default_data_root
from transferkit.transferability import load_taskonomy_affinities, solve_taxonomy


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--root",
        default=None,
        help="data root holding taskonomy/ (default: TRANSFERKIT_DATA or ../shared/data)",
    )
    ap.add_argument("--file", default="all_affinities.json")
    ap.add_argument(
        "--orders",
        type=int,
        nargs="+",
        default=None,
        help="max transfer orders (default: 1 .. highest in the file)",
    )
    ap.add_argument(
        "--exclude", nargs="*", default=["pixels"], help="source names that are not tasks"
    )
    ap.add_argument(
        "--detail",
        type=int,
        nargs="*",
        default=[1, 2, 3],
        help="budgets whose transfers are listed",
    )
    args = ap.parse_args(argv)

    root = default_data_root() if args.root is None else args.root
    path = f"{root}/taskonomy/{args.file}"
    aff = load_taskonomy_affinities(path, exclude=tuple(args.exclude))
    tasks = sorted({n for (s, t) in aff for n in (*s, t)})
    targets = sorted({t for _, t in aff})
    top = max(len(s) for s, _ in aff)
    orders = args.orders or list(range(1, top + 1))
    print(f"# Taskonomy taxonomy: {path}")
    print(
        f"# {len(tasks)} tasks ({len(tasks) - len(targets)} source-only: {sorted(set(tasks) - set(targets))}), "
        f"{len(targets)} targets, {len(aff)} transfers, orders up to {top}; excluded sources: {args.exclude}"
    )
    print(f"# machine: {platform.machine()}, python {platform.python_version()}")
    own = sorted(((aff[((t,), t)], t) for t in targets if ((t,), t) in aff), reverse=True)
    print("# affinity of each target's own network (self__t, or t__t if larger), largest first:")
    print("# " + ", ".join(f"{t} {v:.3f}" for v, t in own))
    budgets = list(range(1, len(tasks) + 1))
    for order in orders:
        t0 = time.perf_counter()
        sols = solve_taxonomy(aff, budgets, max_order=order)
        secs = time.perf_counter() - t0
        print()
        print(f"## transfer order <= {order} ({secs:.1f} s for {len(budgets)} budgets)")
        print()
        print(
            "| budget | mean affinity of the chosen transfers | targets keeping their own network | supervised tasks |"
        )
        print("|---:|---:|---:|---|")
        for s in sols:
            own = sum(1 for t, src in s.transfers.items() if src == (t,))
            print(
                f"| {s.budget:g} | {s.objective / len(targets):.4f} | {own} | {', '.join(s.supervised)} |"
            )
        for b in args.detail:
            if b not in budgets:
                continue
            s = sols[budgets.index(b)]
            print()
            print(f"transfers at budget {b}, order <= {order}:")
            by_src: dict[tuple[str, ...], list[str]] = {}
            for t, src in sorted(s.transfers.items()):
                by_src.setdefault(src, []).append(t)
            for src, tgts in sorted(by_src.items()):
                print(f"  {' + '.join(src)} -> {', '.join(tgts)}")


if __name__ == "__main__":
    main()
