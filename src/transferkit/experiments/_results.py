"""Writing what a run produced: ``results.json``, ``report.md`` and figures.

``results.json`` follows schema 1::

    {"schema": 1, "command": ..., "config": {...}, "environment": {...},
     "runs": [{"method", "seed", "metrics": {...}, "train_seconds", "peak_memory_mb",
               "trainable_params", ...}],
     "summary": [...]}

Every command (compare, adapt, multitask) writes through these helpers.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import os
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION", "environment_info", "write_json", "write_results", "markdown_table",
    "prepare_output_dir", "check_output_dir", "is_main_process", "OUTPUT_ITEMS",
]

SCHEMA_VERSION = 1
#: what a run writes in its output directory; ``--overwrite`` removes only these
OUTPUT_ITEMS = ("results.json", "report.md", "figures", "runs", "pretrained.pt", "pretrained.json", "mlruns")


def is_main_process() -> bool:
    """False on the non-zero ranks of a distributed run (they must not write files)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_rank() == 0
    except Exception:  # pragma: no cover
        pass
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def environment_info() -> dict[str, Any]:
    versions = {}
    for pkg in ("transferkit", "torch", "lightning", "numpy", "scikit-learn", "torchvision", "timm", "transformers", "peft"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers, paths strings."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: Any) -> None:
    """Write atomically (temp file + rename) so a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(data), indent=2) + "\n")
    tmp.replace(path)


def save_figure(fig: Any, out: Path, name: str, dpi: int) -> str:
    """Write ``fig`` to ``out/figures/<name>``, close it, and return that path relative to
    ``out`` (as the report links it)."""
    import matplotlib.pyplot as plt

    path = Path(out) / "figures" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return str(path.relative_to(out))


def write_results(
    output_dir: Path,
    config: dict[str, Any],
    runs: list[dict[str, Any]],
    summary: list[dict[str, Any]],
    command: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    results = {
        "schema": SCHEMA_VERSION,
        "command": command,
        "config": config,
        "environment": environment_info(),
        "runs": runs,
        "summary": summary,
        **(extra or {}),
    }
    if is_main_process():
        write_json(Path(output_dir) / "results.json", results)
    return _clean(results)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.4g}" if abs(v) < 1e-2 and v != 0 else f"{v:.3f}"
    return str(v)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def check_output_dir(output_dir: Path, resume: bool, overwrite: bool) -> list[str]:
    """Refuse (without touching anything) an output directory that holds a run unless told
    how to treat it; returns the run items already there."""
    output_dir = Path(output_dir)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    if output_dir.exists() and not output_dir.is_dir():
        raise ConfigError(f"output path '{output_dir}' exists and is not a directory")
    existing = [n for n in OUTPUT_ITEMS if (output_dir / n).exists()]
    if existing and not (resume or overwrite):
        raise ConfigError(
            f"output directory '{output_dir}' already holds a run ({', '.join(existing)}); "
            "pass --resume to continue it, --overwrite to replace it, or choose another --output"
        )
    return existing


def prepare_output_dir(output_dir: Path, resume: bool, overwrite: bool) -> Path:
    """Create ``output_dir``; refuse to reuse one that holds a run unless told how.

    Without ``resume`` or ``overwrite`` an existing run is an error (nothing is overwritten
    silently). ``overwrite`` removes only the items a run writes (``OUTPUT_ITEMS``), never
    other files a user keeps there. Call it once everything has been validated, so that a
    refused command leaves nothing behind.
    """
    import shutil

    output_dir = Path(output_dir)
    existing = check_output_dir(output_dir, resume, overwrite)
    if resume and not existing and is_main_process():  # a mistyped --output would start over silently
        log.warning("--resume: '%s' holds no earlier run; starting a new one there", output_dir)
    if overwrite and is_main_process():
        for n in existing:
            p = output_dir / n
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    output_dir.mkdir(parents=True, exist_ok=True)
    return output_dir
