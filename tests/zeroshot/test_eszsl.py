import numpy as np
import pytest
import torch

import transferkit as tk
from transferkit.zeroshot import ESZSL, eszsl_weights, per_class_accuracy

from ._helpers import make_problem


def _paper_reference(X_cols, Y, S_cols, gamma, lam):
    """The paper's equation verbatim, in the paper's shapes: X is d x m (one sample a column),
    Y is m x z, S is a x z; V = (X X^T + gamma I)^-1 X Y S^T (S S^T + lambda I)^-1."""
    d, a = X_cols.shape[0], S_cols.shape[0]
    return (np.linalg.inv(X_cols @ X_cols.T + gamma * np.eye(d)) @ X_cols @ Y @ S_cols.T
            @ np.linalg.inv(S_cols @ S_cols.T + lam * np.eye(a)))


@pytest.mark.parametrize("gamma,lam", [(1.0, 1.0), (0.1, 3.0), (10.0, 0.01)])
def test_closed_form_equals_the_paper_equation(gamma, lam):
    rng = np.random.default_rng(1)
    m, d, z, a = 40, 7, 5, 4
    X = rng.normal(size=(m, d))
    y = rng.integers(0, z, size=m)
    Y = -np.ones((m, z))
    Y[np.arange(m), y] = 1
    S = rng.normal(size=(z, a))
    V = eszsl_weights(X, Y, S, gamma, lam)
    np.testing.assert_allclose(V, _paper_reference(X.T, Y, S.T, gamma, lam), atol=1e-6, rtol=1e-6)
    # the estimator builds the same Y from labels (seen classes = all z here)
    model = ESZSL(gamma=gamma, lambda_=lam).fit(X, y, S)
    np.testing.assert_allclose(model.V_, _paper_reference(X.T, Y, S.T, gamma, lam), atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(model.decision_function(X), X @ model.V_ @ S.T, atol=1e-9)


def test_only_seen_classes_enter_the_fit():
    p = make_problem(seed=2)
    model = ESZSL().fit(p["X_train"], p["y_train"], p["A"])
    S_seen = p["A"][p["seen"]]
    Y = -np.ones((len(p["y_train"]), len(p["seen"])))
    Y[np.arange(len(p["y_train"])), p["y_train"]] = 1
    np.testing.assert_allclose(model.V_, _paper_reference(p["X_train"].T, Y, S_seen.T, 1.0, 1.0), atol=1e-6)


def test_recognises_unseen_classes_and_torch_in_torch_out():
    p = make_problem(seed=3)
    model = tk.create("zeroshot", "eszsl", gamma=1.0, lambda_=1.0).fit(p["X_train"], p["y_train"], p["A"])
    pred = model.predict(p["X_unseen"], candidate_classes=p["unseen"])
    assert per_class_accuracy(p["y_unseen"], pred) > 0.9  # chance is 1/4
    scores_t = model.decision_function(torch.as_tensor(p["X_unseen"]), candidate_classes=p["unseen"])
    assert isinstance(scores_t, torch.Tensor)
    np.testing.assert_allclose(scores_t.numpy(), model.decision_function(p["X_unseen"], candidate_classes=p["unseen"]))


def test_bad_hyperparameters_are_named():
    with pytest.raises(tk.ConfigError, match="gamma must be >= 0, got -1"):
        ESZSL(gamma=-1)


def test_closed_form_equals_a_public_numpy_implementation(tmp_path):
    """ESZSL against sbharadwajj/embarrassingly-simple-zero-shot-learning (`main.py`, numpy, reads
    the GBU format), run on a generated GBU directory. That code encodes the ground truth Y in
    {0, 1} where the paper uses {-1, 1}, so the weights are compared for the Y it builds; its
    hyper-parameters are exponents (10**alpha, 10**gamma). Needs a checkout of its `main.py`:
    TRANSFERKIT_ESZSL_REPO=<folder with main.py>."""
    import importlib.util
    import os
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    repo = os.environ.get("TRANSFERKIT_ESZSL_REPO")
    if not repo or not (Path(repo) / "main.py").is_file():
        pytest.skip("set TRANSFERKIT_ESZSL_REPO to a checkout of sbharadwajj/embarrassingly-simple-zero-shot-learning")
    from .test_data import _write_gbu

    p = make_problem(seed=4)
    _write_gbu(tmp_path / "TOY", p)
    spec = importlib.util.spec_from_file_location("public_eszsl", Path(repo) / "main.py")
    module = importlib.util.module_from_spec(spec)
    argv, sys.argv = sys.argv, ["main.py"]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    theirs = module.EsZSL(SimpleNamespace(dataset="TOY", dataset_path=f"{tmp_path}/"))
    for alpha, gamma in [(0, 0), (1, -1), (-2, 2)]:
        W = theirs.train(alpha, gamma)  # [d, a], from trainval features (d x m) and signatures (a x z)
        ours = eszsl_weights(theirs.trainval_vec.T, theirs.gt_trainval, theirs.trainval_sig.T, 10.0**alpha, 10.0**gamma)
        np.testing.assert_allclose(ours, W, rtol=1e-6, atol=1e-9)
