"""Errors that transferkit raises for bad input.

Every error names the problem (the key, the path, the shapes) so a user can fix it without
reading a traceback. They subclass ``ValueError`` so generic handlers still catch them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["TransferkitError", "ConfigError", "DataError", "UnknownNameError", "suggest"]


class TransferkitError(ValueError):
    """Base class of every error transferkit raises on purpose."""


class ConfigError(TransferkitError):
    """A run configuration is invalid: unknown key, wrong type, impossible value."""


class DataError(TransferkitError):
    """Data is missing or inconsistent: absent root, mismatched shapes, NaN, empty split."""


class UnknownNameError(TransferkitError, KeyError):
    """A method, backbone or data kind name is not registered."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0]) if self.args else ""


def suggest(name: str, valid: Iterable[str], n: int = 3) -> str:
    """``" Did you mean 'x' or 'y'?"`` for the nearest valid names, or ``""`` if none is close."""
    close = difflib.get_close_matches(name, list(valid), n=n, cutoff=0.5)
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close]
    return " Did you mean " + (" or ".join(quoted) if len(quoted) < 3 else ", ".join(quoted)) + "?"
