"""A generated zero-shot problem: features are a noisy linear image of the class attributes,
so the attributes of unseen classes carry what is needed to recognise them. There are more
seen classes than attributes, so the seen signatures span the attribute space."""

from __future__ import annotations

import numpy as np


def make_problem(seed: int = 0, n_classes: int = 14, n_unseen: int = 4, n_attributes: int = 8,
                 dim: int = 20, per_class: int = 20, noise: float = 0.3):
    rng = np.random.default_rng(seed)
    while True:
        A = (rng.random((n_classes, n_attributes)) < 0.5).astype(np.float64)
        if len({tuple(r) for r in A}) == n_classes and (A.sum(0) > 0).all():
            break
    P = rng.normal(size=(n_attributes, dim))
    y = np.repeat(np.arange(n_classes), per_class)
    X = A[y] @ P + noise * rng.normal(size=(len(y), dim))
    seen = np.arange(n_classes - n_unseen)
    unseen = np.arange(n_classes - n_unseen, n_classes)
    tr = np.isin(y, seen)
    return {"A": A, "X": X, "y": y, "seen": seen, "unseen": unseen,
            "X_train": X[tr], "y_train": y[tr], "X_unseen": X[~tr], "y_unseen": y[~tr]}
