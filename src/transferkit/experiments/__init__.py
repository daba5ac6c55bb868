"""Experiments: config schema, runners and the results/report writers."""

from ._config import RunConfig, load_config, parse_config
from ._results import markdown_table, write_results
from ._stats import mean_ci, paired_verdict
from .compare import run_compare

__all__ = ["RunConfig", "load_config", "markdown_table", "mean_ci", "paired_verdict", "parse_config", "run_compare", "write_results"]
