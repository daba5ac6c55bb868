"""LogME speed beside the authors' implementation, and the cost of every transferability score.

The same arrays go to both LogME implementations in one process, interleaved, and the median
of the repeats is reported: N = 5,000 target samples, D = 1,024 feature dimensions, 100
classes (Gaussian class centres plus unit noise). The authors' code (thuml/LogME, ``LogME.py``)
is imported at run time from a checkout whose folder is given with ``--logme-repo``; it is
never part of transferkit. Without numba installed, its ``@njit`` functions run as plain
Python (numba is replaced by a do-nothing decorator), which is how it runs in an environment
without numba. Both ``LogME().fit`` (their default, the JMLR fixed-point routine) and
``LogME()._fit_icml`` (the ICML 2021 routine) are timed.

    python benchmarks/transferability_speed.py --logme-repo /path/to/LogME [--repeats 3] [--threads 2]

Without ``--logme-repo`` only transferkit's scores are timed.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from transferkit.transferability import gbc, h_score, leep, logme, nce, shrinkage_h_score, transrate


def load_authors(path: str):
    folder = Path(path).expanduser()
    if not (folder / "LogME.py").is_file():
        raise SystemExit(f"--logme-repo: {folder} has no LogME.py (a checkout of thuml/LogME)")
    try:
        import numba  # noqa: F401

        numba_used = True
    except ImportError:
        stub = types.ModuleType("numba")
        stub.njit = lambda fn=None, **_: fn if fn is not None else (lambda g: g)
        sys.modules["numba"] = stub
        numba_used = False
    sys.path.insert(0, str(folder))
    import LogME as authors  # noqa: N813

    sys.path.remove(str(folder))
    return authors.LogME, numba_used


def direct_max_evidence(f: np.ndarray, y: np.ndarray) -> float:
    """Mean over classes of max over (alpha, beta) of log N(y_c; 0, I/beta + F F'/alpha) / N.

    An independent check for N < D: the marginal likelihood evaluated in N dimensions and
    maximised by Nelder-Mead over (log alpha, log beta) from two starts.
    """
    from scipy.optimize import minimize

    n = f.shape[0]
    w, u = np.linalg.eigh(f @ f.T)
    w = np.clip(w, 0.0, None)
    out = []
    for c in np.unique(y):
        p2 = (u.T @ (y == c).astype(float)) ** 2

        def neg(v, p2=p2):
            lam = np.exp(-v[1]) + w * np.exp(-v[0])
            return 0.5 * (n * np.log(2 * np.pi) + np.log(lam).sum() + (p2 / lam).sum())

        opts = {"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000}
        runs = [minimize(neg, x0, method="Nelder-Mead", options=opts) for x0 in ([0, 0], [5, 15])]
        out.append(-min(r.fun for r in runs) / n)
    return float(np.mean(out))


def timed(fn, repeats: int):
    """Median wall seconds, median CPU seconds of this process, and the last value of ``fn()``."""
    walls, cpus, value = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        value = fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return statistics.median(walls), statistics.median(cpus), value


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logme-repo", default=None, help="folder holding the authors' LogME.py")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--source-classes", type=int, default=1000, help="Z for LEEP / NCE")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--threads", type=int, default=None, help="BLAS threads (default: library default)"
    )
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    n, d, c = args.n, args.d, args.classes
    y = rng.integers(0, c, n)
    f = 0.5 * rng.standard_normal((c, d))[y] + rng.standard_normal((n, d))
    logits = (
        rng.standard_normal((n, args.source_classes))
        + 3.0 * np.eye(args.source_classes)[y % args.source_classes]
    )
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)

    print(f"# transferability speed: N={n}, D={d}, classes={c}, repeats={args.repeats} (median)")
    print(
        f"# machine: {platform.machine()}, {platform.processor() or platform.system()}, python {platform.python_version()}, numpy {np.__version__}"
    )
    limits = threadpool_limits(args.threads) if args.threads else None
    print(f"# BLAS threads: {args.threads or 'library default'}")

    rows = []
    if args.logme_repo:
        authors, numba_used = load_authors(args.logme_repo)
        note = "numba" if numba_used else "no numba"
        # interleave: ours, theirs (fixed point), theirs (ICML), for each repeat
        # wall-clock seconds, and CPU seconds of this process: with one BLAS thread the CPU
        # time is the work done, which the other jobs on a shared machine disturb far less
        walls: dict[str, list[float]] = {"ours": [], "fixed": [], "icml": []}
        cpus: dict[str, list[float]] = {"ours": [], "fixed": [], "icml": []}
        runs = {
            "ours": lambda: logme(f, y),
            "fixed": lambda: authors().fit(f, y),
            "icml": lambda: authors()._fit_icml(f.astype(np.float64), y),
        }
        values = {}
        for _ in range(args.repeats):
            for key, fn in runs.items():
                w0, c0 = time.perf_counter(), time.process_time()
                values[key] = fn()
                cpus[key].append(time.process_time() - c0)
                walls[key].append(time.perf_counter() - w0)
        mw = {k: statistics.median(v) for k, v in walls.items()}
        mc = {k: statistics.median(v) for k, v in cpus.items()}
        print()
        print(
            "| LogME implementation | wall s (median) | CPU s (median) | score "
            "| speed-up of transferkit, wall | speed-up, CPU |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for key, label in [
            ("fixed", f"authors' `LogME().fit` (fixed point, {note})"),
            ("icml", f"authors' `LogME()._fit_icml` (ICML 2021, {note})"),
            ("ours", "transferkit `logme`"),
        ]:
            print(
                f"| {label} | {mw[key]:.3f} | {mc[key]:.3f} | {values[key]:.6f} "
                f"| {mw[key] / mw['ours']:.1f}x | {mc[key] / mc['ours']:.1f}x |"
            )
        for clock, table in (("wall", walls), ("CPU", cpus)):
            listed = ", ".join(f"{k} {['%.3f' % t for t in v]}" for k, v in table.items())
            print(f"# all {clock} times: {listed}")
        # fewer samples than dimensions: the ICML routine works with the D x D matrix F'F
        # (all D eigenvalues), the JMLR fixed-point routine with the SVD of F (N values)
        print()
        print(
            f"| N < D check: first N rows, D={d}, {c} classes | authors' ICML (D x D) "
            "| authors' fixed point | transferkit | direct maximum of the marginal likelihood |"
        )
        print("|---|---:|---:|---:|---:|")
        for n_small in (200, 500):
            fs, ys = f[:n_small], y[:n_small]
            print(
                f"| N={n_small} | {authors()._fit_icml(fs, ys):.6f} | {authors().fit(fs, ys):.6f} "
                f"| {logme(fs, ys):.6f} | {direct_max_evidence(fs, ys):.6f} |"
            )

    # where the time goes: transferkit's steps, and the steps of the authors' fixed-point routine
    from scipy.linalg import blas, lapack

    def tridiagonal_eigenvalues():
        g = blas.dsyrk(1.0, f.T, trans=0, lower=1)
        lwork = int(lapack.dsytrd_lwork(d, lower=1)[0])
        _, diag, off, _, _ = lapack.dsytrd(g, lower=1, lwork=lwork, overwrite_a=1)
        return lapack.dsterf(diag, off)[0]

    gram = f.T @ f
    _, _, vh = np.linalg.svd(gram)
    t_syrk = timed(lambda: blas.dsyrk(1.0, f.T, trans=0, lower=1), args.repeats)[1]
    t_eig = timed(tridiagonal_eigenvalues, args.repeats)[1]
    t_ours = timed(lambda: logme(f, y), args.repeats)[1]
    t_gemm = timed(lambda: f.T @ f, args.repeats)[1]
    t_svd = timed(lambda: np.linalg.svd(gram), args.repeats)[1]
    t_proj = timed(lambda: f @ vh.T, args.repeats)[1]
    print()
    print(f"| step (median of {args.repeats}) | CPU seconds |")
    print("|---|---:|")
    print(f"| transferkit: Gram matrix F'F [{d}, {d}] (BLAS dsyrk, half product) | {t_syrk:.3f} |")
    print(
        f"| transferkit: Gram + tridiagonal reduction + eigenvalues (dsyrk, dsytrd, dsterf) | {t_eig:.3f} |"
    )
    print(f"| transferkit logme (all of it) | {t_ours:.3f} |")
    print(f"| authors: Gram matrix f.T @ f (numpy matmul) | {t_gemm:.3f} |")
    print(f"| authors: full SVD of the Gram matrix (np.linalg.svd) | {t_svd:.3f} |")
    print(f"| authors: F V, [{n}, {d}] x [{d}, {d}] | {t_proj:.3f} |")

    for name, fn in [
        ("logme", lambda: logme(f, y)),
        ("h_score", lambda: h_score(f, y)),
        ("shrinkage_h_score", lambda: shrinkage_h_score(f, y)),
        ("transrate", lambda: transrate(f, y)),
        ("gbc (spherical)", lambda: gbc(f, y)),
        ("gbc (diagonal)", lambda: gbc(f, y, gaussian="diagonal")),
        ("leep", lambda: leep(probs, y)),
        ("nce", lambda: nce(probs, y)),
    ]:
        rows.append((name, *timed(fn, args.repeats)))
    print()
    print(f"| score | inputs | wall s (median of {args.repeats}) | CPU s (median) | value |")
    print("|---|---|---:|---:|---:|")
    for name, t, tc, v in rows:
        inputs = (
            f"probs [{n}, {args.source_classes}]"
            if name in ("leep", "nce")
            else f"features [{n}, {d}]"
        )
        print(f"| {name} | {inputs}, {c} classes | {t:.3f} | {tc:.3f} | {v:.6g} |")
    if limits is not None:
        limits.unregister() if hasattr(limits, "unregister") else None


if __name__ == "__main__":
    main()
