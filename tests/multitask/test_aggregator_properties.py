"""Every registered aggregator against the property bank in ``_asserts.py``.

``PROPERTIES`` says which properties each registered aggregator claims; an aggregator that is
registered but missing from the table FAILS (a new registration must be exercised). A property
with ``@2`` holds for two tasks only.
"""

from __future__ import annotations

import pytest
import torch

import transferkit

from . import _asserts as A
from .conftest import random_jacobian

ALWAYS = ["structure", "homogeneous"]
PROPERTIES: dict[str, list[str]] = {
    "mean": [*ALWAYS, "permutation", "linear", "pure"],
    "sum": [*ALWAYS, "permutation", "linear", "pure"],
    "mgda": [*ALWAYS, "permutation", "non_conflicting", "kkt", "pure"],
    "upgrad": [*ALWAYS, "permutation", "non_conflicting", "linear", "pure"],
    # default UPGrad; torchjd's own regularisation (no switch to turn it off) blurs "linear"
    "torchjd": [*ALWAYS, "permutation", "non_conflicting", "pure"],
    "cagrad": [*ALWAYS, "permutation", "pure"],
    "imtl_g": [*ALWAYS, "permutation", "pure"],
    # random task orders from its own generator: invariant and non-conflicting for 2 tasks only
    "pcgrad": [*ALWAYS, "permutation@2", "non_conflicting@2", "own_rng"],
}
# constructor parameters for one (aggregator, property): UPGrad's regularisation (reg_eps,
# norm_eps = 1e-4) perturbs linearity under scaling by ~1e-4; the property is exact without it
PARAMS = {
    ("upgrad", "linear"): {"reg_eps": 1e-12, "norm_eps": 1e-12},
}
CHECKS = {
    "structure": A.assert_expected_structure,
    "homogeneous": A.assert_positively_homogeneous,
    "permutation": A.assert_permutation_invariant,
    "non_conflicting": A.assert_non_conflicting,
    "linear": A.assert_linear_under_scaling,
    "kkt": A.assert_min_norm_kkt,
    "pure": A.assert_pure,
    "own_rng": A.assert_leaves_global_rng_alone,
}
NAMES = [m.name for m in transferkit.list_methods("aggregator")]
# (m, n, seed, conflict): wide, square, more tasks than dimensions, strongly conflicting
JACOBIANS = [(2, 5, 1, 0.9), (3, 7, 2, 0.5), (5, 3, 3, 0.0), (4, 10, 4, 1.2)]


def _jacobian(m, n, seed, conflict):
    J = random_jacobian(m, n, seed)
    J[1:] -= conflict * J[0]
    return J


def _cases():
    out = []
    for name in NAMES:
        for prop in PROPERTIES.get(name, ["<missing>"]):
            out.append(pytest.param(name, prop, id=f"{name}-{prop}"))
    return out


def test_every_registered_aggregator_has_a_property_entry():
    missing = [n for n in NAMES if n not in PROPERTIES]
    assert not missing, f"aggregators registered without a PROPERTIES entry: {missing}"
    assert set(PROPERTIES) <= set(NAMES), set(PROPERTIES) - set(NAMES)


@pytest.mark.parametrize("name,prop", _cases())
def test_property(name, prop):
    if prop == "<missing>":
        pytest.fail(f"aggregator '{name}' is registered but has no PROPERTIES entry: add one")
    if name == "torchjd":
        pytest.importorskip("torchjd")
    check, _, only_m = prop.partition("@")
    cases = [c for c in JACOBIANS if not only_m or c[0] == int(only_m)]
    if only_m and not cases:
        cases = [(int(only_m), 6, 9, 0.8)]
    for m, n, seed, conflict in cases:
        agg = transferkit.create("aggregator", name, **PARAMS.get((name, check), {}))
        CHECKS[check](agg, _jacobian(m, n, seed, conflict))


def test_the_bank_catches_violations():
    """Each check fails on an aggregator that lacks its property (the checks can fail)."""

    class Biased:  # weights (1, 0, ...): follows task 0 only
        def aggregate(self, J):
            w = torch.zeros(J.shape[0], dtype=J.dtype)
            w[0] = 1.0
            return w @ J, w

        def __call__(self, J):
            return self.aggregate(J)[0]

    class Squared(Biased):  # not homogeneous of degree 1
        def aggregate(self, J):
            w = torch.full((J.shape[0],), float(J.norm()), dtype=J.dtype)
            return w @ J, w

    J = _jacobian(3, 5, 2, 1.5)
    for check, agg in [
        (A.assert_permutation_invariant, Biased()),
        (A.assert_non_conflicting, Biased()),
        (A.assert_min_norm_kkt, Biased()),
        (A.assert_positively_homogeneous, Squared()),
        (A.assert_linear_under_scaling, Squared()),
    ]:
        with pytest.raises(AssertionError):
            check(agg, J)
