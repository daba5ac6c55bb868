"""Checks shared by the test packages (importable as `_asserts`: pytest puts tests/ on the path).

Global state: a fit must leave the warning filters and the Lightning loggers as it found them."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")


def snapshot() -> tuple[list, list[int]]:
    """The warning filters and the Lightning loggers' levels, as they are now."""
    return list(warnings.filters), [logging.getLogger(n).level for n in LIGHTNING_LOGGERS]


@contextlib.contextmanager
def user_shows_deprecation_warnings() -> Iterator[None]:
    """A user who asked to see DeprecationWarnings (the project's pytest config hides them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DeprecationWarning)
        yield


def assert_user_deprecation_warning_is_shown(tag: str) -> None:
    """A user's own DeprecationWarning is recorded under the current filters (not swallowed
    by a filter the library left behind, e.g. one matching '.*is deprecated.*')."""
    with warnings.catch_warnings(record=True) as caught:  # keeps the current filters
        warnings.warn(f"my_function_{tag} is deprecated", DeprecationWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [f"my_function_{tag} is deprecated"], caught
