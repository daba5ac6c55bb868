"""AHP normalisation (Taskonomy, Section 3.3) and the Taskonomy release reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transferkit.exceptions import ConfigError, DataError
from transferkit.transferability import ahp_weights, load_taskonomy_affinities, reciprocal_matrix


def _bradley_terry(w):
    """Win rates P(i beats j) = w_i / (w_i + w_j): then W / W' = w_i / w_j, a consistent matrix."""
    return w[:, None] / (w[:, None] + w[None, :])


def test_consistent_reciprocal_matrix_recovers_generating_weights():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 3.0, 7)
    wins = _bradley_terry(w)
    r = reciprocal_matrix(wins)
    np.testing.assert_allclose(r, w[:, None] / w[None, :], rtol=1e-12)
    np.testing.assert_allclose(ahp_weights(wins), w / w.sum(), rtol=1e-10)


def test_clipping_keeps_certain_wins_finite():
    wins = np.array([[0.5, 1.0, 1.0], [0.0, 0.5, 0.7], [0.0, 0.3, 0.5]])
    r = reciprocal_matrix(wins)
    assert r[0, 1] == pytest.approx(0.999 / 0.001)
    np.testing.assert_allclose(r * r.T, np.ones((3, 3)))
    w = ahp_weights(wins)
    assert np.all(np.isfinite(w)) and w.sum() == pytest.approx(1.0)
    assert np.argmax(w) == 0 and w[1] > w[2]


def test_bad_win_rates_are_reported():
    with pytest.raises(DataError, match="square"):
        ahp_weights(np.ones((2, 3)) / 2)
    with pytest.raises(DataError, match="fractions"):
        ahp_weights(np.array([[0.5, 1.5], [-0.5, 0.5]]))
    with pytest.raises(ConfigError, match="clip"):
        ahp_weights(np.full((2, 2), 0.5), clip=(0.0, 1.0))


def test_reader_maps_self_to_the_target_and_drops_non_tasks(tmp_path):
    path = tmp_path / "aff.json"
    path.write_text(
        json.dumps({"self__b": 0.5, "b__b": 0.2, "a__b": 0.2, "pixels__b": 0.05, "a__c__b": 0.05})
    )
    aff = load_taskonomy_affinities(path)
    assert aff == {(("b",), "b"): 0.5, (("a",), "b"): 0.2, (("a", "c"), "b"): 0.05}
    with pytest.raises(DataError, match="does not exist"):
        load_taskonomy_affinities(tmp_path / "missing.json")


def test_released_affinities_are_normalised_per_target(data_root):
    path = data_root / "taskonomy" / "all_affinities.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    raw = json.loads(path.read_text())
    aff = load_taskonomy_affinities(path, exclude=())
    targets = {t for _, t in aff}
    assert len(targets) == 22
    for t in targets:
        # the release is AHP-normalised: each target's affinities sum to 1
        assert sum(v for k, v in raw.items() if k.endswith("__" + t)) == pytest.approx(1.0)
        # self__t and t__t become one key holding the larger value
        dropped = min(raw[f"self__{t}"], raw[f"{t}__{t}"])
        total = sum(v for (s, tt), v in aff.items() if tt == t)
        assert total == pytest.approx(1.0 - dropped)
        assert aff[((t,), t)] == max(raw[f"self__{t}"], raw[f"{t}__{t}"])
    assert max(len(s) for s, _ in aff) == 2
