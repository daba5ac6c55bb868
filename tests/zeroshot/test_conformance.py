"""Every registered zero-shot method honours the common API (read from the registry)."""

import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.exceptions import ConfigError, DataError

from ._helpers import make_problem

FAST = {"ale": {"epochs": 2}, "sje": {"epochs": 2}, "devise": {"epochs": 2}}
NAMES = [m.name for m in tk.list_methods("zeroshot")]


def _problem(name):
    p = make_problem(seed=2)
    if name == "description_similarity":  # inputs must live in the class-embedding space
        rng = np.random.default_rng(0)
        p["X"] = p["A"][p["y"]] + 0.1 * rng.normal(size=(len(p["y"]), p["A"].shape[1]))
        tr = np.isin(p["y"], p["seen"])
        p["X_train"], p["X_unseen"] = p["X"][tr], p["X"][~tr]
    return p


def test_the_family_is_registered():
    assert {"dap", "iap", "eszsl", "ale", "sje", "devise", "conse", "attribute_prior",
            "description_similarity"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_common_api(name):
    p = _problem(name)
    model = tk.create("zeroshot", name, **FAST.get(name, {}))
    with pytest.raises(ConfigError, match="not fitted"):
        model.predict(p["X_unseen"][:2])
    assert model.fit(p["X_train"], p["y_train"], p["A"]) is model
    np.testing.assert_array_equal(model.seen_classes_, p["seen"])
    X = p["X"][::7]
    full = np.asarray(model.decision_function(X))
    assert full.shape == (len(X), len(p["A"])) and np.isfinite(full).all()
    # scores of a candidate subset are the same columns, in the order asked for
    cand = np.array([12, 3, 10])
    np.testing.assert_allclose(model.decision_function(X, candidate_classes=cand), full[:, cand], rtol=1e-6, atol=1e-9)
    pred = model.predict(X, candidate_classes=cand)
    np.testing.assert_array_equal(pred, cand[np.argmax(full[:, cand], 1)])
    # torch in, torch out, same numbers
    out = model.decision_function(torch.as_tensor(X, dtype=torch.float64))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), full, rtol=1e-5, atol=1e-6)
    # repr round-trips through the constructor
    again = type(model)(**model.get_params())
    assert repr(again) == repr(model)


@pytest.mark.parametrize("name", NAMES)
def test_bad_labels_are_named(name):
    p = _problem(name)
    model = tk.create("zeroshot", name, **FAST.get(name, {}))
    with pytest.raises(DataError, match="y must index the 14 rows of class_embeddings"):
        model.fit(p["X_train"], p["y_train"] + 100, p["A"])
    with pytest.raises(DataError, match="inputs but"):
        model.fit(p["X_train"], p["y_train"][:-1], p["A"])
