"""DANN epoch time: transferkit's Lightning AdaptationModule vs a plain PyTorch loop.

Same model (LeNet-5 widths 6/16 on 16x16 inputs), same data (JDA MNIST->USPS: 2,000 source,
1,800 target images), same paired loader, batch size, optimiser, lr annealing and GRL
schedule. Lightning runs without progress bar, logger, checkpointing, model summary or
validation (a plain loop has none of these). Epoch times come from the same process,
interleaved; the first epoch of each run is a warm-up and is dropped; the median is reported.

    python benchmarks/adapt_speed.py [--epochs 4] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch

from transferkit.adaptation import DANN
from transferkit.backbones import create_backbone
from transferkit.data import load_mnist_usps_jda
from transferkit.training._fit import quiet_lightning
from transferkit.training.adaptation import (
    AdaptationModule,
    AdaptOptimConfig,
    paired_loader,
    trainer_kwargs_fast,
)


def make(seed: int):
    torch.manual_seed(seed)
    bb = create_backbone("lenet", num_outputs=10, input_size=16, widths=(6, 16), feature_dim=120)
    return bb, DANN(bb.feature_dim, hidden=(100,))


class EpochTimer(L.Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, pl_module):
        self._t = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        self.times.append(time.perf_counter() - self._t)


def lightning_epochs(src, tgt, epochs: int, bs: int, optim: AdaptOptimConfig) -> list[float]:
    bb, m = make(0)
    loader = paired_loader(src, tgt.without_labels(), bs, seed=0)
    module = AdaptationModule(bb, m, optim, max_steps=epochs * len(loader.sampler))
    timer = EpochTimer()
    trainer = L.Trainer(**trainer_kwargs_fast(), max_epochs=epochs, limit_val_batches=0, callbacks=[timer])
    trainer.fit(module, loader)
    return timer.times[1:]


def plain_epochs(src, tgt, epochs: int, bs: int, optim: AdaptOptimConfig) -> list[float]:
    bb, m = make(0)
    loader = paired_loader(src, tgt.without_labels(), bs, seed=0)
    module = AdaptationModule(bb, m, optim, max_steps=epochs * len(loader.sampler))  # schedules only
    sched_grl, ann = module.schedule, module.annealing
    opt = torch.optim.SGD([{"params": list(bb.parameters())},
                           {"params": list(m.parameters()), "lr": optim.lr * optim.discriminator_lr_mult}],
                          lr=optim.lr, momentum=optim.momentum, weight_decay=optim.weight_decay)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, ann.factor)
    bb.train()
    m.train()
    times = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        t = time.perf_counter()
        for xs, ys, xt, _ in loader:
            m.set_grl_coeff(sched_grl.value)
            f = bb.features(torch.cat([xs, xt]))
            logits = bb.head(f)
            n = xs.shape[0]
            loss = m.source_loss(logits[:n], ys) + m(f[:n], f[n:], logits_s=logits[:n], logits_t=logits[n:], y_s=ys)
            opt.zero_grad()
            loss.backward()
            opt.step()
            lr_sched.step()
            sched_grl.step()
        times.append(time.perf_counter() - t)
    return times[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    quiet_lightning()
    src, tgt = load_mnist_usps_jda(direction="mnist_to_usps")
    optim = AdaptOptimConfig()
    lt, pt = [], []
    for _ in range(args.repeats):  # interleaved so machine load hits both alike
        pt += plain_epochs(src, tgt, args.epochs, args.batch_size, optim)
        lt += lightning_epochs(src, tgt, args.epochs, args.batch_size, optim)
    ml, mp = statistics.median(lt), statistics.median(pt)
    steps = len(paired_loader(src, tgt, args.batch_size).sampler)
    print(f"DANN, LeNet-5 16x16, JDA MNIST->USPS, batch {args.batch_size}, {steps} steps/epoch, "
          f"{args.threads} thread(s); median of {len(lt)} epochs each\n")
    print("| loop | median epoch (s) | min | max |")
    print("|---|---|---|---|")
    print(f"| plain PyTorch | {mp:.3f} | {min(pt):.3f} | {max(pt):.3f} |")
    print(f"| transferkit AdaptationModule (Lightning) | {ml:.3f} | {min(lt):.3f} | {max(lt):.3f} |")
    print(f"\nratio Lightning / plain = {ml / mp:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
