"""Shared ``fit``/``transform`` of the feature-transfer estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._domains import DomainEstimator, Domains, check_X, fit_weighted, split_domains
from ..exceptions import DataError


class FeatureTransfer(DomainEstimator):
    """Learn a map for source rows and one for target rows, then fit ``estimator`` on mapped rows.

    Subclasses implement ``_fit_map(d)`` and ``_map(X, source)``. The base estimator is fitted
    on the mapped source rows plus any labelled target rows (mapped as target rows);
    ``predict`` maps its rows as target rows. ``transform(X, sample_domain=None)`` maps rows
    with ``sample_domain >= 0`` as source rows and the others (all, by default) as target rows.
    """

    _name = ""
    _sparse_ok = False
    _need_target_labels = False

    def _fit_map(self, d: Domains) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _map(self, X: Any, source: bool) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self) -> None:
        pass

    def fit(self, X: Any, y: Any = None, sample_domain: Any = None) -> FeatureTransfer:
        self._check_params()
        d = split_domains(X, y, sample_domain, self._name,
                          need_source_labels=self.estimator is not None,
                          need_target_labels=self._need_target_labels,
                          allow_sparse=self._sparse_ok)
        self.n_features_in_ = d.X.shape[1]
        self._fit_map(d)
        self.estimator_ = None
        if self.estimator is not None:
            Zs = self._map(d.Xs, True)
            if d.target_labelled.any():
                Zt = self._map(d.X[d.target_labelled], False)
                Z = sp.vstack([Zs, Zt], format="csr") if sp.issparse(Zs) else np.vstack([Zs, Zt])
                yz = np.concatenate([d.ys, d.y[d.target_labelled]])
            else:
                Z, yz = Zs, d.ys
            self.estimator_ = fit_weighted(self.estimator, Z, yz, None, self._name)
        return self

    def _to_target(self, X: Any) -> Any:
        return self._map(X if self._sparse_ok or not sp.issparse(X) else X.toarray(), False)

    def transform(self, X: Any, sample_domain: Any = None) -> Any:
        """Map rows into the common space: source rows (``sample_domain >= 0``) as source."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "n_features_in_")
        X = check_X(X, self._name, allow_sparse=self._sparse_ok)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"{self._name}: X has {X.shape[1]} features, fitted with "
                            f"{self.n_features_in_} (shape {X.shape})")
        if sample_domain is None:
            return self._map(X, False)
        sd = np.asarray(sample_domain)
        if sd.shape != (X.shape[0],):
            raise DataError(f"{self._name}: sample_domain must have shape ({X.shape[0]},), "
                            f"got {sd.shape}")
        src = sd >= 0
        parts = {}
        for flag in (True, False):
            rows = np.flatnonzero(src == flag)
            if rows.size:
                parts[flag] = (rows, self._map(X[rows], flag))
        first = next(iter(parts.values()))[1]
        if sp.issparse(first):
            out = sp.lil_matrix((X.shape[0], first.shape[1]))
            for rows, Z in parts.values():
                out[rows] = Z
            return out.tocsr()
        out = np.empty((X.shape[0], first.shape[1]))
        for rows, Z in parts.values():
            out[rows] = Z
        return out

    def fit_transform(self, X: Any, y: Any = None, sample_domain: Any = None) -> Any:
        return self.fit(X, y, sample_domain).transform(X, sample_domain)
