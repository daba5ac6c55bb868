"""TrAdaBoost (Dai et al., ICML 2007) and TrAdaBoost.R2 (Pardoe & Stone, ICML 2010)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from .._domains import LabelledScore, check_accepts_sample_weight, check_X, split_domains
from .._registry import register
from ..exceptions import ConfigError, DataError

__all__ = ["TrAdaBoost", "TrAdaBoostR2"]

logger = logging.getLogger(__name__)


def _default_classifier() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=3, random_state=0)


def _default_regressor() -> Any:
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(max_depth=3, random_state=0)


class _TransferBoost(BaseEstimator):
    """Shared loop: source weights shrink by ``beta^err``, target weights grow by ``beta_t^-err``."""

    _name = ""
    _need_target_labels = True  # the runners refuse it where no target row has a label

    def _check_params(self) -> None:
        if not (isinstance(self.n_estimators, int) and self.n_estimators >= 2):
            raise ConfigError(f"n_estimators must be an int >= 2, got {self.n_estimators!r}")

    def _setup(self, X: Any, y: Any, sample_domain: Any,
               regression: bool = False) -> tuple[Any, np.ndarray, int, int]:
        self._check_params()
        d = split_domains(X, y, sample_domain, self._name, need_target_labels=self._need_target_labels,
                          regression=regression)
        self.n_features_in_ = d.X.shape[1]
        # source rows first, then the labelled target rows
        order = np.concatenate([np.flatnonzero(d.source), np.flatnonzero(d.target_labelled)])
        return d.X[order], d.y[order], int(d.source.sum()), int(d.target_labelled.sum())

    def _boost(self, X: Any, y: np.ndarray, n: int, m: int, errors) -> None:
        base = self._base_estimator()
        check_accepts_sample_weight(base, self._name)
        w = np.ones(n + m)
        beta = 1.0 / (1.0 + np.sqrt(2.0 * np.log(n) / self.n_estimators))
        self.estimators_, self.betas_, self.target_errors_ = [], [], []
        for t in range(self.n_estimators):
            p = w / w.sum()
            est = clone(base)
            if "random_state" in est.get_params():
                est.set_params(random_state=None if self.random_state is None
                               else self.random_state + t)
            est.fit(X, y, sample_weight=p * (n + m))
            e = errors(est, X, y)  # per-sample error in [0, 1]
            et = float(np.sum(w[n:] * e[n:]) / np.sum(w[n:]))
            # Dai et al. require eps_t < 1/2; clip to keep beta_t in (0, 1)
            et = min(max(et, 1e-10), 0.499)
            bt = et / (1.0 - et)
            self.estimators_.append(est)
            self.betas_.append(bt)
            self.target_errors_.append(et)
            w[:n] *= beta ** e[:n]
            w[n:] *= bt ** (-e[n:])
            w /= w.sum()
        self.source_beta_ = beta
        self.sample_weights_ = w

    def _check_predict_X(self, X: Any) -> Any:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "estimators_")
        X = check_X(X, self._name)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"{self._name}: X has {X.shape[1]} features, fitted with "
                            f"{self.n_features_in_} (shape {X.shape})")
        return X

    def _second_half(self) -> range:
        """Learners ``ceil(N/2)..N`` of the paper (1-based), i.e. indices ``ceil(N/2)-1..N-1``."""
        N = len(self.estimators_)
        return range(int(np.ceil(N / 2)) - 1, N)


@register("instance", "tradaboost")
class TrAdaBoost(LabelledScore, ClassifierMixin, _TransferBoost):
    """TrAdaBoost: boosting that down-weights misfit source rows and up-weights misfit target rows.

    Dai, Yang, Xue & Yu, "Boosting for Transfer Learning", ICML 2007, Algorithm 1: at step
    ``t`` a base learner is fitted on the weighted source + labelled-target rows;
    ``eps_t`` is its weighted error on the target rows, ``beta_t = eps_t/(1 - eps_t)``;
    misclassified source rows are multiplied by ``beta = 1/(1 + sqrt(2 ln n / N))``,
    misclassified target rows by ``beta_t^-1``. The output is the vote of the learners
    ``t = N/2..N`` with weights ``ln(1/beta_t)`` (for two classes this is the paper's rule
    ``prod beta_t^-h_t(x) >= prod beta_t^-1/2``; for more classes the same weighted vote).

    Fit with ``fit(X, y, sample_domain)``: source rows and the *labelled* target rows are
    used (unlabelled target rows, ``y = -1``, are ignored).

    Args:
        estimator: base classifier accepting ``sample_weight`` (default a depth-3 tree).
        n_estimators: boosting steps ``N`` (the paper does not fix one; 10 as in ADAPT).
        random_state: seed given to a base estimator that has ``random_state`` (step ``t``
            gets ``random_state + t``).

    Attributes:
        estimators_, betas_, target_errors_: the learners and their ``beta_t``, ``eps_t``.
        sample_weights_: final weights (source rows first, then labelled target rows).
        classes_: the class labels.
    """

    _name = "TrAdaBoost"

    def __init__(self, estimator: Any = None, *, n_estimators: int = 10,
                 random_state: int | None = 0):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _base_estimator(self) -> Any:
        return _default_classifier() if self.estimator is None else self.estimator

    def fit(self, X: Any, y: Any, sample_domain: Any = None) -> TrAdaBoost:
        Xf, yf, n, m = self._setup(X, y, sample_domain)
        self.classes_ = np.unique(yf)
        self._boost(Xf, yf, n, m, lambda est, A, b: (est.predict(A) != b).astype(float))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Normalised weighted votes of the second-half learners."""
        X = self._check_predict_X(X)
        votes = np.zeros((X.shape[0], self.classes_.size))
        for t in self._second_half():
            pred = self.estimators_[t].predict(X)
            idx = np.searchsorted(self.classes_, pred)
            votes[np.arange(X.shape[0]), idx] += np.log(1.0 / self.betas_[t])
        tot = votes.sum(axis=1, keepdims=True)
        return np.divide(votes, tot, out=np.full_like(votes, 1.0 / self.classes_.size),
                         where=tot > 0)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@register("instance", "tradaboost_r2")
class TrAdaBoostR2(LabelledScore, RegressorMixin, _TransferBoost):
    """TrAdaBoost.R2: TrAdaBoost for regression with AdaBoost.R2's adjusted errors.

    Pardoe & Stone, "Boosting for Regression Transfer", ICML 2010, Sec. 3 (TrAdaBoost.R2,
    the direct extension; their two-stage variant is not implemented): per-sample error
    ``e_i = |y_i - h_t(x_i)| / max_j |y_j - h_t(x_j)|`` (linear loss, Drucker 1997);
    ``eps_t`` the weighted target error, ``beta_t = eps_t/(1 - eps_t)``; source rows are
    multiplied by ``beta^e_i``, target rows by ``beta_t^-e_i``; the prediction is the
    weighted median of ``h_t``, ``t = N/2..N``, with weights ``ln(1/beta_t)``.

    Unlabelled target rows have ``y = NaN`` (``-1`` is a valid regression target).

    Args:
        estimator: base regressor accepting ``sample_weight`` (default a depth-3 tree).
        n_estimators: boosting steps ``N`` (10 as in ADAPT).
        random_state: seed given to a base estimator that has ``random_state``.
    """

    _name = "TrAdaBoostR2"

    def __init__(self, estimator: Any = None, *, n_estimators: int = 10,
                 random_state: int | None = 0):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _base_estimator(self) -> Any:
        return _default_regressor() if self.estimator is None else self.estimator

    def fit(self, X: Any, y: Any, sample_domain: Any = None) -> TrAdaBoostR2:
        y = None if y is None else np.asarray(y, dtype=float)
        Xf, yf, n, m = self._setup(X, y, sample_domain, regression=True)

        def errors(est: Any, A: Any, b: np.ndarray) -> np.ndarray:
            r = np.abs(est.predict(A) - b)
            mx = r.max()
            return r / mx if mx > 0 else r

        self._boost(Xf, yf, n, m, errors)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Weighted median of the second-half learners' predictions."""
        X = self._check_predict_X(X)
        ts = list(self._second_half())
        preds = np.column_stack([self.estimators_[t].predict(X) for t in ts])
        wts = np.array([np.log(1.0 / self.betas_[t]) for t in ts])
        order = np.argsort(preds, axis=1)
        cw = np.cumsum(wts[order], axis=1)
        k = (cw >= 0.5 * cw[:, -1:]).argmax(axis=1)
        return preds[np.arange(X.shape[0]), order[np.arange(X.shape[0]), k]]
