"""Multi-task learning: shared architectures, loss weightings and gradient aggregators.

Three families, each in the registry (``transferkit.list_methods(family)``):

* ``mtl_architecture``: hard / soft parameter sharing, cross-stitch, MMoE, progressive nets, PathNet;
* ``weighting``: loss-level balancing with explicit state (fixed, uncertainty, DWA, GradNorm);
* ``aggregator``: gradient-level balancing, pure functions of the task Jacobian/Gramian
  (MGDA, PCGrad, CAGrad, UPGrad, IMTL-G, mean, sum, any torchjd aggregator), applied with
  :func:`mtl_backward` (full Jacobian, or the cheap representation/UB mode).
"""

from ._aggregator_base import Aggregator, gramian
from ._arch_base import MultiTaskModel
from ._backward import mean_over_processes, mtl_backward
from ._cagrad import CAGrad
from ._cross_stitch import CrossStitch
from ._dwa import DWA
from ._fixed import FixedWeighting
from ._gradnorm import GradNorm
from ._hard_sharing import HardSharing
from ._imtlg import IMTLG
from ._mgda import MGDA, frank_wolfe_min_norm_weights, min_norm_weights
from ._mmoe import MMoE
from ._pathnet import PathNet, PathNetEvolution, mutate_pathway, random_pathway
from ._pcgrad import PCGrad
from ._progressive import ProgressiveNet
from ._simple_aggregators import Mean, Sum
from ._soft_sharing import SoftSharing
from ._task import TASK_KINDS, Task, label_mask, masked_loss, masked_metric
from ._torchjd_adapter import TorchJDAggregator
from ._uncertainty import UncertaintyWeighting, kendall_task_type
from ._upgrad import UPGrad, project_weights_dual_cone
from ._weighting_base import Weighting

__all__ = [
    "DWA",
    "IMTLG",
    "MGDA",
    "TASK_KINDS",
    "Aggregator",
    "CAGrad",
    "CrossStitch",
    "FixedWeighting",
    "GradNorm",
    "HardSharing",
    "MMoE",
    "Mean",
    "MultiTaskModel",
    "PathNet",
    "PathNetEvolution",
    "PCGrad",
    "ProgressiveNet",
    "SoftSharing",
    "Sum",
    "Task",
    "TorchJDAggregator",
    "UPGrad",
    "UncertaintyWeighting",
    "kendall_task_type",
    "Weighting",
    "frank_wolfe_min_norm_weights",
    "gramian",
    "mutate_pathway",
    "random_pathway",
    "label_mask",
    "masked_loss",
    "masked_metric",
    "min_norm_weights",
    "mean_over_processes",
    "mtl_backward",
    "project_weights_dual_cone",
]
