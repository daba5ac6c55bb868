"""Experiments: the config schema, the runners of every command, results and verdicts.

Importing this package is light (no torch): the runners are imported on first use, so a CLI
command validates its config before any heavy import.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._config import (
    AdaptConfig,
    CompareConfig,
    MultitaskConfig,
    RankConfig,
    RunConfig,
    TaxonomyConfig,
    load_config,
    parse_config,
)

__all__ = [
    "AdaptConfig", "CompareConfig", "MultitaskConfig", "RunConfig", "load_config", "parse_config",
    "run_compare", "run_adapt", "run_multitask", "run_zeroshot", "markdown_table", "write_results",
    "run_rank", "run_taxonomy", "run_layers", "run_cluster", "run_selftaught", "RankConfig", "TaxonomyConfig",
]

_LAZY = {
    "run_compare": ("compare", "run_compare"),
    "run_adapt": ("adaptation", "run_adapt"),
    "run_multitask": ("multitask", "run_multitask"),
    "run_zeroshot": ("zeroshot", "run_zeroshot"),
    "run_rank": ("rank", "run_rank"),
    "run_layers": ("layers", "run_layers"),
    "run_cluster": ("cluster", "run_cluster"),
    "run_selftaught": ("selftaught", "run_selftaught"),
    "run_taxonomy": ("taxonomy", "run_taxonomy"),
    "markdown_table": ("_results", "markdown_table"),
    "write_results": ("_results", "write_results"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
