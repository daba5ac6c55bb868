"""transferkit: transfer learning and multi-task learning on PyTorch and Lightning."""

from ._registry import create, get_method, list_families, list_methods, register
from .exceptions import ConfigError, DataError, TransferkitError, UnknownNameError

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "TransferkitError",
    "UnknownNameError",
    "create",
    "get_method",
    "list_families",
    "list_methods",
    "register",
    "__version__",
]
