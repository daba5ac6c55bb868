"""Training engine on Lightning: modules that compose algorithms, and the fit helpers."""

from ._data import DomainDataset, EpochSampler, encode_inputs, make_loader
from ._fit import FitResult, TrainerConfig, fit_finetune, peak_memory_mb, quiet_lightning
from ._supervised import FineTuneModule, OptimConfig, build_optimizer, predict

__all__ = [
    "DomainDataset",
    "EpochSampler",
    "FineTuneModule",
    "FitResult",
    "OptimConfig",
    "TrainerConfig",
    "build_optimizer",
    "encode_inputs",
    "fit_finetune",
    "make_loader",
    "peak_memory_mb",
    "predict",
    "quiet_lightning",
]
