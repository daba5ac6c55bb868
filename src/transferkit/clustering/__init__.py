"""Self-taught clustering: cluster a small unlabelled target with the help of unlabelled
auxiliary data (scikit-learn clusterers; ``fit(X, aux=Y)``, ``labels_``, ``fit_predict``).

Methods (family ``clustering``): :class:`SelfTaughtClustering` (Dai et al. 2008),
:class:`InformationTheoreticCoClustering` (Dhillon et al. 2003, the target-only baseline),
:class:`KMeansClustering` and :class:`SpectralCoclusteringClustering`; measures
:func:`cluster_accuracy`, :func:`cluster_nmi`, :func:`cluster_entropy`; the label-free choice of
the trade-off :func:`select_lambda`. Input: dense or scipy sparse non-negative counts; sparse
stays sparse. See ``docs/selftaught.md``. Importing this package does not import torch.
"""

from ._baselines import KMeansClustering, SpectralCoclusteringClustering
from ._itcc import InformationTheoreticCoClustering
from ._metrics import cluster_accuracy, cluster_entropy, cluster_nmi, contingency
from ._select import LambdaSelection, select_lambda
from ._stc import SelfTaughtClustering

__all__ = [
    "InformationTheoreticCoClustering",
    "KMeansClustering",
    "LambdaSelection",
    "SelfTaughtClustering",
    "SpectralCoclusteringClustering",
    "cluster_accuracy",
    "cluster_entropy",
    "cluster_nmi",
    "contingency",
    "select_lambda",
]
