"""Self-taught learning with sparse coding (Raina, Battle, Lee, Packer & Ng, ICML 2007)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import MiniBatchDictionaryLearning, sparse_encode

from .._registry import register
from ..exceptions import ConfigError, DataError
from ._patches import as_images, dense_patches, normalize_patches, sample_patches

logger = logging.getLogger(__name__)

__all__ = ["SelfTaughtFeatures"]

_ALGORITHMS = ("omp", "lasso_lars", "lasso_cd", "lars", "threshold")


@register("selftaught", "sparse_coding")
class SelfTaughtFeatures(TransformerMixin, BaseEstimator):
    """Sparse-coding features learned on unlabelled source images, for any classifier.

    Raina, Battle, Lee, Packer & Ng, "Self-taught Learning: Transfer Learning from Unlabeled
    Data", ICML 2007, Alg. 1: learn bases ``b`` on unlabelled data by sparse coding
    (their Eq. 1, ``min ||x - sum_j a_j b_j||^2 + beta ||a||_1`` with ``||b_j|| <= 1``), then
    represent each labelled input by its sparse activations (Eq. 2) and train any classifier on
    them. Images larger than the bases are handled patch-wise: ``fit`` learns the dictionary on
    ``n_patches`` random ``patch_size`` patches of the source images (scikit-learn
    ``MiniBatchDictionaryLearning``, penalty ``alpha``); ``transform`` codes every patch of
    each target image on a grid of step ``stride`` and pools the codes over a
    ``pool_grid`` of image regions, keeping positive and negative parts apart (sum pooling of
    ``max(a, 0)`` and ``max(-a, 0)``; the patch-and-pool pipeline of Coates, Lee & Ng, AISTATS
    2011). Patches are contrast-normalised (mean removed, divided by
    ``sqrt(var + norm_eps)``) before learning and coding.

    Args:
        n_components: dictionary atoms (bases). patch_size: ``(ph, pw)``. stride: step of the
            dense patch grid at transform time. pool_grid: ``(rows, cols)`` pooling regions.
        alpha: the sparsity penalty of dictionary learning (``beta`` of Eq. 1).
        transform_algorithm: the encoder of ``sklearn.decomposition.sparse_encode``:
            ``"threshold"`` (default: soft thresholding ``sign(Dx) max(|Dx| - alpha, 0)``, one
            matrix product; Coates & Ng, ICML 2011, found it competitive with L1 coding; in our
            USPS check it did no worse than OMP at a small fraction of the coding time), ``"omp"`` (greedy,
            ``transform_n_nonzero_coefs`` atoms), ``"lasso_lars"``/``"lasso_cd"`` (the L1
            problem of Eq. 2, penalty ``transform_alpha``), ``"lars"``.
        transform_n_nonzero_coefs, transform_alpha: the encoder's sparsity.
        n_patches, batch_size, max_iter: dictionary learning budget.
        image_shape: ``(h, w)`` when images come as flat rows. norm_eps: see above.
        random_state: seed of the patch sampling and of dictionary learning.

    ``fit(X_unlabelled)`` takes ``(n, h, w)``, flat rows with ``image_shape``, or a list of
    images of different sizes (colour is averaged to grey); ``transform(X)`` the first two.

    Attributes:
        dictionary_: ``n_components x ph*pw`` unit-norm atoms. n_features_out_.
    """

    def __init__(self, n_components: int = 64, *, patch_size: tuple[int, int] = (8, 8),
                 stride: int = 1, pool_grid: tuple[int, int] = (3, 3), alpha: float = 1.0,
                 transform_algorithm: str = "threshold", transform_n_nonzero_coefs: int | None = 5,
                 transform_alpha: float | None = 0.25, n_patches: int = 20000,
                 batch_size: int = 256, max_iter: int = 3,
                 image_shape: tuple[int, int] | None = None, norm_eps: float = 0.1,
                 random_state: int | None = None):
        self.n_components = n_components
        self.patch_size = patch_size
        self.stride = stride
        self.pool_grid = pool_grid
        self.alpha = alpha
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.n_patches = n_patches
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.image_shape = image_shape
        self.norm_eps = norm_eps
        self.random_state = random_state

    def _check(self) -> None:
        for key in ("n_components", "stride", "n_patches", "batch_size", "max_iter"):
            v = getattr(self, key)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{key} must be an int >= 1, got {v!r}")
        for key in ("patch_size", "pool_grid"):
            v = getattr(self, key)
            if len(tuple(v)) != 2 or any(int(a) != a or a < 1 for a in v):
                raise ConfigError(f"{key} must be two ints >= 1, got {v!r}")
        if not self.alpha > 0:
            raise ConfigError(f"alpha must be > 0, got {self.alpha!r}")
        if not self.norm_eps >= 0:
            raise ConfigError(f"norm_eps must be >= 0, got {self.norm_eps!r}")
        if self.transform_algorithm not in _ALGORITHMS:
            raise ConfigError(f"transform_algorithm must be one of {', '.join(_ALGORITHMS)}, "
                              f"got {self.transform_algorithm!r}")

    def fit(self, X: Any, y: Any = None) -> SelfTaughtFeatures:
        """Learn the dictionary on patches of the unlabelled source images ``X``."""
        self._check()
        patch = tuple(int(a) for a in self.patch_size)
        P = sample_patches(X, patch, self.n_patches, self.random_state, self.image_shape)
        P = normalize_patches(P, self.norm_eps)
        dl = MiniBatchDictionaryLearning(
            n_components=self.n_components, alpha=self.alpha, batch_size=self.batch_size,
            max_iter=self.max_iter, random_state=self.random_state,
        )
        dl.fit(P)
        self.dictionary_ = dl.components_
        self.n_features_out_ = 2 * self.n_components * int(np.prod(self.pool_grid))
        logger.info("learned %d atoms on %d patches of %s", self.n_components, P.shape[0], patch)
        return self

    def encode(self, patches: np.ndarray) -> np.ndarray:
        """Sparse codes (``n x n_components``) of flat, already normalised patches on the
        learned dictionary, with the configured encoder."""
        if not hasattr(self, "dictionary_"):
            raise ConfigError("SelfTaughtFeatures is not fitted: call fit(unlabelled) first")
        patches = np.asarray(patches, dtype=np.float64)
        codes = np.zeros((patches.shape[0], self.dictionary_.shape[0]))
        # a flat patch (zero after normalisation, e.g. blank background) has the zero code
        live = np.linalg.norm(patches, axis=1) > 1e-8
        if live.any():
            codes[live] = sparse_encode(
                patches[live], self.dictionary_, algorithm=self.transform_algorithm,
                n_nonzero_coefs=self.transform_n_nonzero_coefs, alpha=self.transform_alpha,
            )
        return codes

    def transform(self, X: Any) -> np.ndarray:
        """Pooled sparse codes of the target images, ``n x n_features_out_``."""
        if not hasattr(self, "dictionary_"):
            raise ConfigError("SelfTaughtFeatures is not fitted: call fit(unlabelled) first")
        imgs = as_images(X, self.image_shape, "X")
        if isinstance(imgs, list):
            raise DataError("transform needs images of one size: an (n, h, w) array or flat rows")
        patch = tuple(int(a) for a in self.patch_size)
        P = dense_patches(imgs, patch, int(self.stride))
        n, r, c, d = P.shape
        if r < self.pool_grid[0] or c < self.pool_grid[1]:
            raise DataError(f"the {r}x{c} grid of patches is smaller than pool_grid "
                            f"{tuple(self.pool_grid)}; use a smaller patch_size or stride")
        codes = self.encode(normalize_patches(P.reshape(-1, d), self.norm_eps))
        codes = codes.reshape(n, r, c, -1)
        split = np.concatenate([np.maximum(codes, 0), np.maximum(-codes, 0)], axis=-1)
        gr, gc = (int(a) for a in self.pool_grid)
        row_edges = np.linspace(0, r, gr + 1).round().astype(int)
        col_edges = np.linspace(0, c, gc + 1).round().astype(int)
        pooled = [split[:, row_edges[i]:row_edges[i + 1], col_edges[j]:col_edges[j + 1]]
                  .sum(axis=(1, 2)) for i in range(gr) for j in range(gc)]
        return np.concatenate(pooled, axis=1)
