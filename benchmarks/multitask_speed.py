"""Step time of multi-task balancing methods, side by side in one process.

Model: Sener & Koltun's shared LeNet (conv 10 - conv 20 - fc 50) with ``--tasks`` 10-way heads
(default 2, as MultiMNIST) on a batch of 1x28x28 inputs (random tensors: timing does not depend on the pixels). One step is
forward + balancing backward + Adam step; the table gives the median over ``--steps`` steps
(after warm-up), methods interleaved step by step, and each time as a ratio to the
plain summed-loss step. References: LibMTL (``pip install LibMTL``; its package imports
``torchvision.models.utils``, removed from recent torchvision, so a one-line shim module is put
in ``sys.modules`` before importing it) and torchjd (``torchjd.autojac.mtl_backward`` +
``jac_to_grad``). GradNorm differs by design: ours uses the last shared layer as in Chen et al.
(2018); LibMTL's uses the Jacobian of all shared parameters.

    python benchmarks/multitask_speed.py            # full: batch 256, 10 steps x 3 rounds
    python benchmarks/multitask_speed.py --quick
    python benchmarks/multitask_speed.py --threads 1 --clock cpu --backbone small_resnet --batch 64
    python benchmarks/multitask_speed.py --threads 1 --clock cpu --tasks 10
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F

from transferkit.multitask import MGDA, GradNorm, HardSharing, PCGrad, Task, mtl_backward


def _libmtl():
    try:
        import torch.hub

        shim = types.ModuleType("torchvision.models.utils")
        shim.load_state_dict_from_url = torch.hub.load_state_dict_from_url
        sys.modules.setdefault("torchvision.models.utils", shim)
        from LibMTL.weighting import MGDA as LMGDA
        from LibMTL.weighting import GradNorm as LGradNorm
        from LibMTL.weighting import PCGrad as LPCGrad

        return LMGDA, LPCGrad, LGradNorm
    except Exception as err:  # pragma: no cover - optional reference
        print(f"LibMTL unavailable: {err!r}")
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=2, help="number of tasks (10-way heads)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: the main thread's CPU time (time.thread_time), robust to other jobs "
                         "on a shared machine; meaningful with --threads 1, where torch computes on "
                         "the calling thread")
    ap.add_argument("--backbone", choices=("lenet", "small_resnet", "mlp"), default="lenet",
                    help="lenet: S&K's 10-20-50 LeNet; small_resnet: a 3-stage ResNet (16-32-64); "
                         "mlp: 784-256-128 ReLU MLP on the flattened image (few FLOPs per parameter)")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.rounds = 8, 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.tasks < 2:
        ap.error(f"--tasks must be >= 2, got {args.tasks}")
    m_tasks = args.tasks
    tasks = [Task(f"task{i}", 10) for i in range(m_tasks)]
    x = torch.rand(args.batch, 1, 28, 28)
    ys = [torch.randint(0, 10, (args.batch,)) for _ in tasks]

    def new_model():
        torch.manual_seed(0)
        params = {"lenet": {"widths": (10, 20), "feature_dim": 50}, "small_resnet": {"in_channels": 1},
                  "mlp": {"in_features": 28 * 28, "hidden": (256, 128)}}[args.backbone]
        m = HardSharing(args.backbone, tasks, backbone_params=params)
        return m, torch.optim.Adam(m.parameters(), 1e-3)

    def losses_of(out):
        return [F.cross_entropy(out[t.name], y) for t, y in zip(tasks, ys)]

    methods: dict[str, callable] = {}

    def plain():
        m, opt = new_model()

        def step():
            opt.zero_grad()
            sum(losses_of(m(x))).backward()
            opt.step()
        return step

    def ours_agg(agg, ub):
        m, opt = new_model()

        def step():
            opt.zero_grad()
            z, out = m.forward_with_representation(x)
            mtl_backward(losses_of(out), m.shared_parameters(), agg, m.task_parameters(),
                         representation=z if ub else None)
            opt.step()
        return step

    def ours_gradnorm():
        m, opt = new_model()
        gn = GradNorm(m_tasks, alpha=1.5)
        opt.add_param_group({"params": gn.parameters()})

        def step():
            opt.zero_grad()
            gn.backward(losses_of(m(x)), m.last_shared_parameters())
            opt.step()
            gn.renormalize()
        return step

    def torchjd_agg(agg):
        from torchjd.autojac import jac_to_grad
        from torchjd.autojac import mtl_backward as tj_mtl_backward

        m, opt = new_model()
        shared = list(m.shared_parameters())

        def step():
            opt.zero_grad()
            z, out = m.forward_with_representation(x)
            tj_mtl_backward(losses_of(out), z)
            jac_to_grad(shared, agg)
            opt.step()
        return step

    lib = _libmtl()

    def libmtl(cls, **kw):
        m, opt = new_model()

        class Wrap(cls):
            def __init__(self):
                super().__init__()
                self.task_num, self.device, self.rep_grad, self.epoch = m_tasks, torch.device("cpu"), False, 1
                self.task_name = [t.name for t in tasks]
                self.train_loss_buffer = torch.ones(m_tasks, 1).numpy() * 2.3

            def get_share_params(self):
                return m.shared_parameters()

            def zero_grad_share_params(self):
                for p in m.shared_parameters():
                    if p.grad is not None:
                        p.grad.zero_()

        w = Wrap()
        w.init_param()
        params = list(m.parameters()) + list(w.parameters())
        opt = torch.optim.Adam(params, 1e-3)

        def step():
            opt.zero_grad()
            for p in m.shared_parameters():  # LibMTL's _reset_grad expects allocated grads
                p.grad = torch.zeros_like(p)
            w.backward(torch.stack(losses_of(m(x))), **kw)
            opt.step()
        return step

    import torchjd.aggregation as tja

    methods["summed loss (plain backward)"] = plain()
    methods["ours MGDA-UB (exact, representation)"] = ours_agg(MGDA(), True)
    methods["ours MGDA (exact, full Jacobian)"] = ours_agg(MGDA(), False)
    methods["torchjd MGDA (autojac.mtl_backward)"] = torchjd_agg(tja.MGDA())
    methods["ours PCGrad (full Jacobian)"] = ours_agg(PCGrad(), False)
    methods["torchjd PCGrad"] = torchjd_agg(tja.PCGrad())
    methods["ours GradNorm (last shared layer)"] = ours_gradnorm()
    if lib is not None:
        LMGDA, LPCGrad, LGradNorm = lib
        methods["LibMTL MGDA (rep_grad=False, gn=none)"] = libmtl(LMGDA, mgda_gn="none")
        methods["LibMTL PCGrad"] = libmtl(LPCGrad)
        methods["LibMTL GradNorm (all shared params)"] = libmtl(LGradNorm, alpha=1.5)

    for step in methods.values():  # warm-up
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {k: [] for k in methods}
    # round-robin at the step level, so load from other processes hits every method alike; the
    # order is shuffled every pass, so no method always runs right after the same one (a method
    # that frees much memory makes its successor pay the page faults of re-allocating it)
    if args.clock == "cpu" and args.threads != 1:
        ap.error("--clock cpu needs --threads 1 (other threads' work would not be counted)")
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    order = random.Random(0)
    names = list(methods)
    for _ in range(args.rounds * args.steps):
        order.shuffle(names)
        for name in names:
            step = methods[name]
            t0 = clock()
            step()
            times[name].append(clock() - t0)
    base = statistics.median(times["summed loss (plain backward)"])
    print(f"\n{args.backbone}, {m_tasks} tasks, batch {args.batch}, {args.steps} steps x {args.rounds} rounds, {args.threads} threads, "
          f"{args.clock} clock, torch {torch.__version__}\n")
    print("| method | median step (ms) | ratio to summed loss |")
    print("|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med * 1e3:.2f} | {med / base:.2f}x |")
    med = {name: statistics.median(ts) for name, ts in times.items()}
    pairs = [("MGDA", "ours MGDA (exact, full Jacobian)", "LibMTL MGDA (rep_grad=False, gn=none)",
              "torchjd MGDA (autojac.mtl_backward)"),
             ("PCGrad", "ours PCGrad (full Jacobian)", "LibMTL PCGrad", "torchjd PCGrad"),
             ("GradNorm", "ours GradNorm (last shared layer)", "LibMTL GradNorm (all shared params)", None)]
    print("\n| method | ours / LibMTL | ours / torchjd |")
    print("|---|---|---|")
    for label, ours, lib_name, tj_name in pairs:
        vs_lib = f"{med[ours] / med[lib_name]:.2f}" if lib_name in med else "n/a"
        vs_tj = f"{med[ours] / med[tj_name]:.2f}" if tj_name in med else "n/a (no GradNorm in torchjd)"
        print(f"| {label} | {vs_lib} | {vs_tj} |")


if __name__ == "__main__":
    main()
