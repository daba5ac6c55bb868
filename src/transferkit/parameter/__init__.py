"""Parameter transfer: refine a source model on a few labelled target rows (scikit-learn estimators).

Fit with ``fit(X, y, sample_domain=...)`` (see :func:`pack_domains`, ``docs/shallow.md``).
Importing this package does not import torch.
"""

from .._domains import pack_domains
from ._ser_strut import TransferForestClassifier, TransferTreeClassifier, ser, strut
from ._tree import EditableTree

__all__ = [
    "EditableTree",
    "TransferForestClassifier",
    "TransferTreeClassifier",
    "pack_domains",
    "ser",
    "strut",
]
