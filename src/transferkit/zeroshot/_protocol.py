"""The standard (generalised) zero-shot protocol on a data set with GBU splits, in one call.

Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, TPAMI 2018: train on ``train``, select on
``val`` (classes disjoint from ``train``), re-train on ``trainval``, test ZSL on ``test_unseen``
with the unseen classes as candidates and GZSL on ``test_seen`` + ``test_unseen`` with every
class as a candidate. Calibrated stacking's γ (Chao et al., ECCV 2016) is chosen on validation
data only: ``val`` samples play the unseen classes and a held-out part of ``train`` the seen
ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np

from ..exceptions import ConfigError, DataError
from ._base import ZeroShotClassifier, as_numpy
from ._metrics import (
    calibrated_stacking,
    class_accuracies,
    gzsl_evaluate,
    per_class_accuracy,
    seen_unseen_curve,
    select_calibration_gamma,
)

__all__ = ["run_zeroshot_protocol"]


class _SplitData(Protocol):
    X: Any
    y: Any
    class_embeddings: Any
    splits: Mapping[str, np.ndarray]


def run_zeroshot_protocol(
    make_model: Callable[[], ZeroShotClassifier],
    data: _SplitData,
    calibrate: bool = True,
    val_seen_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit, calibrate and evaluate one method on ``data``; returns a JSON-ready dict.

    ``make_model`` returns a fresh, unfitted model (it is called twice when calibrating: once
    for the train/val fit that picks γ, once for the final trainval fit). ``data`` is any
    object with ``X``, ``y``, ``class_embeddings`` and ``splits`` holding 0-based indices for
    ``trainval``, ``test_seen``, ``test_unseen`` and, when calibrating, ``train`` and ``val``
    (e.g. :class:`transferkit.data.zeroshot.ZeroShotData`).

    Keys: ``zsl`` (class-averaged accuracy on test_unseen, unseen candidates only), ``u``,
    ``s``, ``h`` (GZSL, no calibration), ``gamma`` and ``u_cal``, ``s_cal``, ``h_cal`` (with
    calibrated stacking; absent when ``calibrate=False``), ``ausuc`` and ``curve`` (the
    seen-unseen curve as lists, for a plot), ``per_class``: each test class's accuracy
    (``{"zsl": {class: acc}, "gzsl": {...}, "gzsl_cal": {...}}``, class ids as strings), whose
    means over the unseen and seen classes are ``u`` and ``s``.
    """
    if not 0.0 < float(val_seen_fraction) < 1.0:
        raise ConfigError(f"val_seen_fraction must be in (0, 1), got {val_seen_fraction}")
    X, y, S = data.X, as_numpy(data.y).astype(np.int64), data.class_embeddings
    need = ["trainval", "test_seen", "test_unseen"] + (["train", "val"] if calibrate else [])
    for key in need:
        if key not in data.splits:
            raise DataError(f"the zero-shot protocol needs split '{key}'; splits: {', '.join(data.splits)}")
    sp = {k: np.asarray(v, np.int64) for k, v in data.splits.items()}
    seen = np.unique(y[sp["trainval"]])
    unseen = np.unique(y[sp["test_unseen"]])
    out: dict[str, Any] = {}
    if calibrate:
        train_cls, val_cls = np.unique(y[sp["train"]]), np.unique(y[sp["val"]])
        if np.intersect1d(train_cls, val_cls).size:
            raise DataError(
                "calibration needs 'val' classes disjoint from 'train' classes (the GBU proposed split); "
                f"both hold {np.intersect1d(train_cls, val_cls).tolist()}"
            )
        rng = np.random.default_rng(seed)
        order = rng.permutation(sp["train"])
        n_val = max(1, int(round(val_seen_fraction * len(order))))
        val_seen, fit_idx = order[:n_val], order[n_val:]
        model = make_model().fit(X[fit_idx], y[fit_idx], S, seen_classes=train_cls)
        cand = np.concatenate([train_cls, val_cls])
        val_idx = np.concatenate([val_seen, sp["val"]])
        F_val = as_numpy(model.decision_function(X[val_idx], candidate_classes=cand))
        out["gamma"] = select_calibration_gamma(F_val, y[val_idx], train_cls, val_cls, candidate_classes=cand)
    model = make_model().fit(X[sp["trainval"]], y[sp["trainval"]], S, seen_classes=seen)
    pred = as_numpy(model.predict(X[sp["test_unseen"]], candidate_classes=unseen))
    out["zsl"] = per_class_accuracy(y[sp["test_unseen"]], pred)
    per_class = {"zsl": class_accuracies(y[sp["test_unseen"]], pred)}
    test_idx = np.concatenate([sp["test_seen"], sp["test_unseen"]])
    F = as_numpy(model.decision_function(X[test_idx]))
    raw = gzsl_evaluate(F, y[test_idx], seen, unseen)
    out.update(u=raw.u, s=raw.s, h=raw.h)
    gammas = {"gzsl": 0.0}
    if calibrate:
        cal = gzsl_evaluate(F, y[test_idx], seen, unseen, gamma=out["gamma"])
        out.update(u_cal=cal.u, s_cal=cal.s, h_cal=cal.h)
        gammas["gzsl_cal"] = out["gamma"]
    every = np.arange(F.shape[1])
    for name, g in gammas.items():
        pred_all = np.argmax(calibrated_stacking(F, seen, g, every), axis=1)
        per_class[name] = class_accuracies(y[test_idx], pred_all)
    out["per_class"] = {k: {str(c): a for c, a in v.items()} for k, v in per_class.items()}
    curve = seen_unseen_curve(F, y[test_idx], seen, unseen)
    out["ausuc"] = curve.ausuc
    out["curve"] = curve.to_dict()
    return out
