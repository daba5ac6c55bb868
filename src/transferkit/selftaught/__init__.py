"""Self-taught learning: learn a representation on unlabelled source data, then use it for a
labelled target task (family ``selftaught``).

* :class:`SelfTaughtFeatures`: Raina et al.'s sparse-coding features (scikit-learn
  transformer: ``SelfTaughtFeatures(...).fit(unlabelled_images).transform(X)``).
* :class:`ReconstructionObjective` (autoencoder) and :class:`ContrastiveObjective` (SimCLR,
  :func:`nt_xent_loss`, :class:`ImageAugment`): pretraining losses for a transferkit backbone,
  trained by :func:`pretrain` (plain loop) or :class:`PretrainModule` (Lightning).
* :func:`sample_patches`: random patches of unlabelled images (e.g. for a PCA baseline).

See ``docs/selftaught.md``.
"""

from ._patches import sample_patches
from ._pretrain import (
    ContrastiveObjective,
    ImageAugment,
    PretrainModule,
    ReconstructionObjective,
    nt_xent_loss,
    pretrain,
)
from ._sparse_coding import SelfTaughtFeatures

__all__ = [
    "ContrastiveObjective",
    "ImageAugment",
    "PretrainModule",
    "ReconstructionObjective",
    "SelfTaughtFeatures",
    "nt_xent_loss",
    "pretrain",
    "sample_patches",
]
