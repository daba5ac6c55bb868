"""Analytic Hierarchy Process normalisation of win rates, and the Taskonomy release format.

Zamir, Sax, Shen, Guibas, Malik, Savarese, "Taskonomy: Disentangling Task Transfer Learning",
CVPR 2018, Section 3.3: for one target task, ``W[i, j]`` is the fraction of held-out images on
which the transfer from source ``i`` beats the one from source ``j``. The win rates are clipped
to ``[0.001, 0.999]``, turned into the reciprocal matrix ``W' = W / W'`` (element-wise, so
``W'[i, j] = 1 / W'[j, i]``), and the principal eigenvector of ``W'`` gives the sources'
affinities to the target (Saaty's AHP). Stacking one vector per target gives the affinity
matrix that the taxonomy integer program (:func:`solve_taxonomy`) takes.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError
from ._common import _to_numpy

__all__ = ["ahp_weights", "load_taskonomy_affinities", "reciprocal_matrix", "parse_transfer_key"]

log = logging.getLogger(__name__)

#: Sources in the Taskonomy release that are not a task one supervises: ``pixels`` (a readout
#: on raw pixels, a baseline of the win-rate files). ``random`` stays: it is the "random
#: projection" task, one of the paper's four source-only tasks (with colorization, jigsaw and
#: in-painting), which with the 22 targets make the paper's 26 tasks.
TASKONOMY_NON_TASKS = ("pixels",)


def reciprocal_matrix(win_rates: Any, clip: tuple[float, float] = (0.001, 0.999)) -> np.ndarray:
    """``W' = W / W'`` element-wise after clipping the win rates to ``clip`` (diagonal = 1)."""
    w = _to_numpy(win_rates).astype(np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise DataError(f"win_rates must be a square [S, S] matrix, got shape {w.shape}")
    lo, hi = clip
    if not 0.0 < lo <= hi < 1.0:
        raise ConfigError(f"clip must satisfy 0 < low <= high < 1, got {clip}")
    off = ~np.eye(w.shape[0], dtype=bool)
    if not np.isfinite(w[off]).all():
        raise DataError("win_rates contains NaN or inf off the diagonal")
    if (w[off] < 0).any() or (w[off] > 1).any():
        raise DataError("win_rates must be fractions in [0, 1]")
    w = np.clip(w, lo, hi)
    r = w / w.T
    np.fill_diagonal(r, 1.0)
    return r


def ahp_weights(win_rates: Any, clip: tuple[float, float] = (0.001, 0.999)) -> np.ndarray:
    """Affinities of ``S`` sources to one target from their pairwise win-rate matrix [S, S].

    The principal (Perron) eigenvector of :func:`reciprocal_matrix`, scaled to sum to 1 (as the
    released Taskonomy affinities are). For a consistent matrix ``W'[i, j] = w_i / w_j`` it
    returns ``w / sum(w)`` exactly.
    """
    r = reciprocal_matrix(win_rates, clip)
    vals, vecs = np.linalg.eig(r)
    v = np.abs(np.real(vecs[:, int(np.argmax(np.real(vals)))]))
    return v / v.sum()


def parse_transfer_key(key: Any) -> tuple[tuple[str, ...], str]:
    """``"a__b__t"``, ``("a", "b", "t")`` or ``(("a", "b"), "t")`` -> ``(("a", "b"), "t")``."""
    if isinstance(key, str):
        parts = key.split("__")
    elif isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], tuple | list):
        parts = [*key[0], key[1]]
    elif isinstance(key, tuple | list):
        parts = list(key)
    else:
        raise ConfigError(f"transfer key {key!r} must be 'src__tgt', 'src1__src2__tgt' or a tuple")
    if len(parts) < 2 or not all(isinstance(p, str) and p for p in parts):
        raise ConfigError(
            f"transfer key {key!r} must name at least one source and a target "
            "('src__tgt' or 'src1__src2__tgt')"
        )
    return tuple(parts[:-1]), parts[-1]


def load_taskonomy_affinities(
    path: str | os.PathLike,
    *,
    exclude: tuple[str, ...] = TASKONOMY_NON_TASKS,
) -> dict[tuple[tuple[str, ...], str], float]:
    """Read a Taskonomy affinity (or win-rate) JSON file into ``{(sources, target): value}``.

    ``path`` is a file such as ``taskonomy/all_affinities.json`` of the released results, or
    the folder holding it (then ``all_affinities.json`` is read). Keys are ``src__tgt`` (first
    order) or ``src1__src2__tgt`` (higher order). The source ``self`` (the target's own
    fully supervised network) becomes the target itself, so that the taxonomy program allows it
    only when the target is supervised; where the release also has ``tgt__tgt`` the larger of
    the two values is kept, since both need the same supervised task. Keys naming a task in
    ``exclude`` (by default ``pixels``, a raw-pixel baseline, not a task) are dropped.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "all_affinities.json"
    if not p.is_file():
        raise DataError(
            f"Taskonomy affinities: '{p}' does not exist (expected e.g. "
            "<data root>/taskonomy/all_affinities.json; set TRANSFERKIT_DATA or pass the path)"
        )
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"Taskonomy affinities: '{p}' is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise DataError(f"Taskonomy affinities: '{p}' must hold a JSON object of 'src__tgt' keys")
    out: dict[tuple[tuple[str, ...], str], float] = {}
    for key, value in raw.items():
        sources, target = parse_transfer_key(key)
        if any(s in exclude for s in sources) or target in exclude:
            continue
        sources = tuple(target if s == "self" else s for s in sources)
        v = float(value)
        k = (sources, target)
        if k in out:
            log.debug("Taskonomy %s: %s and a self transfer both present; keeping the larger", p, k)
            v = max(v, out[k])
        out[k] = v
    return out
