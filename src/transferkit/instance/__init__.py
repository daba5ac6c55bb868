"""Instance transfer: re-weight or boost source samples (scikit-learn estimators).

Fit every estimator with ``fit(X, y, sample_domain=...)`` (:func:`pack_domains` builds the
input; see :mod:`transferkit._domains` and ``docs/shallow.md``). Importing this package does
not import torch.
"""

from .._domains import pack_domains, pack_heterogeneous, weighted_mmd2
from ._kliep import KLIEP, kliep_alpha
from ._kmm import KMM, kmm_weights
from ._tradaboost import TrAdaBoost, TrAdaBoostR2

__all__ = [
    "KLIEP",
    "KMM",
    "TrAdaBoost",
    "TrAdaBoostR2",
    "kliep_alpha",
    "kmm_weights",
    "pack_domains",
    "pack_heterogeneous",
    "weighted_mmd2",
]
