"""Unsupervised domain adaptation and partial transfer: labelled source, unlabelled target.

Every method is an ``nn.Module`` with the common call
``loss = method(f_s, f_t, logits_s=..., logits_t=..., y_s=...)`` and a
``method.source_loss(logits_s, y_s)``; see :mod:`transferkit.adaptation._base`. Schedules
(:class:`GRLSchedule`, :class:`LRAnnealing`) are stepped by the training loop.
"""

from ._base import AdaptationMethod
from ._build import build_method
from ._cdan import CDAN, cdan_e, entropy, multilinear_map
from ._coral import DeepCORAL, coral_loss
from ._dan import (
    DAN,
    PAPER_BANDWIDTH_MULTIPLIERS,
    kernel_weights_from_statistics,
    linear_time_mmd_statistics,
    mk_mmd,
    optimal_kernel_weights,
)
from ._dann import DANN
from ._grl import GradientReversal, GradientReversalFunction, GRLSchedule, LRAnnealing, grad_reverse
from ._partial import PADA, SAN, class_weights_from_predictions
from ._scorers import (
    DeepEmbeddedValidation,
    ImportanceWeightedValidation,
    PredictionEntropy,
    SoftNeighborhoodDensity,
    domain_density_ratio,
    proxy_a_distance,
)
from ._source_only import SourceOnly

__all__ = [
    "CDAN",
    "DAN",
    "DANN",
    "PADA",
    "PAPER_BANDWIDTH_MULTIPLIERS",
    "SAN",
    "AdaptationMethod",
    "DeepCORAL",
    "DeepEmbeddedValidation",
    "GRLSchedule",
    "GradientReversal",
    "GradientReversalFunction",
    "ImportanceWeightedValidation",
    "LRAnnealing",
    "PredictionEntropy",
    "SoftNeighborhoodDensity",
    "SourceOnly",
    "build_method",
    "cdan_e",
    "class_weights_from_predictions",
    "coral_loss",
    "domain_density_ratio",
    "entropy",
    "grad_reverse",
    "kernel_weights_from_statistics",
    "linear_time_mmd_statistics",
    "mk_mmd",
    "multilinear_map",
    "optimal_kernel_weights",
    "proxy_a_distance",
]
