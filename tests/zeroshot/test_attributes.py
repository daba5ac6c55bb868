import math

import numpy as np
import pytest
import torch

from transferkit.zeroshot import (
    DAP,
    IAP,
    AttributePrior,
    attribute_priors,
    binarize_attributes,
    dap_log_scores,
    per_class_accuracy,
)

from ._helpers import make_problem


def test_dap_posterior_matches_a_hand_computation():
    # p(a|x) = (0.8, 0.3); priors p(a) = (0.6, 0.25); signatures of 3 classes
    P = np.array([[0.8, 0.3]])
    B = np.array([[1, 0], [0, 1], [1, 1]], float)
    priors = np.array([0.6, 0.25])
    # by hand: prod_m p(a_m^z|x) / p(a_m^z)
    #   z0 = (1,0): 0.8/0.6 * 0.7/0.75 = 1.244444...
    #   z1 = (0,1): 0.2/0.4 * 0.3/0.25 = 0.6
    #   z2 = (1,1): 0.8/0.6 * 0.3/0.25 = 1.6
    expected = np.log([0.8 / 0.6 * 0.7 / 0.75, 0.2 / 0.4 * 0.3 / 0.25, 0.8 / 0.6 * 0.3 / 0.25])
    np.testing.assert_allclose(dap_log_scores(P, B, priors), expected[None], rtol=1e-12)
    assert math.isclose(math.exp(expected[2]), 1.6)


def test_dap_priors_are_seen_class_means_and_the_estimator_uses_the_rule():
    # seen classes 0, 1 with signatures (1,0), (1,1); unseen 2 = (0,1)
    B = np.array([[1, 0], [1, 1], [0, 1]], float)
    np.testing.assert_allclose(attribute_priors(B[:2]), [0.5, 0.5])  # 1.0 is degenerate -> 0.5
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.repeat([0, 1], 20)
    dap = DAP().fit(X, y, B)
    np.testing.assert_allclose(dap.priors_, [0.5, 0.5])
    P = dap.attribute_proba(X[:5])
    np.testing.assert_allclose(P[:, 0], 1.0)  # attribute constant over the seen classes
    want = dap_log_scores(P, B, dap.priors_)
    np.testing.assert_allclose(dap.decision_function(X[:5]), want)
    np.testing.assert_array_equal(dap.predict(X[:5]), np.argmax(want, 1))


def test_iap_attribute_posterior_is_the_class_posterior_mixture():
    p = make_problem(seed=4)
    iap = IAP().fit(p["X_train"], p["y_train"], p["A"])
    Py = iap.seen_class_proba(p["X_unseen"][:7])
    np.testing.assert_allclose(Py.sum(1), 1.0)
    np.testing.assert_allclose(iap.attribute_proba(p["X_unseen"][:7]), Py @ p["A"][p["seen"]])


def test_dap_and_iap_recognise_unseen_classes_better_than_the_prior():
    p = make_problem(seed=5)
    for cls in (DAP, IAP):
        model = cls().fit(p["X_train"], p["y_train"], p["A"])
        pred = model.predict(p["X_unseen"], candidate_classes=p["unseen"])
        assert per_class_accuracy(p["y_unseen"], pred) > 0.6, cls.__name__
    base = AttributePrior().fit(p["X_train"], p["y_train"], p["A"])
    pred = base.predict(p["X_unseen"], candidate_classes=p["unseen"])
    assert len(set(pred.tolist())) == 1  # blind to the input
    assert per_class_accuracy(p["y_unseen"], pred) == pytest.approx(1 / len(p["unseen"]))


def test_binarize_rules():
    A = np.array([[0.0, 10.0], [30.0, 40.0]])  # overall mean 20
    np.testing.assert_array_equal(binarize_attributes(A), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(binarize_attributes(A, "column_mean"), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(binarize_attributes(A, 5.0), [[0, 1], [1, 1]])
    with pytest.raises(ValueError, match="threshold must be"):
        binarize_attributes(A, "median")


def test_mean_threshold_reproduces_the_awa2_binary_matrix(data_root):
    folder = data_root / "awa_attributes" / "AWA2"
    if not (folder / "predicate-matrix-binary.txt").is_file():
        pytest.skip("AwA2 attribute files absent")
    cont = np.loadtxt(folder / "predicate-matrix-continuous.txt")
    binary = np.loadtxt(folder / "predicate-matrix-binary.txt")
    np.testing.assert_array_equal(binarize_attributes(cont, "mean"), binary)


def test_dap_takes_torch_tensors():
    p = make_problem(seed=6)
    dap = DAP().fit(torch.as_tensor(p["X_train"]), torch.as_tensor(p["y_train"]), torch.as_tensor(p["A"]))
    out = dap.predict(torch.as_tensor(p["X_unseen"]), candidate_classes=p["unseen"])
    assert isinstance(out, torch.Tensor)
    np.testing.assert_array_equal(out.numpy(), dap.predict(p["X_unseen"], candidate_classes=p["unseen"]))
