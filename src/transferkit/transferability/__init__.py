"""Choosing what to transfer: transferability scores, Taskonomy's taxonomy, task grouping.

Transferability scores (higher = the pre-trained model should transfer better), plain
functions on numpy arrays or torch tensors, registered in the ``transferability`` family::

    from transferkit.transferability import logme, leep
    logme(features, labels)              # features [N, D] of the target data, labels [N]
    leep(source_probs, labels)           # source model's softmax outputs [N, Z]
    transferkit.create("transferability", "logme", features=f, labels=y)

Feature-based: ``logme``, ``h_score``, ``shrinkage_h_score``, ``transrate``, ``gbc``.
Source-label based: ``leep`` (probabilities), ``nce`` (predicted source labels).
:func:`transferability_scores` computes several at once for a runner.

Task taxonomy (Zamir et al., CVPR 2018): :func:`ahp_weights` (win rates -> affinities),
:func:`load_taskonomy_affinities` (the released affinities), :func:`solve_taxonomy` (the
budgeted binary integer program). Task grouping (Standley et al. 2020; Fifty et al. 2021):
:func:`choose_task_groups`, and :func:`lookahead_affinity` (torch) for TAG's affinities.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import ConfigError, UnknownNameError, suggest
from ._ahp import ahp_weights, load_taskonomy_affinities, parse_transfer_key, reciprocal_matrix
from ._gbc import gbc
from ._grouping import TaskGrouping, choose_task_groups, group_score
from ._hscore import h_score, shrinkage_h_score
from ._leep import leep
from ._logme import logme
from ._nce import nce
from ._tag import lookahead_affinity
from ._taxonomy import Taxonomy, cheapest_taxonomy_cost, solve_taxonomy
from ._transrate import transrate

__all__ = [
    "FEATURE_SCORES",
    "SOURCE_OUTPUT_SCORES",
    "TaskGrouping",
    "Taxonomy",
    "ahp_weights",
    "cheapest_taxonomy_cost",
    "choose_task_groups",
    "gbc",
    "group_score",
    "h_score",
    "leep",
    "load_taskonomy_affinities",
    "logme",
    "lookahead_affinity",
    "nce",
    "parse_transfer_key",
    "reciprocal_matrix",
    "shrinkage_h_score",
    "solve_taxonomy",
    "transferability_scores",
    "transrate",
]

#: Scores computed from target features [N, D] and target labels [N].
FEATURE_SCORES = ("logme", "h_score", "shrinkage_h_score", "transrate", "gbc")
#: Scores computed from the source model's outputs on the target data and target labels.
SOURCE_OUTPUT_SCORES = ("leep", "nce")

_FUNCS = {
    "logme": logme,
    "h_score": h_score,
    "shrinkage_h_score": shrinkage_h_score,
    "transrate": transrate,
    "gbc": gbc,
    "leep": leep,
    "nce": nce,
}


def transferability_scores(
    labels: Any,
    *,
    features: Any = None,
    source_probs: Any = None,
    names: list[str] | tuple[str, ...] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
) -> dict[str, float]:
    """Several scores of one model on one target data set, ``{name: score}``.

    Args:
        labels: [N] target class ids.
        features: [N, D] target features from the model (for the feature-based scores).
        source_probs: [N, Z] the source model's softmax outputs on the target inputs (for
            ``leep``, and ``nce`` through their arg-max).
        names: scores to compute; default: every score the given inputs allow.
        params: per-score keyword arguments, e.g. ``{"gbc": {"pca_dim": 64}}``.
    """
    params = dict(params or {})
    if names is None:
        names = (FEATURE_SCORES if features is not None else ()) + (
            SOURCE_OUTPUT_SCORES if source_probs is not None else ()
        )
        if not names:
            raise ConfigError("give features=... and/or source_probs=... to score")
    for key in params:
        if key not in _FUNCS:
            raise UnknownNameError(f"params names unknown score '{key}'.{suggest(key, _FUNCS)}")
    out: dict[str, float] = {}
    for name in names:
        if name not in _FUNCS:
            raise UnknownNameError(
                f"unknown transferability score '{name}'.{suggest(name, _FUNCS)} "
                f"Valid names: {', '.join(sorted(_FUNCS))}."
            )
        kw = params.get(name, {})
        if name in FEATURE_SCORES:
            if features is None:
                raise ConfigError(f"score '{name}' needs features=[N, D]")
            out[name] = _FUNCS[name](features, labels, **kw)
        else:
            if source_probs is None:
                raise ConfigError(f"score '{name}' needs source_probs=[N, Z]")
            out[name] = _FUNCS[name](source_probs, labels, **kw)
    return out
