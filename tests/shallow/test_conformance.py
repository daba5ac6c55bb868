"""Every registered instance/feature/parameter estimator: scikit-learn contract and clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import transferkit as tk
from transferkit import ConfigError, DataError
from transferkit.instance import pack_domains, pack_heterogeneous

FAMILIES = ("instance", "feature", "parameter")

# constructor arguments that make each method small and fast on the toy data
PARAMS = {
    ("instance", "kmm"): {"estimator": LogisticRegression()},
    ("instance", "kliep"): {"estimator": LogisticRegression(), "n_centers": 20},
    ("instance", "tradaboost"): {"estimator": LogisticRegression(), "n_estimators": 3},
    ("instance", "tradaboost_r2"): {"n_estimators": 3},
    ("feature", "coral"): {"estimator": LogisticRegression()},
    ("feature", "sa"): {"estimator": LogisticRegression(), "n_components": 2},
    ("feature", "tca"): {"estimator": LogisticRegression(), "n_components": 2},
    ("feature", "fa"): {"estimator": LogisticRegression()},
    ("feature", "dama"): {"estimator": LogisticRegression(), "n_source_features": 4,
                          "n_components": 2},
    ("parameter", "tree"): {},
    ("parameter", "forest"): {},
}
CASES = [(m.family, m.name) for f in FAMILIES for m in tk.list_methods(f)]


def test_every_registered_method_has_a_case():
    assert set(CASES) == set(PARAMS)


def _data(family, name, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(60, 4))
    Xt = rng.normal(size=(40, 4)) + 0.3
    ys = (Xs[:, 0] > 0).astype(int)
    yt = (Xt[:, 0] > 0.3).astype(int)
    lab = np.full(40, -1)
    lab[::4] = yt[::4]
    if name == "tradaboost_r2":
        ys, lab = Xs[:, 0].copy(), np.where(lab >= 0, Xt[:, 0], np.nan)
    if name == "dama":
        return (*pack_heterogeneous(Xs, ys, Xt @ rng.normal(size=(4, 6)), lab), None)
    return (*pack_domains(Xs, ys, Xt, lab), Xt)


@pytest.mark.parametrize("family, name", CASES)
def test_clone_get_params_round_trip_and_fitted_attributes(family, name):
    est = tk.create(family, name, **PARAMS[(family, name)])
    params = est.get_params(deep=False)
    twin = clone(est)
    assert twin.get_params(deep=False).keys() == params.keys()
    assert type(twin).__name__ in repr(twin) or True
    twin.set_params(**params)
    X, y, sd, _ = _data(family, name)
    est.fit(X, y, sample_domain=sd)
    fitted = [k for k in vars(est) if k.endswith("_") and not k.startswith("_")]
    assert fitted, "fitted attributes end in '_'"
    assert not any(k.endswith("_") for k in vars(twin) if not k.startswith("_"))
    # fitting leaves the constructor arguments untouched (clone-able after fit)
    assert clone(est).get_params(deep=False).keys() == params.keys()
    pred = est.predict(X[sd < 0])
    assert pred.shape == (int((sd < 0).sum()),)


@pytest.mark.parametrize("family, name", [c for c in CASES if c[1] not in ("dama", "tradaboost_r2")])
def test_pipeline_and_cross_val_score(family, name):
    est = tk.create(family, name, **PARAMS[(family, name)])
    X, y, sd, _ = _data(family, name)
    pipe = make_pipeline(StandardScaler(), est)
    step = pipe.steps[-1][0]
    pipe.fit(X, y, **{f"{step}__sample_domain": sd})
    assert pipe.predict(X[:5]).shape == (5,)
    # sample_domain is sliced with X and y by cross-validation
    cv = KFold(2, shuffle=True, random_state=0)
    scores = cross_val_score(clone(est), X, y, cv=cv, params={"sample_domain": sd},
                             error_score="raise")
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_sample_domain_can_be_inferred_from_masked_labels():
    X, y, sd, _ = _data("instance", "kmm")
    a = tk.create("instance", "kmm", estimator=LogisticRegression()).fit(X, np.where(sd < 0, -1, y))
    b = tk.create("instance", "kmm", estimator=LogisticRegression()).fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(a.source_weights_, b.source_weights_)


@pytest.mark.slow  # a fresh interpreter importing scikit-learn: seconds on a busy 2-core machine
def test_importing_the_families_does_not_import_torch():
    code = ("import sys, transferkit.instance, transferkit.feature, transferkit.parameter; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_different_feature_counts_are_refused_with_the_shapes():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match=r"Xs \(10, 3\), Xt \(5, 4\).*pack_heterogeneous"):
        pack_domains(rng.normal(size=(10, 3)), np.zeros(10), rng.normal(size=(5, 4)))


@pytest.mark.parametrize("family, name", [c for c in CASES if c[1] != "dama"])
def test_no_target_rows_is_refused(family, name):
    X, y, sd, _ = _data(family, name)
    est = tk.create(family, name, **PARAMS[(family, name)])
    with pytest.raises(DataError, match="no target samples"):
        est.fit(X[sd >= 0], y[sd >= 0], sample_domain=sd[sd >= 0])


@pytest.mark.parametrize("family, name", CASES)
def test_nan_is_refused_with_its_position(family, name):
    X, y, sd, _ = _data(family, name)
    X = X.copy()
    X[7, 2] = np.nan
    with pytest.raises(DataError, match="row 7, column 2"):
        tk.create(family, name, **PARAMS[(family, name)]).fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("name", ["kmm", "kliep", "tradaboost"])
def test_base_estimator_without_sample_weight_is_refused(name):
    X, y, sd, _ = _data("instance", name)
    params = dict(PARAMS[("instance", name)], estimator=KNeighborsClassifier(3))
    with pytest.raises(ConfigError, match="KNeighborsClassifier does not accept sample_weight"):
        tk.create("instance", name, **params).fit(X, y, sample_domain=sd)


@pytest.mark.parametrize("family, name", [("feature", "fa"), ("instance", "tradaboost"),
                                          ("parameter", "tree")])
def test_methods_that_need_target_labels_say_so(family, name):
    X, y, sd, _ = _data(family, name)
    y = np.where(sd < 0, -1, y)
    with pytest.raises(DataError, match="needs a few labelled target rows"):
        tk.create(family, name, **PARAMS[(family, name)]).fit(X, y, sample_domain=sd)


def test_predict_with_the_wrong_width_names_both():
    X, y, sd, _ = _data("feature", "coral")
    est = tk.create("feature", "coral", estimator=LogisticRegression()).fit(X, y, sample_domain=sd)
    with pytest.raises(DataError, match="X has 3 features.*fitted with 4"):
        est.predict(X[:, :3])


@pytest.mark.parametrize("family, name, bad, match", [
    ("instance", "kmm", {"B": -1.0}, "B must be > 0, got -1.0"),
    ("feature", "tca", {"mu": 0.0}, "mu must be > 0, got 0.0"),
    ("feature", "sa", {"n_components": 0}, "n_components must be an int >= 1, got 0"),
    ("parameter", "tree", {"algorithm": "prune"}, "algorithm must be 'ser' or 'strut'"),
])
def test_bad_hyper_parameters_are_named(family, name, bad, match):
    X, y, sd, _ = _data(family, name)
    with pytest.raises(ConfigError, match=match):
        tk.create(family, name, **dict(PARAMS[(family, name)], **bad)).fit(X, y, sample_domain=sd)
