"""Deep self-taught learning: pretrain a backbone on unlabelled source images with a
reconstruction (autoencoder) or a contrastive (SimCLR, NT-Xent) objective.

Each objective is an ``nn.Module`` whose ``forward(x)`` returns the loss of a batch of
unlabelled images, so it drops into a plain loop::

    objective = ContrastiveObjective(backbone)
    opt = torch.optim.Adam(objective.parameters(), 1e-3)
    for x in loader:
        loss = objective(x, generator=g); opt.zero_grad(); loss.backward(); opt.step()

:func:`pretrain` is that loop; :class:`PretrainModule` wraps an objective for a Lightning
``Trainer`` (DDP and friends). Afterwards ``objective.backbone`` is the pretrained backbone, to
fine-tune with any ``finetune`` strategy (``reset_head(num_classes)`` first).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import register
from ..backbones import Backbone
from ..exceptions import ConfigError, DataError

logger = logging.getLogger(__name__)

__all__ = [
    "ContrastiveObjective",
    "ImageAugment",
    "PretrainModule",
    "ReconstructionObjective",
    "nt_xent_loss",
    "pretrain",
]


def nt_xent_loss(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """The normalised temperature-scaled cross-entropy of SimCLR.

    Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
    Representations", ICML 2020, Eq. 1 and Alg. 1: for the ``2N`` projections of ``N`` pairs
    of views, ``l(i, j) = -log exp(sim(z_i, z_j)/t) / sum_{k != i} exp(sim(z_i, z_k)/t)``
    with cosine similarity ``sim``; the loss is the mean of ``l`` over all ``2N`` ordered
    positive pairs.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise DataError(f"nt_xent_loss needs two [N, D] batches of one shape, got "
                        f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    n = z1.shape[0]
    if n < 2:
        raise DataError(f"nt_xent_loss needs at least 2 pairs (negatives), got {n}")
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


class ImageAugment(nn.Module):
    """Random views of a batch of images ``[N, C, H, W]``: a random resized crop (area fraction
    in ``crop_scale``, aspect ratio kept), a horizontal flip with probability ``flip_p`` and
    additive Gaussian noise of standard deviation ``noise_std`` (the SimCLR crop-and-flip
    family, Chen et al. 2020, Sec. 3, plus noise; colour jitter does not apply to grey images).
    Randomness comes only from the ``generator`` passed to ``forward``.
    """

    def __init__(self, crop_scale: tuple[float, float] = (0.4, 1.0), flip_p: float = 0.5,
                 noise_std: float = 0.1):
        super().__init__()
        lo, hi = crop_scale
        if not 0 < lo <= hi <= 1:
            raise ConfigError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
        if not 0 <= flip_p <= 1:
            raise ConfigError(f"flip_p must be in [0, 1], got {flip_p}")
        if not noise_std >= 0:
            raise ConfigError(f"noise_std must be >= 0, got {noise_std}")
        self.crop_scale = (float(lo), float(hi))
        self.flip_p = float(flip_p)
        self.noise_std = float(noise_std)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if x.ndim != 4:
            raise DataError(f"ImageAugment needs [N, C, H, W] images, got {tuple(x.shape)}")
        n = x.shape[0]
        opts = dict(generator=generator, device="cpu")
        lo, hi = self.crop_scale
        side = torch.sqrt(lo + (hi - lo) * torch.rand(n, **opts))  # crop side / image side
        shift = (1 - side) * (2 * torch.rand(2, n, **opts) - 1)
        flip = torch.where(torch.rand(n, **opts) < self.flip_p, -1.0, 1.0)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = side * flip
        theta[:, 1, 1] = side
        theta[:, 0, 2], theta[:, 1, 2] = shift[0], shift[1]
        theta = theta.to(device=x.device, dtype=x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection",
                            align_corners=False)
        if self.noise_std > 0:
            noise = torch.randn(out.shape, **opts).to(device=x.device, dtype=x.dtype)
            out = out + self.noise_std * noise
        return out


def _check_backbone(backbone: nn.Module) -> None:
    if not isinstance(backbone, Backbone):
        raise ConfigError(f"backbone must follow the transferkit backbone protocol "
                          f"(transferkit.backbones.Backbone), got {type(backbone).__name__}")


@register("selftaught", "simclr")
class ContrastiveObjective(nn.Module):
    """SimCLR pretraining loss of a backbone on unlabelled images.

    Chen et al., ICML 2020: two random views of each image (:class:`ImageAugment`) go through
    ``backbone.features`` and a projection head ``g`` (``Linear-ReLU-Linear`` to
    ``projection_dim``, their Sec. 2.1); the loss is :func:`nt_xent_loss`. Defaults: projection
    64 (ours, small images), temperature 0.5 (the paper's CIFAR-10 setting, App. B.9).
    """

    def __init__(self, backbone: nn.Module, projection_dim: int = 64, temperature: float = 0.5,
                 augment: ImageAugment | None = None):
        super().__init__()
        _check_backbone(backbone)
        if projection_dim < 1:
            raise ConfigError(f"projection_dim must be >= 1, got {projection_dim}")
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        self.backbone = backbone
        d = backbone.feature_dim
        self.projection = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, projection_dim))
        self.temperature = float(temperature)
        self.augment = augment if augment is not None else ImageAugment()

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        v1, v2 = self.augment(x, generator), self.augment(x, generator)
        z = self.projection(self.backbone.features(torch.cat([v1, v2])))
        z1, z2 = z.chunk(2)
        return nt_xent_loss(z1, z2, self.temperature)


@register("selftaught", "autoencoder")
class ReconstructionObjective(nn.Module):
    """Autoencoder pretraining loss: reconstruct the input from the backbone's features.

    The reconstruction objective of autoencoder pretraining (Bengio, Lamblin, Popovici &
    Larochelle, NIPS 2007; denoising with ``noise_std > 0``: Vincent et al., ICML 2008): a
    decoder (``Linear-ReLU-Linear``, ``hidden`` units, ours) maps ``backbone.features(x + noise)``
    back to the ``input_shape`` pixels; the loss is the mean squared error to the clean ``x``.
    """

    def __init__(self, backbone: nn.Module, input_shape: Sequence[int], hidden: int = 256,
                 noise_std: float = 0.0):
        super().__init__()
        _check_backbone(backbone)
        if hidden < 1:
            raise ConfigError(f"hidden must be >= 1, got {hidden}")
        if not noise_std >= 0:
            raise ConfigError(f"noise_std must be >= 0, got {noise_std}")
        self.backbone = backbone
        self.input_shape = tuple(int(s) for s in input_shape)
        out = math.prod(self.input_shape)
        self.decoder = nn.Sequential(nn.Linear(backbone.feature_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, out))
        self.noise_std = float(noise_std)

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decoder(self.backbone.features(x)).view(x.shape[0], *self.input_shape)

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape:
            raise DataError(f"input of shape {tuple(x.shape[1:])} per sample, the objective was "
                            f"built for {self.input_shape}")
        noisy = x
        if self.noise_std > 0:
            noise = torch.randn(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
            noisy = x + self.noise_std * noise
        return F.mse_loss(self.reconstruct(noisy), x)


def pretrain(objective: nn.Module, batches: Iterable[Tensor] | Tensor, *, epochs: int = 10,
             batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
             seed: int = 0) -> list[float]:
    """Minimise ``objective`` with Adam over unlabelled images (a tensor, shuffled into
    ``batch_size`` batches each epoch, or any re-iterable of batches). Returns the mean loss
    of each epoch. The plain-loop equivalent of ``Trainer.fit(PretrainModule(objective))``."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ConfigError(f"epochs and batch_size must be >= 1 and lr > 0, got {epochs}, "
                          f"{batch_size}, {lr}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in objective.parameters() if p.requires_grad], lr=lr,
                           weight_decay=weight_decay)
    objective.train()
    history = []
    for epoch in range(epochs):
        if isinstance(batches, Tensor):
            order = torch.randperm(batches.shape[0], generator=g)
            it: Iterable[Tensor] = (batches[order[i:i + batch_size]]
                                    for i in range(0, batches.shape[0], batch_size))
        else:
            it = batches
        total, count = 0.0, 0
        for x in it:
            if x.shape[0] < 2:
                continue
            loss = objective(x, generator=g)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * x.shape[0]
            count += x.shape[0]
        history.append(total / max(count, 1))
        logger.info("pretrain epoch %d: loss %.4f", epoch + 1, history[-1])
    objective.eval()
    return history


class PretrainModule(L.LightningModule):
    """A pretraining objective as a LightningModule: ``training_step`` returns
    ``objective(batch)`` (a batch is an image tensor, or a tuple whose first item is one);
    Adam with ``lr`` and ``weight_decay``."""

    def __init__(self, objective: nn.Module, lr: float = 1e-3, weight_decay: float = 0.0):
        super().__init__()
        self.objective = objective
        self.lr = lr
        self.weight_decay = weight_decay

    def training_step(self, batch, batch_idx: int) -> Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        loss = self.objective(x)
        self.log("pretrain_loss", loss, prog_bar=True, batch_size=x.shape[0])
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.objective.parameters(), lr=self.lr,
                                weight_decay=self.weight_decay)
