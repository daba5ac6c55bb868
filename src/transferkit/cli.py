"""The ``transferkit`` command line: argument parsing only; the work is in ``experiments``.

    transferkit methods [--family finetune]
    transferkit datasets [--setting unlabelled_target]
    transferkit compare   [--config run.yaml] [--output DIR] [--resume | --overwrite] [key=value ...]
    transferkit adapt     [--config adapt.yaml] ...
    transferkit multitask [--config mtl.yaml] ...
    transferkit zeroshot  --config zsl.yaml ...
    transferkit rank      [--config rank.yaml] [--validate] ...
    transferkit taxonomy  [--config taxonomy.yaml] ...
    transferkit layers    [--config layers.yaml] ...
    transferkit cluster   [--config cluster.yaml] ...
    transferkit selftaught [--config selftaught_bsds_usps] ...

Every run command reads the same config language (``--config`` takes a file or the name of a
bundled example) and validates it, the data paths and the output directory before importing
torch or creating anything, so a refused command fails fast and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from .exceptions import ConfigError, TransferkitError

__all__ = ["main", "build_parser"]

#: run commands -> (runner module, runner function)
RUNNERS = {
    "compare": ("compare", "run_compare"),
    "adapt": ("adaptation", "run_adapt"),
    "multitask": ("multitask", "run_multitask"),
    "zeroshot": ("zeroshot", "run_zeroshot"),
    "rank": ("rank", "run_rank"),
    "taxonomy": ("taxonomy", "run_taxonomy"),
    "layers": ("layers", "run_layers"),
    "cluster": ("cluster", "run_cluster"),
    "selftaught": ("selftaught", "run_selftaught"),
}


def _print_table(table: Any) -> None:
    """Print a rich table; to a file or a pipe at 160 columns, or wider when the table cannot be
    narrower (rich would cut its headers and cells to "…" to fit)."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console()
    if not console.is_terminal:
        probe = Console(width=100_000)
        console = Console(width=max(160, Measurement.get(probe, probe.options, table).minimum))
    console.print(table)


def _cells(*values: str) -> list[str]:
    """Table cells shown as written: a docstring's ``[x, x, 0]`` is text, not rich markup."""
    from rich.markup import escape

    return [escape(v) for v in values]


#: where each family's names go in a config (the "used in" column of ``transferkit methods``)
FAMILY_USE = {
    "backbone": "backbone.name (every command)",
    "finetune": "compare methods; rank validate.strategy; selftaught finetune.name",
    "adaptation": "adapt methods",
    "scorer": "adapt scorers",
    "instance": "adapt / compare methods",
    "feature": "adapt / compare methods",
    "parameter": "adapt / compare methods",
    "multitask": "multitask methods",
    "weighting": "multitask methods",
    "aggregator": "multitask methods",
    "mtl_architecture": "multitask architecture.name",
    "transferability": "rank scores",
    "zeroshot": "zeroshot methods",
    "clustering": "cluster methods",
    "selftaught": "selftaught methods (also raw, pca, scratch)",
}


def _cmd_methods(args) -> int:
    from rich.table import Table

    from ._registry import list_methods

    table = Table(title="transferkit methods")
    for col in ("family", "name", "used in", "description"):
        table.add_column(col, overflow="fold")
    for m in list_methods(args.family):
        table.add_row(*_cells(m.family, m.name, FAMILY_USE.get(m.family, "Python API"), m.description))
    _print_table(table)
    return 0


def _cmd_datasets(args) -> int:
    from rich.table import Table

    from .data._kinds import SETTINGS, data_kinds

    if args.setting is not None and args.setting not in SETTINGS:
        raise TransferkitError(f"unknown setting '{args.setting}'; settings: {', '.join(SETTINGS)}")
    table = Table(title="transferkit data kinds (data.kind)")
    for col in ("kind", "settings", "keys", "description"):
        table.add_column(col, overflow="fold")
    for k in data_kinds(args.setting):
        table.add_row(*_cells(k.name, ", ".join(sorted(k.settings)), ", ".join(sorted(k.keys)), k.description))
    _print_table(table)
    print("settings: " + "; ".join(f"{s}: {d}" for s, d in SETTINGS.items()))
    return 0


def _print_summary(results: dict) -> None:
    from rich.table import Table

    rows = results.get("summary") or []
    if not rows:
        return
    cols = [c for c in results.get("columns") or list(rows[0]) if any(r.get(c) is not None for r in rows)]

    def cell(v) -> str:
        if v is None:
            return "–"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    table = Table(title=f"{results.get('command', 'run')} summary")
    for c in cols:
        table.add_column(c)
    style = {"positive transfer": "green", "negative transfer": "red", "practically equivalent": "yellow"}
    for r in rows:
        table.add_row(*_cells(*(cell(r.get(c)) for c in cols)), style=style.get(r.get("verdict")))
    _print_table(table)


def _quiet_hubs() -> None:
    """No Hugging Face download bars or banners (the run has its own progress display)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _check_accelerator(trainer) -> None:
    """A GPU asked for where none is visible: one message now, not Lightning's traceback after
    the data has loaded and the source model has trained."""
    name = getattr(trainer, "accelerator", "cpu")
    if name not in ("gpu", "cuda", "mps"):
        return
    import torch

    found = torch.backends.mps.is_available() if name == "mps" else torch.cuda.is_available()
    if not found:
        raise ConfigError(f"trainer.accelerator: {name}: no such device is visible on this machine; "
                          "use cpu or auto")


def _cmd_run(args) -> int:
    import importlib

    from .experiments._config import load_config
    from .experiments._results import check_output_dir

    cfg = load_config(args.config, args.overrides, command=args.command)
    if getattr(args, "validate", False) and cfg.validation is None:  # rank --validate: the defaults
        cfg = cfg.model_copy(update={"validate_": True})
    out = cfg.output_dir(args.output)
    check_output_dir(out, args.resume, args.overwrite)
    _check_accelerator(getattr(cfg, "trainer", None))
    if args.no_progress:
        _quiet_hubs()
    existed = out.exists()
    module, func = RUNNERS[args.command]
    runner = getattr(importlib.import_module(f"transferkit.experiments.{module}"), func)
    try:
        results = runner(cfg, out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
    except BaseException:
        if not existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a refused run leaves nothing behind
        raise
    from .experiments._results import is_main_process

    if is_main_process():
        _print_summary(results)
        print(f"wrote {Path(out) / 'results.json'}, {Path(out) / 'report.md'} and figures")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="transferkit",
        description="Transfer learning and multi-task learning on PyTorch and Lightning.",
    )
    parser.add_argument("--version", action="version", version=f"transferkit {__version__}")
    parser.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    # --quiet after the command too ('transferkit compare -q ...' was "unrecognized arguments: -q")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="only warnings and errors on stderr")

    p = sub.add_parser("methods", parents=[common], help="list every registered method with its family")
    p.add_argument("--family", help="only this family (finetune, adaptation, multitask, aggregator, ...)")
    p.set_defaults(func=_cmd_methods)

    p = sub.add_parser("datasets", parents=[common],
                       help="list the data kinds, the settings each serves and its keys")
    from .data._kinds import SETTINGS

    p.add_argument("--setting", help=f"only kinds serving this setting ({', '.join(SETTINGS)})")
    p.set_defaults(func=_cmd_datasets)

    helps = {
        "compare": "labelled source, few labelled target: fine-tune with every strategy vs scratch and source-only",
        "adapt": "labelled source, unlabelled target: domain adaptation vs source-only",
        "multitask": "several tasks learnt together vs single-task training",
        "zeroshot": "classes unseen in training, from attributes or descriptions vs the attribute prior",
        "rank": "score candidate models on a target with transferability scores and rank them",
        "taxonomy": "Taskonomy: which tasks to supervise and which transfer feeds each target, per budget",
        "layers": "transfer the first n layer groups, frozen (AnB) or fine-tuned (AnB+), vs BnB controls and scratch",
        "cluster": "self-taught clustering: cluster a target helped by unlabelled auxiliary data vs the target alone",
        "selftaught": "self-taught learning: features learnt on unlabelled source images for a few-label target "
                      "vs raw pixels, PCA and scratch",
    }
    from .experiments._config import COMMAND_CONFIGS

    for name, text in helps.items():
        fields = COMMAND_CONFIGS[name].model_fields
        sections = ", ".join(f.alias or key for key, f in fields.items() if key != "name")
        p = sub.add_parser(name, parents=[common], help=text, description=text, epilog=(
            f"config keys: {sections} (README 'Using it' and docs/; 'transferkit datasets' lists each data kind's "
            "keys). A mistyped key is refused with the nearest valid ones."))
        p.add_argument("--config", "-c", help="YAML run config, or the name of a bundled example "
                       "(default: the command's built-in demo)")
        p.add_argument("--output", "-o", help="output directory (default: the config's output.dir, else runs/<command>)")
        g = p.add_mutually_exclusive_group()
        g.add_argument("--resume", action="store_true", help="continue an interrupted run in --output")
        g.add_argument("--overwrite", action="store_true", help="replace the run already in --output")
        p.add_argument("--no-progress", action="store_true", help="hide progress bars")
        if name == "rank":
            p.add_argument("--validate", action="store_true", help="also fine-tune every candidate (config "
                           "key validate) and report how well each score's ranking agrees with the accuracies")
        p.add_argument("overrides", nargs="*", metavar="key.path=value", help="config overrides, e.g. trainer.seeds=[0,1]")
        p.set_defaults(func=_cmd_run)
    return parser


def _configure_logging(quiet: bool) -> None:
    logger = logging.getLogger("transferkit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("transferkit: %(message)s"))
        logger.addHandler(handler)
    # the other ranks of a DDP run repeat every step: only rank 0 says what is happening
    other_rank = os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
    logger.setLevel(logging.WARNING if quiet or other_rank else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.quiet)
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
