"""Feature transfer: map source and target into a common feature space (scikit-learn estimators).

Fit with ``fit(X, y, sample_domain=...)`` (see :func:`pack_domains`, ``docs/shallow.md``);
``predict`` treats its rows as target rows; ``transform`` maps rows into the common space.
Importing this package does not import torch.
"""

from .._domains import pack_domains, pack_heterogeneous
from ._coral import CORAL, coral_matrix
from ._dama import ManifoldAlignment
from ._fa import FeatureAugmentation
from ._sa import SubspaceAlignment
from ._tca import TCA, tca_components

__all__ = [
    "CORAL",
    "TCA",
    "FeatureAugmentation",
    "ManifoldAlignment",
    "SubspaceAlignment",
    "coral_matrix",
    "pack_domains",
    "pack_heterogeneous",
    "tca_components",
]
