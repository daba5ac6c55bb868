"""The ``transferkit`` command line: argument parsing only; the work is in ``experiments``.

    transferkit methods [--family finetune]
    transferkit compare [--config run.yaml] [--output DIR] [--resume | --overwrite] [key=value ...]
    transferkit adapt --config adapt.yaml [--output DIR] [--resume]
    transferkit multitask --config mtl.yaml [--output DIR] [--resume]
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from .exceptions import TransferkitError

__all__ = ["main"]


def _cmd_methods(args) -> int:
    from rich.table import Table

    from ._registry import list_methods

    table = Table(title="transferkit methods")
    for col in ("family", "name", "description"):
        table.add_column(col, overflow="fold")
    for m in list_methods(args.family):
        table.add_row(m.family, m.name, m.description)
    _console().print(table)
    return 0


def _print_summary(results: dict, command: str = "run") -> None:
    """Print the summary rows as a table: scalar columns, and {mean, std} cells as mean ± std."""
    from rich.table import Table

    rows = results.get("summary") or []
    if not rows:
        return
    preferred = ["method", "labels_per_class", "accuracy_mean", "ci95_low", "ci95_high", "gain_vs_scratch", "verdict"]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    if "accuracy_mean" in keys:  # the compare table: the columns that carry the verdict
        cols = [k for k in preferred if k in keys]
    else:
        cols = [k for k in keys if all(isinstance(r.get(k), (int, float, str, dict, type(None))) for r in rows)][:9]

    def cell(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, dict) and "mean" in v:
            return f"{v['mean']:.3f} ± {v.get('std') or 0:.3f}"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    table = Table(title=f"{results.get('command') or command} summary")
    for c in cols:
        table.add_column(c)
    style = {"positive transfer": "green", "negative transfer": "red"}
    for r in rows:
        table.add_row(*(cell(r.get(c)) for c in cols), style=style.get(r.get("verdict")))
    _console().print(table)


def _console():
    """A console that does not squeeze tables when output goes to a file or a pipe."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def bundled_config(name: str) -> Path:
    """Path of a config shipped with the package (``transferkit/configs/<name>.yaml``)."""
    return Path(str(resources.files("transferkit") / "configs" / f"{name}.yaml"))


def _cmd_compare(args) -> int:
    from .experiments import load_config, run_compare

    cfg = load_config(args.config, args.overrides)
    out = args.output or cfg.output.dir
    results = run_compare(cfg, out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
    from .experiments._results import is_main_process

    if is_main_process():
        _print_summary(results, "compare")
        print(f"wrote {Path(out) / 'results.json'}, {Path(out) / 'report.md'} and figures/")
    return 0


def _cmd_family(module: str):
    def run(args) -> int:
        import importlib

        import yaml

        from .experiments._config import apply_overrides
        from .experiments._results import prepare_output_dir

        if args.config is None:
            raise TransferkitError(f"'transferkit {args.command}' needs --config FILE (see configs/ for examples)")
        path = Path(args.config)
        if not path.is_file():
            raise TransferkitError(f"config file '{path}' does not exist")
        raw = yaml.safe_load(path.read_text()) or {}
        if args.overrides:
            raw = apply_overrides(raw, args.overrides)
        configured = raw.get("output")
        if isinstance(configured, dict):
            configured = configured.get("dir")
        out = Path(args.output or configured or f"runs/{args.command}")
        prepare_output_dir(out, args.resume, args.overwrite)
        runner = importlib.import_module(f"transferkit.experiments.{module}")
        results = runner.run(raw, out, resume=args.resume)
        _print_summary(results, args.command)
        print(f"wrote results to {out}")
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="transferkit",
        description="Transfer learning and multi-task learning on PyTorch and Lightning.",
    )
    parser.add_argument("--version", action="version", version=f"transferkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("methods", help="list every registered method with its family")
    p.add_argument("--family", help="only this family (finetune, backbone, adaptation, ...)")
    p.set_defaults(func=_cmd_methods)

    def run_args(p, needs_config: bool) -> None:
        p.add_argument("--config", "-c", help="YAML run config" + ("" if needs_config else " (default: built-in digits demo)"))
        p.add_argument("--output", "-o", help="output directory (default: the config's output.dir)")
        g = p.add_mutually_exclusive_group()
        g.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
        g.add_argument("--overwrite", action="store_true", help="replace the run already in --output")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        p.add_argument("overrides", nargs="*", metavar="key.path=value", help="config overrides, e.g. trainer.seeds=[0,1]")

    p = sub.add_parser("compare", help="fine-tune with every strategy vs scratch, several seeds, verdicts")
    run_args(p, needs_config=False)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("adapt", help="unsupervised domain adaptation: labelled source, unlabelled target")
    run_args(p, needs_config=True)
    p.set_defaults(func=_cmd_family("adaptation"))

    p = sub.add_parser("multitask", help="train several tasks jointly with a balancing method")
    run_args(p, needs_config=True)
    p.set_defaults(func=_cmd_family("multitask"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TransferkitError, ImportError) as err:
        print(f"transferkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; continue with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
