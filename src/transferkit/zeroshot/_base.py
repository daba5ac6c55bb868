"""The common API of zero-shot classifiers: arrays in, class scores out.

Every classifier speaks one vocabulary (scikit-learn's, plus the class embeddings):

* ``fit(X, y, class_embeddings, seen_classes=None)``: ``class_embeddings`` is
  ``[n_classes, a]`` (attributes, word or description embeddings of *all* classes, seen and
  unseen); ``y`` holds row indices of ``class_embeddings`` (the seen classes' ids); the seen
  classes are ``unique(y)`` unless ``seen_classes`` says otherwise;
* ``decision_function(X, class_embeddings=None, candidate_classes=None)``: compatibility scores
  ``[N, len(candidate_classes)]``, higher = more compatible; column ``j`` is class
  ``candidate_classes[j]`` (default: every row of ``class_embeddings``). These are the scores
  that calibrated stacking (:func:`transferkit.zeroshot.calibrated_stacking`) shifts;
* ``predict(...)``: the argmax of those scores, as class ids (rows of ``class_embeddings``).

``X`` (and ``y``) may be numpy arrays or torch tensors; scores come back in the type of ``X``.
Fitted attributes end in ``_`` (``class_embeddings_``, ``seen_classes_``).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..exceptions import ConfigError, DataError

__all__ = ["ZeroShotClassifier", "as_numpy", "like_input", "check_classes"]


def as_numpy(a: Any, dtype: Any = None) -> np.ndarray:
    """A numpy copy/view of an array-like or tensor (detached, on the CPU)."""
    if isinstance(a, Tensor):
        a = a.detach().cpu().numpy()
    out = np.asarray(a)
    return out.astype(dtype, copy=False) if dtype is not None else out


def like_input(x: Any, out: np.ndarray) -> Any:
    """``out`` as a tensor on ``x``'s device when ``x`` is a tensor, else as is."""
    if isinstance(x, Tensor):
        dtype = x.dtype if x.is_floating_point() else torch.float32
        return torch.as_tensor(out, device=x.device).to(dtype if out.dtype.kind == "f" else torch.int64)
    return out


def check_classes(classes: Any, n_classes: int, what: str) -> np.ndarray:
    """``classes`` as a 1-D int64 array of distinct ids in ``[0, n_classes)``."""
    ids = as_numpy(classes).reshape(-1)
    if ids.size == 0:
        raise DataError(f"{what} is empty")
    if ids.dtype.kind not in "iu":
        if ids.dtype.kind == "f" and np.all(ids == np.round(ids)):
            ids = ids.astype(np.int64)
        else:
            raise DataError(f"{what} must hold integer class ids, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.min() < 0 or ids.max() >= n_classes:
        raise DataError(
            f"{what} must lie in [0, {n_classes - 1}] (rows of the {n_classes}-class embedding "
            f"matrix), found values in [{ids.min()}, {ids.max()}]"
        )
    if len(np.unique(ids)) != len(ids):
        raise DataError(f"{what} repeats class ids: {ids.tolist()}")
    return ids


def _embedding_matrix(class_embeddings: Any) -> np.ndarray:
    S = as_numpy(class_embeddings, np.float64)
    if S.ndim != 2:
        raise DataError(f"class_embeddings must be [n_classes, a], got shape {S.shape}")
    if not np.isfinite(S).all():
        raise DataError("class_embeddings contain NaN or inf")
    return S


class ZeroShotClassifier:
    """Base class: the shared checks and ``predict``; subclasses define ``fit`` and
    ``decision_function`` (see the module docstring for the contract)."""

    #: hyper-parameter names shown by ``repr`` and returned by :meth:`get_params`
    _param_names: tuple[str, ...] = ()

    def get_params(self) -> dict[str, Any]:
        """The constructor's hyper-parameters, so ``type(m)(**m.get_params())`` rebuilds ``m``."""
        names = self._param_names or tuple(
            k for k in inspect.signature(type(self).__init__).parameters if k != "self"
        )
        return {k: getattr(self, k) for k in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ checks shared by fit
    def _check_fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> np.ndarray:
        S = _embedding_matrix(class_embeddings)
        n = len(X)
        yy = as_numpy(y).reshape(-1)
        if yy.shape[0] != n:
            raise DataError(f"{n} inputs but {yy.shape[0]} labels; they must match")
        if n == 0:
            raise DataError("no training samples")
        if yy.dtype.kind not in "iu":
            raise DataError(f"y must hold integer class ids (rows of class_embeddings), got dtype {yy.dtype}")
        yy = yy.astype(np.int64)
        if yy.min() < 0 or yy.max() >= S.shape[0]:
            raise DataError(
                f"y must index the {S.shape[0]} rows of class_embeddings, found values in "
                f"[{yy.min()}, {yy.max()}]"
            )
        if seen_classes is None:
            seen = np.unique(yy)
        else:
            seen = check_classes(seen_classes, S.shape[0], "seen_classes")
            missing = np.setdiff1d(np.unique(yy), seen)
            if missing.size:
                raise DataError(f"y holds classes {missing.tolist()} that are not in seen_classes")
        self.class_embeddings_ = S
        self.seen_classes_ = np.asarray(seen, np.int64)
        self.n_classes_ = int(S.shape[0])
        return S

    def _seen_targets(self, y: Any) -> np.ndarray:
        """Position of each label in ``seen_classes_`` (0 .. n_seen-1)."""
        yy = as_numpy(y).reshape(-1).astype(np.int64)
        position = np.full(self.n_classes_, -1, np.int64)
        position[self.seen_classes_] = np.arange(len(self.seen_classes_))
        return position[yy]

    def _candidates(self, class_embeddings: Any, candidate_classes: Any, need_fit: bool = True) -> tuple[np.ndarray, np.ndarray]:
        if class_embeddings is None:
            if not hasattr(self, "class_embeddings_"):
                raise ConfigError(
                    f"{type(self).__name__} is not fitted: call fit(X, y, class_embeddings) first "
                    "or pass class_embeddings"
                )
            S = self.class_embeddings_
        else:
            S = _embedding_matrix(class_embeddings)
        if need_fit and not hasattr(self, "seen_classes_"):
            raise ConfigError(f"{type(self).__name__} is not fitted: call fit(X, y, class_embeddings) first")
        if hasattr(self, "class_embeddings_") and S.shape[1] != self.class_embeddings_.shape[1]:
            raise DataError(
                f"class_embeddings have {S.shape[1]} columns but the model was fitted with "
                f"{self.class_embeddings_.shape[1]}"
            )
        cand = (
            np.arange(S.shape[0], dtype=np.int64)
            if candidate_classes is None
            else check_classes(candidate_classes, S.shape[0], "candidate_classes")
        )
        return S, cand

    # ------------------------------------------------------------------ the shared API
    def fit(self, X: Any, y: Any, class_embeddings: Any, seen_classes: Any = None) -> ZeroShotClassifier:
        raise NotImplementedError

    def decision_function(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        raise NotImplementedError

    def predict(self, X: Any, class_embeddings: Any = None, candidate_classes: Any = None) -> Any:
        """Class ids (rows of ``class_embeddings``) of the highest score among the candidates."""
        scores = as_numpy(self.decision_function(X, class_embeddings, candidate_classes))
        S, cand = self._candidates(class_embeddings, candidate_classes, need_fit=False)
        pred = cand[np.argmax(scores, axis=1)]
        if isinstance(X, Tensor):
            return torch.as_tensor(pred, device=X.device)
        return pred
