"""FCN and ResNet-1D from scratch with the training protocol of Wang, Yan & Oates (IJCNN 2017),
on the UCR sets shipped offline in aeon's wheel, beside the published test accuracies.

Protocol, as the authors' scripts (cauchyturing/UCR_Time_Series_Classification_Deep_Learning_Baseline,
FCN.py and ResNet.py) run it: Adam lr 1e-3, batch size min(N_train / 10, 16) (integer
division, as Python 2 computed it), ``ReduceLROnPlateau`` on the *training* loss (factor 0.5,
patience 50 epochs, minimum rate 1e-4, absolute threshold 1e-4 as Keras uses), 2000 epochs for
the FCN and 1500 for the ResNet (the paper, Sec. IV-A). The published number is the test
accuracy of the epoch with the least training loss (the scripts print
``log.loc[log['loss'].idxmin]['val_acc']``); we report that *and* the last epoch's model.
Differences from the authors' runs: per-series z-normalisation (our loader's, the archive's
convention) instead of one mean/std of the training set, PyTorch's initialisation instead of
Keras', and the seeds.

The loop is a plain PyTorch loop on transferkit's backbones: transferkit's engine has no
learning-rate schedule, and this protocol needs one.

    python benchmarks/timeseries_wang_protocol.py [--sets ArrowHead ...] [--models fcn resnet1d]
        [--seeds 0 1 2] [--epochs-fcn 2000] [--epochs-resnet 1500]
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from timeseries_common import correct, machine, make_fcn, one_thread
from timeseries_scratch import PUBLISHED

from transferkit.data.timeseries import load_ucr


def wang_batch_size(n: int) -> int:
    """``min(N_train / 10, 16)`` with Python 2's integer division, at least 2 for batch norm."""
    return max(2, min(n // 10, 16))


def fit_wang(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, seed: int,
             batch_size: int, every: int = 0, on_checkpoint=None
             ) -> tuple[torch.nn.Module, torch.nn.Module, list[float], float]:
    """Train as Wang et al.'s scripts; returns (last model, least-training-loss model, losses, s).
    ``on_checkpoint(epoch, last, least_loss)`` is called every ``every`` epochs."""
    g = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=50,
                                                       threshold=1e-4, threshold_mode="abs", min_lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    best_loss, best_state, losses = float("inf"), None, []
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(xt), batch_size):
            idx = order[i : i + batch_size]
            if len(idx) < 2:  # a batch of one breaks batch norm; Keras would run it, we drop it
                continue
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        epoch_loss = total / len(xt)  # Keras' 'loss': the running mean over the epoch's batches
        losses.append(epoch_loss)
        sched.step(epoch_loss)
        if epoch_loss < best_loss:
            best_loss, best_state = epoch_loss, copy.deepcopy(model.state_dict())
        if every and on_checkpoint and len(losses) % every == 0 and len(losses) < epochs:
            on_checkpoint(len(losses), model, _with_state(model, best_state))
            model.train()
    seconds = time.perf_counter() - t0
    return model, _with_state(model, best_state), losses, seconds


def _with_state(model: torch.nn.Module, state: dict) -> torch.nn.Module:
    other = copy.deepcopy(model)
    other.load_state_dict(state)
    return other


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["ArrowHead", "GunPoint", "ItalyPowerDemand"])
    ap.add_argument("--models", nargs="+", default=["fcn", "resnet1d"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs-fcn", type=int, default=2000)
    ap.add_argument("--epochs-resnet", type=int, default=1500)
    ap.add_argument("--report-every", type=int, default=500,
                    help="also print the test accuracy every this many epochs (0: never)")
    args = ap.parse_args()
    one_thread()
    print(f"# Wang et al. (2017) protocol from scratch, official splits, FCN {args.epochs_fcn} / "
          f"ResNet {args.epochs_resnet} epochs, seeds {args.seeds}; {machine()}\n")
    print("| data set | train / test | model | batch | epochs | last-epoch acc (mean [min, max]) "
          "| least-train-loss acc (mean [min, max]) | published | train s / run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.sets:
        tr, te = load_ucr(name, "train"), load_ucr(name, "test")
        bs = wang_batch_size(len(tr))
        for model_name in args.models:
            epochs = args.epochs_fcn if model_name == "fcn" else args.epochs_resnet
            last, best, secs = [], [], []
            for seed in args.seeds:
                model = make_fcn(tr.X.shape[1], tr.num_classes, seed, model_name)
                def report(epoch, m_last, m_best, name=name, model_name=model_name, seed=seed, te=te):
                    print(f"<!-- {name} {model_name} seed {seed}, epoch {epoch}: last "
                          f"{correct(m_last, te).mean():.3f}, least-train-loss {correct(m_best, te).mean():.3f} -->",
                          flush=True)

                m_last, m_best, _, s = fit_wang(model, tr.X, tr.y, epochs, seed, bs, args.report_every, report)
                last.append(correct(m_last, te).mean())
                best.append(correct(m_best, te).mean())
                secs.append(s)
                print(f"<!-- {name} {model_name} seed {seed}: last {last[-1]:.3f}, least-train-loss "
                      f"{best[-1]:.3f}, {s:.0f} s -->", flush=True)
            pub = PUBLISHED.get(name)
            shown = f"{pub[0 if model_name == 'fcn' else 1]:.3f}" if pub else "-"
            print(f"| {name} | {len(tr)} / {len(te)} | {model_name} | {bs} | {epochs} | "
                  f"{np.mean(last):.3f} [{min(last):.3f}, {max(last):.3f}] | "
                  f"{np.mean(best):.3f} [{min(best):.3f}, {max(best):.3f}] | {shown} | "
                  f"{np.mean(secs):.0f} |", flush=True)


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"\nwall time {time.time() - t:.0f} s")
