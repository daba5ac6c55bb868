"""CORAL beside ADAPT's ``CORAL`` on the same centred inputs (agreement to 1e-8).

ADAPT (adapt-python, TensorFlow) is run in its own environment through ``--adapt-python``, on
arrays written to a temporary ``.npz``; its re-coloured source rows are compared with
transferkit's ``CORAL(reg=lambda_, center=False)`` (the paper's Algorithm 1: ``X_s C_s^{-1/2}
C_t^{1/2}`` with ``C = cov + lambda I``) for several sizes and regularisations. The inputs are
centred per domain first, as the agreement is stated for centred inputs (transferkit's default
``center=True`` also moves the source mean to the target's; on centred inputs both agree).

    python benchmarks/shallow_coral_adapt.py --adapt-python /path/to/venv-with-adapt/bin/python
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from transferkit.feature import CORAL

ADAPT_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from adapt.feature_based import CORAL
    d = np.load(sys.argv[1])
    out = {}
    for lam in d["lams"]:
        m = CORAL(lambda_=float(lam), verbose=0)
        out[f"lam_{lam:g}"] = m.fit_transform(d["Xs"], d["Xt"])
    from importlib.metadata import version
    np.savez(sys.argv[2], version=version("adapt"), **out)
""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapt-python", required=True, help="python of an environment with adapt installed")
    args = ap.parse_args()
    lams = np.array([1e-5, 1e-2, 1.0])
    print("| n_s | n_t | d | lambda | max abs difference | max abs value | agree to 1e-8 |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for seed, (ns, nt, d) in enumerate([(300, 200, 5), (1000, 800, 20), (400, 500, 50)]):
        rng = np.random.default_rng(seed)
        Xs = rng.normal(size=(ns, d)) @ rng.normal(size=(d, d))
        Xt = rng.normal(size=(nt, d)) @ rng.normal(size=(d, d)) * 2.0
        Xs, Xt = Xs - Xs.mean(0), Xt - Xt.mean(0)
        with tempfile.TemporaryDirectory() as tmp:
            inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
            np.savez(inp, Xs=Xs, Xt=Xt, lams=lams)
            subprocess.run([args.adapt_python, "-c", ADAPT_SCRIPT, str(inp), str(out)], check=True,
                           capture_output=True)
            theirs = dict(np.load(out))
        for lam in lams:
            domains = np.r_[np.ones(ns), -np.ones(nt)]  # sample_domain: >= 0 source, < 0 target
            ours = CORAL(reg=float(lam), center=False).fit(np.vstack([Xs, Xt]), None, domains)
            ref = theirs[f"lam_{lam:g}"]
            diff = float(np.abs(ours.transform(Xs, np.ones(ns)) - ref).max())
            agree = diff <= 1e-8 * max(1.0, float(np.abs(ref).max()))
            ok &= agree
            print(f"| {ns} | {nt} | {d} | {lam:g} | {diff:.2e} | {np.abs(ref).max():.3g} | {'yes' if agree else 'NO'} |")
    print(f"\n# ADAPT {theirs['version']}; all agree: {ok}")


if __name__ == "__main__":
    main()
