"""Model selection without target labels, and the proxy A-distance.

Scorers follow one convention: **higher is better**, so a user picks ``argmax`` over
candidates (hyper-parameters, checkpoints). Each takes keyword arrays (numpy or torch)
and checks that the ones it needs are present::

    scorer = transferkit.create("scorer", "snd")
    scorer(probs_t=softmax_outputs_on_target)

* ``entropy``: minus the mean prediction entropy on the target (Morerio et al., ICLR 2018).
* ``snd``: soft neighbourhood density (Saito et al., ICCV 2021).
* ``iwcv``: importance-weighted validation loss (Sugiyama et al., JMLR 2007) with the
  density ratio from a source/target domain classifier, negated.
* ``dev``: deep embedded validation (You et al., ICML 2019), negated risk.

:func:`proxy_a_distance` is the diagnostic of Ben-David et al. (2007) / Ganin et al. (2016,
Section 5.1.5): ``2 (1 - 2 err)`` of a linear classifier telling source from target.
"""

from __future__ import annotations

import numpy as np

from .._registry import register
from ..exceptions import DataError

__all__ = [
    "DeepEmbeddedValidation",
    "ImportanceWeightedValidation",
    "PredictionEntropy",
    "SoftNeighborhoodDensity",
    "domain_density_ratio",
    "proxy_a_distance",
]


def _arr(name: str, value, ndim: int | None = None) -> np.ndarray:
    if value is None:
        raise DataError(f"this scorer needs '{name}', which was not given")
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    a = np.asarray(value, dtype=np.float64)
    if a.shape[0] == 0:
        raise DataError(f"'{name}' is empty (0 samples)")
    if ndim is not None and a.ndim != ndim:
        raise DataError(f"'{name}' must have {ndim} dimensions, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise DataError(f"'{name}' contains NaN or inf")
    return a


def _entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-12, None))).sum(1)


@register("scorer", "entropy")
class PredictionEntropy:
    """Minus the mean entropy of the target predictions (higher = more confident)."""

    def __call__(self, *, probs_t, **_: object) -> float:
        return float(-_entropy(_arr("probs_t", probs_t, 2)).mean())

    def __repr__(self) -> str:
        return "PredictionEntropy()"


@register("scorer", "snd")
class SoftNeighborhoodDensity:
    """Soft neighbourhood density: entropy of softmax-normalised target similarities.

    Saito, Kim, Teterwak, Sclaroff, Darrell, Saenko, "Tune it the Right Way: Unsupervised
    Validation of Domain Adaptation via Soft Neighborhood Density", ICCV 2021, eq. 1-3:
    L2-normalise the target softmax outputs, take their cosine similarities without the
    diagonal, apply a row softmax at temperature ``tau`` and return the mean row entropy.

    Args:
        temperature: ``tau``, 0.05 in the paper.
    """

    def __init__(self, temperature: float = 0.05):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def __call__(self, *, probs_t, **_: object) -> float:
        p = _arr("probs_t", probs_t, 2)
        if p.shape[0] < 2:
            raise DataError("SND needs at least 2 target samples")
        p = p / np.linalg.norm(p, axis=1, keepdims=True).clip(1e-12)
        s = p @ p.T / self.temperature
        np.fill_diagonal(s, -np.inf)
        s = s - s.max(1, keepdims=True)
        e = np.exp(s)
        q = e / e.sum(1, keepdims=True)
        return float(_entropy(q).mean())

    def __repr__(self) -> str:
        return f"SoftNeighborhoodDensity(temperature={self.temperature})"


def domain_density_ratio(features_s, features_t, C: float = 1.0, seed: int = 0) -> np.ndarray:
    """``w(x) = p_t(x) / p_s(x)`` at each source point from a logistic source/target classifier.

    With ``P(target | x)`` from the classifier, ``w = n_s/n_t * P(t|x) / P(s|x)`` (Bickel et
    al., ICML 2007; used by IWCV and DEV). Features are standardised first.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    fs, ft = _arr("features_s", features_s, 2), _arr("features_t", features_t, 2)
    if fs.shape[1] != ft.shape[1]:
        raise DataError(f"features_s has dimension {fs.shape[1]}, features_t {ft.shape[1]}")
    X = np.concatenate([fs, ft])
    d = np.r_[np.zeros(len(fs)), np.ones(len(ft))]
    X = StandardScaler().fit_transform(X)
    clf = LogisticRegression(C=C, max_iter=1000, random_state=seed).fit(X, d)
    pt = np.clip(clf.predict_proba(X[: len(fs)])[:, 1], 1e-6, 1 - 1e-6)
    return (len(fs) / len(ft)) * pt / (1 - pt)


def _per_sample_loss(probs_s, y_s) -> np.ndarray:
    p = _arr("probs_s", probs_s, 2)
    y = np.asarray(y_s.detach().cpu().numpy() if hasattr(y_s, "detach") else y_s).astype(int)
    if y.shape[0] != p.shape[0]:
        raise DataError(f"{y.shape[0]} source labels for {p.shape[0]} source predictions")
    return -np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None))


@register("scorer", "iwcv")
class ImportanceWeightedValidation:
    """Minus the importance-weighted source validation loss ``mean_i w_i l_i``.

    Sugiyama, Krauledat, Müller, "Covariate Shift Adaptation by Importance Weighted Cross
    Validation", JMLR 8, 2007; density ratio ``w`` from a domain classifier
    (:func:`domain_density_ratio`). Inputs: held-out source ``features_s``, ``probs_s``,
    ``y_s`` and target ``features_t``.

    Args:
        C: inverse L2 strength of the logistic domain classifier.
    """

    def __init__(self, C: float = 1.0):
        if not C > 0:
            raise ValueError(f"C must be > 0, got {C}")
        self.C = float(C)

    def __call__(self, *, features_s, probs_s, y_s, features_t, **_: object) -> float:
        w = domain_density_ratio(features_s, features_t, self.C)
        return float(-(w * _per_sample_loss(probs_s, y_s)).mean())

    def __repr__(self) -> str:
        return f"ImportanceWeightedValidation(C={self.C})"


@register("scorer", "dev")
class DeepEmbeddedValidation(ImportanceWeightedValidation):
    """Minus the deep-embedded-validation risk (You, Wang, Long, Jordan, ICML 2019, Alg. 1).

    With weighted losses ``L_i = w_i l_i`` the control variate ``eta = -Cov(L, w) / Var(w)``
    gives the risk ``mean(L) + eta * mean(w) - eta``, which lowers the variance of IWCV.

    Args:
        C: inverse L2 strength of the logistic domain classifier.
    """

    def __call__(self, *, features_s, probs_s, y_s, features_t, **_: object) -> float:
        w = domain_density_ratio(features_s, features_t, self.C)
        L = w * _per_sample_loss(probs_s, y_s)
        var = np.var(w, ddof=1) if len(w) > 1 else 0.0
        eta = -np.cov(np.stack([L, w]))[0, 1] / var if var > 0 else 0.0
        return float(-(L.mean() + eta * w.mean() - eta))

    def __repr__(self) -> str:
        return f"DeepEmbeddedValidation(C={self.C})"


def proxy_a_distance(features_s, features_t, C: float = 1.0, seed: int = 0) -> float:
    """Proxy A-distance ``2 (1 - 2 err)`` of a linear SVM telling source from target.

    Ben-David, Blitzer, Crammer, Pereira, NIPS 2007; Ganin et al., JMLR 2016, Section 5.1.5.
    The classifier (``LinearSVC``, standardised features) is trained on a random half of the
    pooled samples and ``err`` is its error on the other half. 0 means indistinguishable
    domains, 2 perfectly separable. ``err`` above 0.5 is clipped (distance >= 0).
    """
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    fs, ft = _arr("features_s", features_s, 2), _arr("features_t", features_t, 2)
    if fs.shape[1] != ft.shape[1]:
        raise DataError(f"features_s has dimension {fs.shape[1]}, features_t {ft.shape[1]}")
    if len(fs) < 2 or len(ft) < 2:
        raise DataError("the proxy A-distance needs at least 2 samples per domain")
    X = np.concatenate([fs, ft])
    d = np.r_[np.zeros(len(fs)), np.ones(len(ft))]
    rng = np.random.default_rng(seed)
    train = np.zeros(len(X), bool)
    for dom in (0, 1):  # stratified halves
        idx = rng.permutation(np.flatnonzero(d == dom))
        train[idx[: len(idx) // 2]] = True
    scaler = StandardScaler().fit(X[train])
    clf = LinearSVC(C=C, max_iter=5000, random_state=seed)
    clf.fit(scaler.transform(X[train]), d[train])
    err = float((clf.predict(scaler.transform(X[~train])) != d[~train]).mean())
    return 2.0 * (1.0 - 2.0 * min(err, 0.5))
