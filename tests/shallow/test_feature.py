"""CORAL, SA, TCA, Feature Augmentation, DAMA: references and properties."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import rbf_kernel

from transferkit.feature import (
    CORAL,
    TCA,
    FeatureAugmentation,
    ManifoldAlignment,
    SubspaceAlignment,
    pack_domains,
    pack_heterogeneous,
    tca_components,
)


def _domains(n_s=120, n_t=100, d=6, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_s, d)) @ rng.normal(size=(d, d))
    Xt = rng.normal(size=(n_t, d)) @ rng.normal(size=(d, d)) + 1.0
    ys = (Xs[:, 0] > 0).astype(int)
    return Xs, ys, Xt


def test_coral_matches_skada_on_centred_inputs():
    skada = pytest.importorskip("skada")
    Xs, ys, Xt = _domains(100, 100)
    Xs, Xt = Xs - Xs.mean(0), Xt - Xt.mean(0)
    X, y, sd = pack_domains(Xs, ys, Xt)
    ours = CORAL(reg=0.0).fit(X, y, sd).transform(X, sd)
    ref = skada.CORALAdapter(reg=None).fit(X, y, sample_domain=sd)
    theirs = ref.transform(X, sample_domain=sd, allow_source=True)
    np.testing.assert_allclose(ours, theirs, atol=1e-8, rtol=0)


def test_coral_recoloured_source_has_the_target_covariance():
    Xs, ys, Xt = _domains(200, 150)
    X, y, sd = pack_domains(Xs, ys, Xt)
    Z = CORAL(reg=0.0).fit(X, y, sd).transform(Xs, np.ones(len(Xs)))
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.cov(Xt, rowvar=False), atol=1e-8)
    np.testing.assert_allclose(Z.mean(0), Xt.mean(0), atol=1e-10)


def test_subspace_alignment_matches_skada():
    skada = pytest.importorskip("skada")
    Xs, ys, Xt = _domains()
    X, y, sd = pack_domains(Xs, ys, Xt)
    ours = SubspaceAlignment(n_components=3).fit(X, y, sd).transform(X, sd)
    ref = skada.SubspaceAlignmentAdapter(n_components=3).fit(X, y, sample_domain=sd)
    theirs = ref.transform(X, sample_domain=sd, allow_source=True)
    # PCA signs may differ: compare the projectors onto each embedding's column space
    for a, b in [(ours, theirs), (ours[:120], theirs[:120]), (ours[120:], theirs[120:])]:
        Pa, Pb = a @ np.linalg.pinv(a), b @ np.linalg.pinv(b)
        np.testing.assert_allclose(Pa, Pb, atol=1e-8)
    # and the same 1-NN labels on the target
    from sklearn.neighbors import KNeighborsClassifier

    pa = KNeighborsClassifier(1).fit(ours[:120], ys).predict(ours[120:])
    pb = KNeighborsClassifier(1).fit(theirs[:120], ys).predict(theirs[120:])
    assert (pa == pb).all()


def test_sa_source_basis_is_mapped_onto_the_target_basis():
    Xs, ys, Xt = _domains()
    X, y, sd = pack_domains(Xs, ys, Xt)
    sa = SubspaceAlignment(n_components=4).fit(X, y, sd)
    Ps, Pt = sa.components_source_.T, sa.components_target_.T
    np.testing.assert_allclose(sa.M_, Ps.T @ Pt)
    # Fernando et al.: M minimises ||Ps M - Pt||_F, so its residual is orthogonal to Ps
    np.testing.assert_allclose(Ps.T @ (Ps @ sa.M_ - Pt), 0, atol=1e-12)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("dense_below", [10_000, 0])  # dense eigh / matrix-free Lanczos
def test_tca_components_match_the_generalised_eigenproblem(kernel, dense_below):
    """Pan et al. eq. 7 solved densely by scipy: leading eigenvectors of (KLK + mu I)^-1 KHK."""
    n_s, n_t = 40, 30
    Xs, ys, Xt = _domains(n_s, n_t, 5)
    X, y, sd = pack_domains(Xs, ys, Xt)
    mu, m = 0.5, 4
    tca = TCA(n_components=m, mu=mu, kernel=kernel).fit(X, y, sd)
    if dense_below == 0:
        tca.eigenvalues_, tca.components_ = tca_components(
            tca._kernel(tca.X_fit_, tca.X_fit_), n_s, mu, m, dense_below=0)
    Xa = np.vstack([Xs, Xt])
    K = Xa @ Xa.T if kernel == "linear" else rbf_kernel(Xa, gamma=1 / 5)
    n = n_s + n_t
    e = np.r_[np.full(n_s, 1 / n_s), np.full(n_t, -1 / n_t)]
    H = np.eye(n) - 1 / n
    vals, vecs = scipy.linalg.eigh(K @ H @ K, K @ np.outer(e, e) @ K + mu * np.eye(n))
    W = vecs[:, ::-1][:, :m]
    np.testing.assert_allclose(tca.eigenvalues_, vals[::-1][:m], rtol=1e-7)
    # same subspace (eigenvectors are defined up to sign)
    Pa = tca.components_ @ np.linalg.pinv(tca.components_)
    Pb = W @ np.linalg.pinv(W)
    np.testing.assert_allclose(Pa, Pb, atol=1e-6)


def test_tca_shrinks_the_mean_discrepancy():
    Xs, ys, Xt = _domains(150, 150, 5)
    X, y, sd = pack_domains(Xs, ys, Xt)
    Z = TCA(n_components=3, mu=1.0, kernel="linear").fit_transform(X, y, sd)
    Zs, Zt = Z[:150], Z[150:]

    def gap(A, B):  # mean gap relative to the spread
        return np.linalg.norm(A.mean(0) - B.mean(0)) / np.sqrt(np.vstack([A, B]).var(0).sum())

    assert gap(Zs, Zt) < 0.5 * gap(Xs, Xt)


def test_feature_augmentation_blocks_dense_and_sparse():
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    ys, yt = rng.integers(0, 2, 30), np.r_[rng.integers(0, 2, 5), np.full(15, -1)]
    X, y, sd = pack_domains(Xs, ys, Xt, yt)
    fa = FeatureAugmentation(LogisticRegression()).fit(X, y, sd)
    Z = fa.transform(X, sd)
    np.testing.assert_array_equal(Z[:30], np.hstack([Xs, Xs, 0 * Xs]))
    np.testing.assert_array_equal(Z[30:], np.hstack([Xt, 0 * Xt, Xt]))
    # the base estimator saw source rows + the 5 labelled target rows only
    ref = LogisticRegression().fit(np.vstack([Z[:30], Z[30:35]]), np.r_[ys, yt[:5]])
    np.testing.assert_allclose(fa.predict_proba(Xt), ref.predict_proba(Z[30:]))
    fs = FeatureAugmentation(LogisticRegression()).fit(sp.csr_matrix(X), y, sd)
    assert sp.issparse(fs.transform(sp.csr_matrix(X), sd))
    np.testing.assert_allclose(fs.predict_proba(sp.csr_matrix(Xt)), fa.predict_proba(Xt), rtol=1e-6)


def _hetero(seed=0):
    rng = np.random.default_rng(seed)
    Zs = rng.normal(size=(200, 3))
    Zt = rng.normal(size=(150, 3))
    ys, yt = (Zs[:, 0] > 0).astype(int), (Zt[:, 0] > 0).astype(int)
    Xs = Zs @ rng.normal(size=(3, 5))  # 5 source features
    Xt = Zt @ rng.normal(size=(3, 8))  # 8 different target features
    lab = np.full(150, -1)
    lab[:10] = yt[:10]
    return Xs, ys, Xt, yt, lab


def test_dama_aligns_classes_across_heterogeneous_feature_spaces():
    Xs, ys, Xt, yt, lab = _hetero()
    X, y, sd = pack_heterogeneous(Xs, ys, Xt, lab)
    assert X.shape == (350, 13)
    dama = ManifoldAlignment(LogisticRegression(), n_source_features=5, n_components=2,
                             mu=0.1).fit(X, y, sd)
    F = dama.projection_
    assert F.shape == (13, 2)
    Zs, Zt = Xs @ F[:5], Xt @ F[5:]
    # same-class rows of the two domains land on the same side: class means agree in sign
    for c in (0, 1):
        assert np.sign(Zs[ys == c, 0].mean()) == np.sign(Zt[yt == c, 0].mean())
    acc = dama.score(Xt[10:], yt[10:])
    only = LogisticRegression().fit(Xt[:10], yt[:10]).score(Xt[10:], yt[10:])
    assert acc > only + 0.05  # the 200 mapped source rows help the 10 labelled target rows
    # full block layout and target-only columns give the same predictions
    np.testing.assert_array_equal(dama.predict(X[200:]), dama.predict(Xt))


def test_dama_rejects_a_wrong_split_of_the_columns():
    Xs, ys, Xt, yt, lab = _hetero()
    X, y, sd = pack_heterogeneous(Xs, ys, Xt, lab)
    from transferkit import DataError

    with pytest.raises(DataError, match="n_source_features=13"):
        ManifoldAlignment(n_source_features=13).fit(X, y, sd)


def test_dama_gives_the_same_map_on_sparse_input():
    Xs, ys, Xt, yt, lab = _hetero()
    X, y, sd = pack_heterogeneous(Xs, ys, Xt, lab)
    a = ManifoldAlignment(n_source_features=5, n_components=2, mu=0.1).fit(X, y, sd)
    b = ManifoldAlignment(n_source_features=5, n_components=2, mu=0.1).fit(sp.csr_matrix(X), y, sd)
    np.testing.assert_allclose(np.abs(a.projection_), np.abs(b.projection_), atol=1e-10)


def test_dama_skips_the_trivial_direction_that_maps_every_row_to_one_value():
    # a constant column in both domains: f = that column in each block maps every row to 1,
    # so every term of (mu A + B) / C is 0 (0/0). The paper takes the smallest *non-trivial*
    # eigenvectors; with a ridge under C this direction would come first with eigenvalue 0.
    Xs, ys, Xt, yt, lab = _hetero()
    Xs, Xt = np.hstack([Xs, np.ones((len(Xs), 1))]), np.hstack([Xt, np.ones((len(Xt), 1))])
    X, y, sd = pack_heterogeneous(Xs, ys, Xt, lab)
    dama = ManifoldAlignment(LogisticRegression(), n_source_features=6, n_components=2,
                             mu=0.1).fit(X, y, sd)
    assert dama.n_trivial_ == 1
    Z = np.vstack([Xs @ dama.projection_[:6], Xt @ dama.projection_[6:]])
    assert np.all(Z.std(axis=0) > 0.5)  # every kept direction varies over the rows
    acc = dama.score(Xt[10:], yt[10:])
    only = LogisticRegression().fit(Xt[:10], yt[:10]).score(Xt[10:], yt[10:])
    assert acc > only + 0.05
