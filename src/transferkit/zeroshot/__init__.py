"""Zero-shot learning: classify classes never seen in training from their attributes or
descriptions, and the (generalised) zero-shot metrics.

Methods (family ``zeroshot``; ``transferkit.create("zeroshot", "eszsl", gamma=1.0)``), all
with ``fit(X, y, class_embeddings, seen_classes=None)``, ``decision_function(X,
class_embeddings=None, candidate_classes=None)`` and ``predict(...)``:

* ``dap``, ``iap``: Lampert et al., CVPR 2009 / TPAMI 2014 (binary attributes);
* ``eszsl``: Romera-Paredes & Torr, ICML 2015 (closed form);
* ``ale``, ``sje``, ``devise``: bilinear compatibility ``f(x)ᵀ W g(y)`` with ranking losses,
  in torch, on precomputed features or end to end through any feature ``nn.Module``;
* ``conse``: Norouzi et al., ICLR 2014;
* ``description_similarity``: cosine between input and class-description embeddings
  (see :func:`encode_texts`, offline all-MiniLM-L6-v2);
* ``attribute_prior``: the input-blind baseline.

Metrics: :func:`per_class_accuracy`, :func:`gzsl_evaluate` (``u``, ``s``, ``H``),
:func:`calibrated_stacking`, :func:`select_calibration_gamma` (validation data only),
:func:`seen_unseen_curve` (AUSUC), :func:`center_scores`; :func:`run_zeroshot_protocol` runs
the GBU protocol (train/val calibration, trainval fit, ZSL and GZSL test) in one call.
"""

from ._attributes import (
    DAP,
    IAP,
    AttributePrior,
    attribute_priors,
    binarize_attributes,
    dap_log_scores,
)
from ._base import ZeroShotClassifier
from ._compatibility import ALE, SJE, BilinearCompatibility, DeViSE, ale_loss, devise_loss, sje_loss
from ._conse import ConSE, conse_embedding
from ._eszsl import ESZSL, eszsl_weights
from ._metrics import (
    GZSLResult,
    SeenUnseenCurve,
    calibrated_stacking,
    center_scores,
    class_accuracies,
    gzsl_evaluate,
    harmonic_mean,
    per_class_accuracy,
    seen_unseen_curve,
    select_calibration_gamma,
)
from ._protocol import run_zeroshot_protocol
from ._text import DescriptionSimilarity, encode_texts

__all__ = [
    "ALE",
    "AttributePrior",
    "BilinearCompatibility",
    "ConSE",
    "DAP",
    "DeViSE",
    "DescriptionSimilarity",
    "ESZSL",
    "GZSLResult",
    "IAP",
    "SJE",
    "SeenUnseenCurve",
    "ZeroShotClassifier",
    "ale_loss",
    "attribute_priors",
    "binarize_attributes",
    "calibrated_stacking",
    "center_scores",
    "class_accuracies",
    "conse_embedding",
    "dap_log_scores",
    "devise_loss",
    "encode_texts",
    "eszsl_weights",
    "gzsl_evaluate",
    "harmonic_mean",
    "per_class_accuracy",
    "run_zeroshot_protocol",
    "seen_unseen_curve",
    "select_calibration_gamma",
    "sje_loss",
]
