"""Shallow methods (families ``instance``, ``feature``, ``parameter``) inside the runners.

A method name registered in one of these families is a scikit-learn estimator fitted with
``fit(X, y, sample_domain)`` on flattened arrays; its ``estimator`` parameter names the base
learner (``logistic_regression``, ``linear_svm``, ``1nn``, ``decision_tree``,
``random_forest``, ``ridge``). Its baselines are the same base learner trained on the source
only (``source_only:<base>``) and, with labelled target samples, on those only
(``target_only:<base>``), so a verdict always compares like with like.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError, DataError

__all__ = ["SHALLOW_FAMILIES", "BASE_ESTIMATORS", "shallow_family", "base_estimator", "is_shallow_baseline",
           "shallow_baseline_names", "fit_shallow", "is_heterogeneous", "check_heterogeneous",
           "needs_target_labels"]

SHALLOW_FAMILIES = ("instance", "feature", "parameter")
BASE_ESTIMATORS = ("logistic_regression", "linear_svm", "1nn", "decision_tree", "random_forest", "ridge")
DEFAULT_BASE = "logistic_regression"


def shallow_family(name: str) -> str | None:
    """The shallow family ``name`` is registered in, else None (a deep method or unknown)."""
    from .._registry import _REGISTRY, _ensure_loaded

    _ensure_loaded()
    for fam in SHALLOW_FAMILIES:
        if name in _REGISTRY.get(fam, {}):
            return fam
    return None


def _flag(name: str, attr: str) -> bool:
    """A class flag of shallow method ``name``'s estimator (False for any other name)."""
    from .._registry import _REGISTRY

    fam = shallow_family(name)
    return fam is not None and bool(getattr(_REGISTRY[fam][name].factory, attr, False))


def is_heterogeneous(name: str) -> bool:
    """Whether shallow method ``name`` accepts source and target with different features."""
    return _flag(name, "_heterogeneous")


def needs_target_labels(name: str) -> bool:
    """Whether shallow method ``name`` needs some labelled target rows (FA, DAMA, TrAdaBoost,
    SER/STRUT): the unlabelled-target setting of ``adapt`` cannot run it."""
    return _flag(name, "_need_target_labels")


def check_heterogeneous(names: list[str], source_shape: tuple, target_shape: tuple) -> None:
    """Refuse, naming both shapes, every method that needs the same features in both domains."""
    bad = [n for n in names if not is_heterogeneous(n)]
    if bad:
        from .._registry import _REGISTRY, _ensure_loaded

        _ensure_loaded()
        ok = sorted(n for fam in SHALLOW_FAMILIES for n in _REGISTRY.get(fam, {}) if is_heterogeneous(n))
        raise DataError(f"source and target have different features (X_source {tuple(source_shape)}, "
                        f"X_target {tuple(target_shape)}): method(s) {', '.join(map(repr, bad))} need "
                        f"the same features in both; only the heterogeneous methods "
                        f"({', '.join(ok)}) accept different feature counts")


def base_estimator(name: str, seed: int = 0) -> Any:
    """A fresh scikit-learn base learner by name."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier

    if name == "logistic_regression":
        return LogisticRegression(max_iter=2000)
    if name == "linear_svm":
        return LinearSVC(C=1.0, max_iter=5000)
    if name == "1nn":
        return KNeighborsClassifier(n_neighbors=1)
    if name == "decision_tree":
        return DecisionTreeClassifier(random_state=seed)
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=seed)
    if name == "ridge":
        return Ridge()
    from ..exceptions import suggest

    raise ConfigError(f"unknown base estimator '{name}'.{suggest(name, BASE_ESTIMATORS)} "
                      f"Valid: {', '.join(BASE_ESTIMATORS)}.")


#: base learners a method needs by construction (tree transfer edits a tree, or a forest's trees)
_METHOD_BASE = {"tree": "decision_tree", "forest": "random_forest", "tradaboost_r2": "ridge"}


def base_name(params: dict[str, Any], method: str | None = None) -> str:
    name = params.get("estimator", _METHOD_BASE.get(method or "", DEFAULT_BASE))
    if not isinstance(name, str):
        raise ConfigError(f"a shallow method's 'estimator' parameter must name a base learner "
                          f"({', '.join(BASE_ESTIMATORS)}), got {name!r}")
    return name


def is_shallow_baseline(name: str) -> bool:
    return name.startswith(("source_only:", "target_only:"))


def shallow_baseline_names(methods: list[Any], with_target: bool, with_source: bool = True) -> list[str]:
    """The baselines the listed shallow methods need, in order (``with_source=False``: source
    and target have different features, so a learner on the source alone cannot run)."""
    bases = list(dict.fromkeys(base_name(m.params, m.name) for m in methods if shallow_family(m.name)))
    out = [f"source_only:{b}" for b in bases] if with_source else []
    if with_target:
        out += [f"target_only:{b}" for b in bases]
    return out


def build(name: str, params: dict[str, Any], seed: int) -> Any:
    from .._registry import create

    p = dict(params)
    p["estimator"] = base_estimator(base_name(params, name), seed)
    return create(shallow_family(name), name, **p)


def validate(name: str, params: dict[str, Any]) -> None:
    """Refuse, before anything runs, bad parameters and a base learner the method cannot use."""
    from ._common import check_params

    check_params(build(name, params, 0))
    if shallow_family(name) == "instance" and name not in ("tradaboost", "tradaboost_r2"):
        from .._domains import check_accepts_sample_weight

        check_accepts_sample_weight(base_estimator(base_name(params, name)), name)


def _flat(X: np.ndarray) -> np.ndarray:
    return np.asarray(X, np.float64).reshape(len(X), -1)


def fit_shallow(name: str, params: dict[str, Any], seed: int, Xs: np.ndarray, ys: np.ndarray,
                Xt: np.ndarray, yt: np.ndarray | None, X_test: np.ndarray, y_test: np.ndarray,
                run_dir: Path | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit a shallow method (or a ``source_only:``/``target_only:`` base learner) and return the
    per-test-sample correctness and what the report shows of it (weights, effective size)."""
    from .._domains import pack_domains

    Xs, Xt, X_test = _flat(Xs), _flat(Xt), _flat(X_test)
    extra: dict[str, Any] = {}
    if is_shallow_baseline(name):
        kind, base = name.split(":", 1)
        est = base_estimator(base, seed)
        if kind == "source_only":
            est.fit(Xs, ys)
        else:
            if yt is None:
                raise ConfigError("target_only needs labelled target samples")
            est.fit(Xt, yt)
    else:
        est = build(name, params, seed)
        if is_heterogeneous(name):  # block layout [[Xs, 0], [0, Xt]]; predicts from target columns
            from .._domains import pack_heterogeneous

            est.set_params(n_source_features=Xs.shape[1])
            X, y, sd = pack_heterogeneous(Xs, ys, Xt, yt)
        else:
            X, y, sd = pack_domains(Xs, ys, Xt, yt)
        est.fit(X, y, sample_domain=sd)
        w = getattr(est, "source_weights_", None)
        if w is not None:
            extra["effective_sample_size"] = float(est.effective_sample_size_)
            extra["source_samples"] = int(len(Xs))
            if run_dir is not None:
                run_dir.mkdir(parents=True, exist_ok=True)
                np.save(run_dir / "source_weights.npy", np.asarray(w, np.float32))
                extra["weights"] = "source_weights.npy"
    correct = (np.asarray(est.predict(X_test)) == np.asarray(y_test)).astype(np.float32)
    return correct, extra


def weights_figure(path: Path, Xs: np.ndarray, Xt: np.ndarray, weights: np.ndarray, title: str) -> None:
    """Instance weights against a 2-D PCA projection of source and target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    Xs, Xt = _flat(Xs), _flat(Xt)
    z = PCA(2, random_state=0).fit(np.vstack([Xs, Xt]))
    zs, zt = z.transform(Xs), z.transform(Xt)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.scatter(*zt.T, s=6, c="#bbbbbb", label="target")
    sc = ax.scatter(*zs.T, s=8 + 40 * weights / max(float(np.max(weights)), 1e-12), c=weights, cmap="viridis",
                    label="source (size, colour = weight)")
    fig.colorbar(sc, ax=ax, label="instance weight")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
