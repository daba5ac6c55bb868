"""Self-taught learning from unlabelled natural images to USPS digits with few labels.

Unlabelled source: the 200 BSDS500 training photographs (grey, scaled to [0, 1]); no digit is
in them. Target: USPS 16x16 digits; k = 1, 5, 10, 50 labelled images per class drawn from the
USPS training set (per seed), the whole USPS test set (2007 images) scores. Every feature set
feeds the same classifier, fixed in advance (no labels to tune it): standardisation then
scikit-learn ``LogisticRegression(C=1)``.

* raw pixels: the 256 grey values.
* PCA (source): PCA with 64 components fitted on 20,000 random 16x16 patches of the photos.
* sparse coding (source): ``SelfTaughtFeatures`` defaults (64 atoms learned on 20,000 random
  8x8 contrast-normalised patches of the photos; soft-threshold codes of every 8x8 patch of a
  digit, sign-split and sum-pooled over a 3x3 grid: 1,152 features).
* with ``--deep``: a LeNet backbone (``create_backbone("lenet", input_size=16,
  widths=(16, 32), feature_dim=128)``) pretrained on 16x16 photo patches with the SimCLR
  objective or the autoencoder objective (``--deep-patches`` patches, ``--deep-epochs``
  epochs, Adam 1e-3, batch 256), then its frozen features (linear probe) feed the classifier;
  and the same backbone untrained (random features) as the control.

Seeds change the labelled draw and every feature learner's randomness. The table gives the
test accuracy, mean over seeds with a 95% t interval; then the feature-learning seconds.

    nice -n 5 python benchmarks/selftaught_usps.py [--root ../shared/data] [--seeds 3] [--deep]
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import time
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from transferkit.selftaught import SelfTaughtFeatures, sample_patches

SHOTS = (1, 5, 10, 50)


def default_root() -> Path:
    env = os.environ.get("TRANSFERKIT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(root: Path):
    files = sorted(glob.glob(str(root / "bsds500_train_images" / "*.jpg")))
    if not files:
        raise SystemExit(f"no BSDS500 images under {root}: pass --root")
    photos = [np.asarray(Image.open(f).convert("L"), dtype=np.float64) / 255 for f in files]
    with h5py.File(root / "usps" / "usps.h5") as f:
        usps = {k: f[k][:] for k in ("train/data", "train/target", "test/data", "test/target")}
    return photos, usps


def interval(values) -> str:
    x = np.asarray(values, dtype=float) * 100
    if x.size < 2:
        return f"{x.mean():.1f}"
    half = stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    return f"{x.mean():.1f} ± {half:.1f}"


def deep_features(photos, seed, objective, n_patches, epochs):
    """A LeNet pretrained on photo patches (or untrained for 'random'): a features function."""
    import torch

    from transferkit.backbones import create_backbone
    from transferkit.selftaught import ContrastiveObjective, ReconstructionObjective, pretrain

    torch.manual_seed(seed)
    backbone = create_backbone("lenet", input_size=16, widths=(16, 32), feature_dim=128)
    if objective != "random":
        P = sample_patches(photos, (16, 16), n_patches, random_state=seed)
        x = torch.tensor(P, dtype=torch.float32).view(-1, 1, 16, 16)
        obj = (ContrastiveObjective(backbone) if objective == "simclr"
               else ReconstructionObjective(backbone, (1, 16, 16)))
        pretrain(obj, x, epochs=epochs, batch_size=256, lr=1e-3, seed=seed)
    backbone.eval()

    def features(X):
        with torch.no_grad():
            t = torch.tensor(X, dtype=torch.float32).view(-1, 1, 16, 16)
            return torch.cat([backbone.features(b) for b in t.split(1024)]).numpy()

    return features


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(default_root()))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--deep", action="store_true")
    ap.add_argument("--deep-patches", type=int, default=20000)
    ap.add_argument("--deep-epochs", type=int, default=5)
    ap.add_argument("--only-deep", action="store_true", help="skip raw, PCA and sparse coding")
    args = ap.parse_args()
    photos, usps = load(Path(args.root))
    Xtr, ytr = usps["train/data"].astype(np.float64), usps["train/target"]
    Xte, yte = usps["test/data"].astype(np.float64), usps["test/target"]
    acc: dict = defaultdict(lambda: defaultdict(list))
    cost: dict = defaultdict(list)
    for seed in range(args.seeds):
        feats = {}
        if not args.only_deep:
            feats["raw pixels"] = lambda X: X
            t = time.perf_counter()
            pca = PCA(64, random_state=seed).fit(
                sample_patches(photos, (16, 16), 20000, random_state=seed))
            cost["PCA (source)"].append(time.perf_counter() - t)
            feats["PCA (source)"] = pca.transform
            t = time.perf_counter()
            sc = SelfTaughtFeatures(image_shape=(16, 16), random_state=seed).fit(photos)
            cost["sparse coding (source)"].append(time.perf_counter() - t)
            feats["sparse coding (source)"] = sc.transform
        if args.deep:
            for obj, name in (("random", "LeNet, untrained (control)"),
                              ("autoencoder", "LeNet, autoencoder (source)"),
                              ("simclr", "LeNet, SimCLR (source)")):
                t = time.perf_counter()
                feats[name] = deep_features(photos, seed, obj, args.deep_patches,
                                            args.deep_epochs)
                cost[name].append(time.perf_counter() - t)
        rng = np.random.default_rng(seed)
        draws = {k: np.concatenate([rng.choice(np.flatnonzero(ytr == c), k, replace=False)
                                    for c in range(10)]) for k in SHOTS}
        for name, f in feats.items():
            t = time.perf_counter()
            Fte = f(Xte)
            for k, idx in draws.items():
                clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
                clf.fit(f(Xtr[idx]), ytr[idx])
                acc[name][k].append(clf.score(Fte, yte))
            cost[name + " (encode + classify)"].append(time.perf_counter() - t)
            print(f"  seed {seed} {name}: " + ", ".join(
                f"{k}/class {acc[name][k][-1]:.3f}" for k in SHOTS), flush=True)
    print(f"\nUSPS test accuracy (%), unlabelled source = BSDS500 photos, {args.seeds} seeds "
          "(mean ± 95% t interval)\n")
    print("| features | " + " | ".join(f"{k} label{'s' if k > 1 else ''}/class"
                                      for k in SHOTS) + " |")
    print("|---|" + "---|" * len(SHOTS))
    for name, m in acc.items():
        print(f"| {name} | " + " | ".join(interval(m[k]) for k in SHOTS) + " |")
    print("\n| step | seconds per seed (mean) |")
    print("|---|---|")
    for name, v in cost.items():
        print(f"| {name} | {np.mean(v):.1f} |")


if __name__ == "__main__":
    main()
