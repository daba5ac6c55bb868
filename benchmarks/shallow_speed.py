"""KMM, KLIEP and TCA: fit time and MMD² beside skada and ADAPT, plus the 50,000-row scale run.

Data: ``n`` source rows ~ N(0, I_d) and ``n`` target rows ~ N(0.3, 1.2² I_d), d = 20 (one
draw, seed 0). Every method gets the same RBF width ``gamma = 1/d`` for KMM, the same
candidate widths for KLIEP (the median heuristic times 0.1, 0.3, 1, 3, 10) with 100 centres
and 5 folds, and for TCA the same kernel, 20 components and the equivalent trade-off
(ours ``mu = 1`` = skada's ``mu = 1``: the paper's ``(KLK + mu I)`` against skada's
``(I + mu KLK)``). Times are the median of ``--repeats`` fits in this process after one
warm-up, with BLAS limited to ``--threads`` threads for every library alike.

MMD² columns (RBF, ``gamma = 1/d``, the same kernel for every method):
* ``MMD² β/n_s``: ``|| 1/n_s sum beta_i phi(xs_i) - mean phi(xt) ||²``, KMM's own objective;
* ``MMD² norm.``: the weights rescaled to sum to one (what a weighted learner sees).

ADAPT needs TensorFlow, so it runs in a separate interpreter (``--adapt-python``) on the same
arrays, timed there the same way (TensorFlow's import is outside the timing).

    nice -n 5 python benchmarks/shallow_speed.py [--n 2000] [--repeats 3] [--threads 1]
        [--adapt-python /work/venv-tf/bin/python] [--scale 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GAMMA_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0)


def make_data(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.2 + 0.3


def median_gamma(Xs: np.ndarray, Xt: np.ndarray) -> float:
    from transferkit._domains import rbf_gamma

    return rbf_gamma("median", np.vstack([Xs, Xt]))


class Seconds(float):
    """A median wall time that also carries the median CPU time of the same fits (``.cpu``)."""

    cpu: float


def timed(fn, repeats: int, warmup: bool = True) -> tuple[Seconds, object]:
    """Median wall and CPU seconds of ``repeats`` calls after one warm-up.

    On the shared machine the wall time of a one-thread job also counts the time it waits for a
    core; its CPU time does not, so the table prints both and both ratios.
    """
    if warmup:
        fn()
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    s = Seconds(statistics.median(walls))
    s.cpu = statistics.median(cpus)
    return s, out


def mmd2_beta(Xs, Xt, beta, gamma) -> float:
    """``|| 1/n_s sum beta_i phi(xs_i) - mean phi(xt) ||²`` (KMM's objective scaling)."""
    from sklearn.metrics.pairwise import rbf_kernel

    ns = len(Xs)
    b = np.asarray(beta, float) / ns
    tt = rbf_kernel(Xt, gamma=gamma).mean()
    st = b @ rbf_kernel(Xs, Xt, gamma=gamma).mean(axis=1)
    ss = b @ rbf_kernel(Xs, gamma=gamma) @ b
    return float(ss - 2 * st + tt)


# ---------------------------------------------------------------------------------------------
# ADAPT worker (runs in the TensorFlow interpreter)


def adapt_worker(data: str, out: str, repeats: int, threads: int) -> None:
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    from adapt.instance_based import KLIEP, KMM

    z = np.load(data)
    Xs, Xt, gamma, gammas = z["Xs"], z["Xt"], float(z["gamma"]), list(z["gammas"])
    res = {}
    with threadpool_limits(threads):
        for name, make in [
            ("kmm", lambda: KMM(kernel="rbf", gamma=gamma, verbose=0, random_state=0)),
            ("kmm_full", lambda: KMM(kernel="rbf", gamma=gamma, max_size=len(Xs), verbose=0,
                                     random_state=0)),
            ("kliep", lambda: KLIEP(kernel="rbf", gamma=gammas, max_centers=100, cv=5, verbose=0,
                                    random_state=0)),
        ]:
            t, w = timed(lambda make=make: make().fit_weights(Xs, Xt), repeats)
            res[name] = (t, np.asarray(w).ravel())
    np.savez(out, **{f"{k}_w": v[1] for k, v in res.items()},
             times=json.dumps({k: [v[0], v[0].cpu] for k, v in res.items()}))


def run_adapt(python: str, Xs, Xt, gamma, gammas, repeats, threads) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data.npz", Path(tmp) / "out.npz"
        np.savez(data, Xs=Xs, Xt=Xt, gamma=gamma, gammas=np.asarray(gammas))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
        subprocess.run([python, __file__, "--worker", str(data), "--worker-out", str(out),
                        "--repeats", str(repeats), "--threads", str(threads)],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        z = np.load(out)
        times = json.loads(str(z["times"]))
        out = {}
        for k, (wall, cpu) in times.items():
            t = Seconds(wall)
            t.cpu = cpu
            out[k] = (t, z[f"{k}_w"])
        return out


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--tca-n", type=int, default=1000, help="rows per domain for TCA")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--adapt-python", default=None)
    ap.add_argument("--scale", type=int, default=0, help="rows per domain of the scale run")
    ap.add_argument("--skip", default="", help="comma list of: kmm,kliep,tca")
    ap.add_argument("--landmarks", type=lambda v: [int(x) for x in v.split(",")],
                    default=[1000], help="Nyström ranks of the scale run (comma list)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        adapt_worker(a.worker, a.worker_out, a.repeats, a.threads)
        return

    import warnings

    from threadpoolctl import threadpool_limits

    from transferkit._domains import pack_domains, weighted_mmd2
    from transferkit.instance import KLIEP, kmm_weights

    warnings.filterwarnings("ignore")
    skip = set(filter(None, a.skip.split(",")))
    Xs, Xt = make_data(a.n, a.d)
    gamma = 1.0 / a.d
    g0 = median_gamma(Xs, Xt)
    gammas = [g0 * f for f in GAMMA_FACTORS]
    X, _, sd = pack_domains(Xs, np.zeros(a.n, int), Xt)
    print(f"# n_source = n_target = {a.n}, d = {a.d}, BLAS threads = {a.threads}, "
          f"repeats = {a.repeats} (median seconds)")
    print(f"# unweighted MMD² = {weighted_mmd2(Xs, Xt, None, gamma):.6f}")
    rows = []
    with threadpool_limits(a.threads):
        if "kmm" not in skip:
            t, (w, _) = timed(lambda: kmm_weights(Xs, Xt, gamma=gamma), a.repeats)
            rows.append(("KMM", "transferkit", t, w))
            t, (w, _) = timed(lambda: kmm_weights(Xs, Xt, gamma=gamma, eps=0.0), a.repeats)
            rows.append(("KMM", "transferkit, eps=0 (sum beta = n_s)", t, w))
            try:
                from skada import KMMReweightAdapter

                t, sk = timed(lambda: KMMReweightAdapter(gamma=gamma).fit(X, sample_domain=sd),
                              a.repeats)
                rows.append(("KMM", "skada 0.6.0 (Frank-Wolfe, 1000 it.)", t, sk.source_weights_))
            except ImportError:
                pass
        if "kliep" not in skip:
            t, est = timed(lambda: KLIEP(gamma=gammas, n_centers=100, cv=5).fit(X, None, sd),
                           a.repeats)
            rows.append(("KLIEP", "transferkit", t, est.source_weights_))
            try:
                from skada import KLIEPReweightAdapter

                def sk_kliep():
                    ad = KLIEPReweightAdapter(gamma=list(gammas), n_centers=100, cv=5,
                                              random_state=0).fit(X, sample_domain=sd)
                    return ad.compute_weights(X, sample_domain=sd)[: a.n]

                t, w = timed(sk_kliep, a.repeats)
                rows.append(("KLIEP", "skada 0.6.0", t, w))
            except ImportError:
                pass
    if a.adapt_python and not {"kmm", "kliep"} <= skip:
        res = run_adapt(a.adapt_python, Xs, Xt, gamma, gammas, a.repeats, a.threads)
        if "kmm" not in skip:
            rows.append(("KMM", "ADAPT 0.4.5 (cvxopt, batches of 1000)", *res["kmm"]))
            rows.append(("KMM", "ADAPT 0.4.5 (cvxopt, max_size=n)", *res["kmm_full"]))
        if "kliep" not in skip:
            rows.append(("KLIEP", "ADAPT 0.4.5", *res["kliep"]))
    print()
    print("| method | implementation | wall s | CPU s | ours faster by (wall) | (CPU) "
          "| MMD² β/n_s | MMD² norm. | ESS |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    ours = {m: t for m, impl, t, _ in rows if impl == "transferkit"}
    for m, impl, t, w in rows:
        w = np.asarray(w, float)
        ess = w.sum() ** 2 / (w @ w)
        mine = impl.startswith("transferkit")
        ratio = "| " if mine else f"{t / ours[m]:.1f}x | {t.cpu / ours[m].cpu:.1f}x"
        # KLIEP's weights average one, so its two MMD² columns coincide
        print(f"| {m} | {impl} | {t:.3f} | {t.cpu:.3f} | {ratio} | "
              f"{mmd2_beta(Xs, Xt, w, gamma):.7f} | {weighted_mmd2(Xs, Xt, w, gamma):.7f} "
              f"| {ess:.0f} |")

    if "tca" not in skip:
        from transferkit.feature import TCA

        Xs2, Xt2 = make_data(a.tca_n, a.d, seed=1)
        X2, _, sd2 = pack_domains(Xs2, np.zeros(a.tca_n, int), Xt2)
        print()
        print(f"# TCA: n_source = n_target = {a.tca_n}, d = {a.d}, RBF gamma = 1/d, 20 components")
        print("| method | implementation | fit+transform wall s | CPU s | ours faster by (wall) "
              "| (CPU) | MMD² of the embedding (linear) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        with threadpool_limits(a.threads):
            t_ours, Z = timed(lambda: TCA(n_components=20, mu=1.0, kernel="rbf", gamma=gamma)
                              .fit_transform(X2, None, sd2), max(1, a.repeats))
            trows = [("transferkit", t_ours, Z)]
            try:
                from skada import TransferComponentAnalysisAdapter

                def sk_tca():
                    ad = TransferComponentAnalysisAdapter(kernel="rbf", n_components=20, mu=1.0)
                    # skada's rbf uses scikit-learn's default gamma = 1/n_features = 1/d here
                    return ad.fit_transform(X2, sample_domain=sd2)

                t, Zs = timed(sk_tca, 1, warmup=False)  # one fit: it takes seconds
                trows.append(("skada 0.6.0", t, Zs))
            except ImportError:
                pass
        for impl, t, Z in trows:
            gap = float(np.sum((Z[: a.tca_n].mean(0) - Z[a.tca_n :].mean(0)) ** 2)
                        / np.vstack(Z).var(0).sum())
            ratio = "| " if impl == "transferkit" else f"{t / t_ours:.1f}x | {t.cpu / t_ours.cpu:.1f}x"
            print(f"| TCA | {impl} | {t:.2f} | {t.cpu:.2f} | {ratio} | {gap:.2e} "
                  "(relative to total variance) |")

    if a.scale:
        from transferkit.instance import KLIEP as _KLIEP

        n = a.scale
        Xs3, Xt3 = make_data(n, a.d, seed=2)
        X3, _, sd3 = pack_domains(Xs3, np.zeros(n, int), Xt3)
        g03 = median_gamma(Xs3, Xt3)
        print()
        print(f"# scale: n_source = n_target = {n}, d = {a.d}, BLAS threads = {a.threads}; "
              "MMD² on a random 5,000 + 5,000-row subsample (same rows for all), RBF gamma = 1/d")
        print("| method | approximation | fit seconds (wall) | fit seconds (CPU) | MMD² norm. (subsample) | ESS |")
        print("|---|---|---:|---:|---:|---:|")
        rng = np.random.default_rng(0)
        k = min(5000, n)
        si, ti = rng.choice(n, k, replace=False), rng.choice(n, k, replace=False)
        with threadpool_limits(a.threads):
            print(f"| none | (unweighted) | | | {weighted_mmd2(Xs3[si], Xt3[ti], None, gamma):.7f} "
                  f"| {n} |")
            for m in a.landmarks:
                t, c = time.perf_counter(), time.process_time()
                w, info = kmm_weights(Xs3, Xt3, gamma=gamma, approximation="nystroem",
                                      n_components=m, tol=1e-5, max_iter=2000)
                t, c = time.perf_counter() - t, time.process_time() - c
                print(f"| KMM | Nyström, {m} landmarks from both domains; {info['n_iter']} "
                      f"gradient steps (tol 1e-5, converged: {info['converged']}) | {t:.1f} | "
                      f"{c:.1f} | {weighted_mmd2(Xs3[si], Xt3[ti], w[si], gamma):.7f} | "
                      f"{w.sum() ** 2 / (w @ w):.0f} |")
            t, c = time.perf_counter(), time.process_time()
            est = _KLIEP(gamma=[g03 * f for f in GAMMA_FACTORS], n_centers=100, cv=5).fit(X3, None, sd3)
            t, c = time.perf_counter() - t, time.process_time() - c
            w = est.source_weights_
            print(f"| KLIEP | 100 Gaussian centres (the method's own basis), 5-fold LCV over 5 widths | "
                  f"{t:.1f} | {c:.1f} | {weighted_mmd2(Xs3[si], Xt3[ti], w[si], gamma):.7f} | "
                  f"{w.sum() ** 2 / (w @ w):.0f} |")


if __name__ == "__main__":
    sys.exit(main())
