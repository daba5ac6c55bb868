"""Zero-shot and generalised zero-shot (GZSL) metrics, calibrated stacking and AUSUC.

* Per-class (class-averaged) top-1 accuracy, the GZSL accuracies on unseen (``u``) and seen
  (``s``) test samples with every class as a candidate, and their harmonic mean ``H``:
  Y. Xian, C. H. Lampert, B. Schiele, Z. Akata, "Zero-Shot Learning: A Comprehensive
  Evaluation of the Good, the Bad and the Ugly", TPAMI 2018 (its evaluation protocol).
* Calibrated stacking and the seen-unseen accuracy curve (AUSUC): W.-L. Chao, S. Changpinyo,
  B. Gong, F. Sha, "An Empirical Study and Analysis of Generalized Zero-Shot Learning for Object
  Recognition in the Wild", ECCV 2016: ``ŷ = argmax_c f_c(x) - γ [c ∈ S]``.

Scores are ``[N, C]`` with column ``j`` the class ``candidate_classes[j]`` (default
``arange(C)``); labels are class ids. Everything here is numpy in, floats/dataclasses out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..exceptions import DataError
from ._base import as_numpy

__all__ = [
    "GZSLResult",
    "SeenUnseenCurve",
    "calibrated_stacking",
    "center_scores",
    "class_accuracies",
    "gzsl_evaluate",
    "harmonic_mean",
    "per_class_accuracy",
    "seen_unseen_curve",
    "select_calibration_gamma",
]


def _ids(a: Any, what: str) -> np.ndarray:
    ids = as_numpy(a).reshape(-1)
    if ids.dtype.kind not in "iu":
        raise DataError(f"{what} must hold integer class ids, got dtype {ids.dtype}")
    return ids.astype(np.int64)


def class_accuracies(y_true: Any, y_pred: Any, classes: Any = None) -> dict[int, float]:
    """Top-1 accuracy of each class, ``{c: (#correct in c) / (#samples in c)}``. ``classes``:
    the classes to report (default: those in ``y_true``); a listed class without samples is an
    error."""
    yt, yp = _ids(y_true, "y_true"), _ids(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise DataError(f"y_true has {yt.shape[0]} labels but y_pred has {yp.shape[0]}")
    cls = np.unique(yt) if classes is None else np.unique(_ids(classes, "classes"))
    if cls.size == 0:
        raise DataError("per_class_accuracy got no samples")
    counts = np.array([(yt == c).sum() for c in cls])
    if (counts == 0).any():
        raise DataError(f"classes {cls[counts == 0].tolist()} have no samples in y_true")
    return {int(c): float(np.mean(yp[yt == c] == c)) for c in cls}


def per_class_accuracy(y_true: Any, y_pred: Any, classes: Any = None) -> float:
    """Top-1 accuracy averaged over classes: ``(1/|C|) Σ_c (#correct in c) / (#samples in c)``
    (Xian et al., TPAMI 2018); the mean of :func:`class_accuracies`."""
    return float(np.mean(list(class_accuracies(y_true, y_pred, classes).values())))


def harmonic_mean(u: float, s: float) -> float:
    """``H = 2 u s / (u + s)``, and 0 when ``u`` or ``s`` is 0 (Xian et al., TPAMI 2018)."""
    u, s = float(u), float(s)
    if u <= 0.0 or s <= 0.0:
        return 0.0
    return 2.0 * u * s / (u + s)


@dataclass(frozen=True)
class GZSLResult:
    """GZSL accuracies: ``u`` (unseen test samples), ``s`` (seen ones), ``h`` their harmonic
    mean, all class-averaged over the candidates ``seen ∪ unseen``, at calibration ``gamma``."""

    u: float
    s: float
    h: float
    gamma: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class SeenUnseenCurve:
    """Chao et al.'s seen-unseen accuracy curve: for each ``gammas[k]``, the class-averaged
    accuracy on seen (``acc_seen``) and unseen (``acc_unseen``) test samples with every class
    a candidate; ``ausuc`` the area under ``acc_seen`` as a function of ``acc_unseen``.
    ``gammas`` run from "every sample predicted seen" to "every sample predicted unseen"."""

    gammas: np.ndarray
    acc_seen: np.ndarray
    acc_unseen: np.ndarray
    ausuc: float

    @property
    def harmonic(self) -> np.ndarray:
        """``H`` at each ``gamma``."""
        u, s = self.acc_unseen, self.acc_seen
        return np.where((u > 0) & (s > 0), 2 * u * s / np.maximum(u + s, 1e-300), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"gammas": self.gammas.tolist(), "acc_seen": self.acc_seen.tolist(),
                "acc_unseen": self.acc_unseen.tolist(), "ausuc": self.ausuc}


def _setup(scores: Any, y_true: Any, seen_classes: Any, unseen_classes: Any, candidate_classes: Any):
    F = as_numpy(scores, np.float64)
    if F.ndim != 2:
        raise DataError(f"scores must be [N, C], got shape {F.shape}")
    yt = _ids(y_true, "y_true")
    if yt.shape[0] != F.shape[0]:
        raise DataError(f"scores have {F.shape[0]} rows but y_true has {yt.shape[0]} labels")
    cand = np.arange(F.shape[1]) if candidate_classes is None else _ids(candidate_classes, "candidate_classes")
    if cand.shape[0] != F.shape[1]:
        raise DataError(f"scores have {F.shape[1]} columns but candidate_classes has {cand.shape[0]} ids")
    seen = np.unique(_ids(seen_classes, "seen_classes"))
    unseen = np.unique(_ids(unseen_classes, "unseen_classes"))
    both = np.intersect1d(seen, unseen)
    if both.size:
        raise DataError(f"classes {both.tolist()} are both seen and unseen")
    for name, group in (("seen", seen), ("unseen", unseen)):
        if group.size == 0:
            raise DataError(f"no {name} classes given")
        absent = np.setdiff1d(group, cand)
        if absent.size:
            raise DataError(f"{name} classes {absent.tolist()} are not among the candidate classes (score columns)")
    stray = np.setdiff1d(np.unique(yt), np.union1d(seen, unseen))
    if stray.size:
        raise DataError(f"y_true holds classes {stray.tolist()} that are neither seen nor unseen")
    return F, yt, cand, seen, unseen


def calibrated_stacking(scores: Any, seen_classes: Any, gamma: float, candidate_classes: Any = None) -> np.ndarray:
    """``f_c(x) - γ [c ∈ seen]`` for every candidate column (Chao et al., ECCV 2016):
    a positive ``γ`` moves predictions from seen towards unseen classes."""
    F = as_numpy(scores, np.float64)
    cand = np.arange(F.shape[1]) if candidate_classes is None else _ids(candidate_classes, "candidate_classes")
    if cand.shape[0] != F.shape[1]:
        raise DataError(f"scores have {F.shape[1]} columns but candidate_classes has {cand.shape[0]} ids")
    return F - float(gamma) * np.isin(cand, _ids(seen_classes, "seen_classes"))[None, :]


def center_scores(scores: Any, reference_scores: Any) -> np.ndarray:
    """Per-class calibration without labels: subtract each class's mean score over
    ``reference_scores`` (unlabelled inputs of the target distribution) from ``scores``, so no
    class wins merely by a higher average compatibility."""
    F = as_numpy(scores, np.float64)
    R = as_numpy(reference_scores, np.float64)
    if R.ndim != 2 or R.shape[1] != F.shape[1]:
        raise DataError(f"reference_scores must be [M, {F.shape[1]}], got shape {R.shape}")
    return F - R.mean(axis=0, keepdims=True)


def gzsl_evaluate(scores: Any, y_true: Any, seen_classes: Any, unseen_classes: Any,
                  candidate_classes: Any = None, gamma: float = 0.0) -> GZSLResult:
    """``u``, ``s`` and ``H`` of the argmax predictions after calibrated stacking with ``gamma``.

    ``scores`` cover every candidate class (at least ``seen ∪ unseen``); ``y_true`` holds the
    test samples of both kinds; ``u`` is the class-averaged accuracy over the unseen classes'
    samples, ``s`` over the seen classes' (Xian et al., TPAMI 2018). A group
    without test samples is an error.
    """
    F, yt, cand, seen, unseen = _setup(scores, y_true, seen_classes, unseen_classes, candidate_classes)
    pred = cand[np.argmax(calibrated_stacking(F, seen, gamma, cand), axis=1)]
    acc = {}
    for name, group in (("u", unseen), ("s", seen)):
        mask = np.isin(yt, group)
        if not mask.any():
            raise DataError(f"no test samples of {'unseen' if name == 'u' else 'seen'} classes")
        acc[name] = per_class_accuracy(yt[mask], pred[mask])
    return GZSLResult(acc["u"], acc["s"], harmonic_mean(acc["u"], acc["s"]), float(gamma))


def seen_unseen_curve(scores: Any, y_true: Any, seen_classes: Any, unseen_classes: Any,
                      candidate_classes: Any = None) -> SeenUnseenCurve:
    """The exact seen-unseen accuracy curve over every ``γ`` (Chao et al., ECCV 2016).

    With ``d = max_{c∈S} f_c - max_{c∉S} f_c`` a sample is predicted seen iff ``d > γ``, so
    the accuracies change only at the samples' ``d``; the curve is evaluated once between each
    pair of consecutive breakpoints and beyond both ends. Accuracies are class-averaged (as
    :func:`gzsl_evaluate`); candidates outside ``seen ∪ unseen`` count as unseen-side
    distractors. Returns arrays a runner can plot and the area under the curve (AUSUC).
    """
    F, yt, cand, seen, unseen = _setup(scores, y_true, seen_classes, unseen_classes, candidate_classes)
    seen_col = np.isin(cand, seen)
    Fs, Fu = F[:, seen_col], F[:, ~seen_col]
    cs, cu = cand[seen_col], cand[~seen_col]
    d = Fs.max(1) - Fu.max(1)
    right_if_seen = cs[np.argmax(Fs, 1)] == yt
    right_if_unseen = cu[np.argmax(Fu, 1)] == yt
    # class-averaging weights: 1 / (#classes of the group present * #samples of the class)
    weight = np.zeros(len(yt))
    for group in (seen, unseen):
        present = [c for c in group if (yt == c).any()]
        if not present:
            raise DataError(f"no test samples of {'seen' if group is seen else 'unseen'} classes")
        for c in present:
            m = yt == c
            weight[m] = 1.0 / (len(present) * m.sum())
    is_seen = np.isin(yt, seen)
    a = weight * (is_seen & right_if_seen)  # counts when predicted seen  (d > γ)
    b = weight * (~is_seen & right_if_unseen)  # counts when predicted unseen (d <= γ)
    order = np.argsort(d, kind="stable")
    ds, a_s, b_s = d[order], a[order], b[order]
    brk = np.unique(ds)
    gammas = np.concatenate([[brk[0] - 1.0], (brk[:-1] + brk[1:]) / 2, [brk[-1] + 1.0]])
    k = np.searchsorted(ds, gammas, side="right")  # samples [0, k) have d <= γ
    cum_a = np.concatenate([[0.0], np.cumsum(a_s)])
    cum_b = np.concatenate([[0.0], np.cumsum(b_s)])
    acc_seen = cum_a[-1] - cum_a[k]
    acc_unseen = cum_b[k]
    ausuc = float(np.trapezoid(acc_seen, acc_unseen))
    return SeenUnseenCurve(gammas, acc_seen, acc_unseen, ausuc)


def select_calibration_gamma(val_scores: Any, val_y: Any, seen_classes: Any, unseen_classes: Any,
                             candidate_classes: Any = None) -> float:
    """The calibrated-stacking ``γ`` that maximises ``H`` on *validation* data.

    Only validation scores and labels enter (Chao et al. choose γ on held-out data; the
    validation "unseen" classes are seen classes held out of training, as in Xian et al.'s
    ``train_loc``/``val_loc`` split). The maximum is exact: it searches every distinct point
    of :func:`seen_unseen_curve`; among equal ``H`` the ``γ`` closest to 0 wins.
    """
    curve = seen_unseen_curve(val_scores, val_y, seen_classes, unseen_classes, candidate_classes)
    H = curve.harmonic
    best = np.flatnonzero(H >= H.max() - 1e-12)
    return float(curve.gammas[best[np.argmin(np.abs(curve.gammas[best]))]])
