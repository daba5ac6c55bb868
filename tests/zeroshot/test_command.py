"""`transferkit zeroshot`: the GBU protocol from the command line, on a generated GBU file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transferkit.cli import main

from ._helpers import make_problem
from .test_data import _write_gbu


def test_zeroshot_command_runs_the_gbu_protocol_with_verdicts(tmp_path, capsys):
    p = make_problem(seed=3)
    _write_gbu(tmp_path / "TOY", p)
    out = tmp_path / "out"
    args = ["zeroshot", "-o", str(out), "--no-progress", "data.kind=gbu", f"data.root={tmp_path}",
            "data.dataset=TOY", "methods=[eszsl, dap]", "trainer.seeds=[0, 1]"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    rows = {r["method"]: r for r in res["summary"]}
    assert set(rows) == {"attribute_prior", "eszsl", "dap"} and rows["attribute_prior"]["verdict"] == "baseline"
    for m in ("eszsl", "dap"):
        assert 0 <= rows[m]["u"] <= 1 and 0 <= rows[m]["h"] <= 1 and "verdict_vs_attribute_prior" in rows[m]
        assert rows[m]["zsl"] > rows["attribute_prior"]["zsl"]  # the attributes carry the unseen classes
    assert (out / "figures" / "seen_unseen_curve.png").exists()
    for run in res["runs"]:  # each class's accuracy is kept; their means over unseen / seen classes are u and s
        per_class, m = run["per_class"], run["metrics"]
        unseen = [str(c) for c in p["unseen"]]
        assert set(per_class["zsl"]) == set(unseen)
        assert np.mean([per_class["gzsl"][c] for c in unseen]) == pytest.approx(m["u"])
        assert np.mean([a for c, a in per_class["gzsl"].items() if c not in unseen]) == pytest.approx(m["s"])
        assert np.mean([per_class["gzsl_cal"][c] for c in unseen]) == pytest.approx(m["u_cal"])
        assert np.mean(list(per_class["zsl"].values())) == pytest.approx(m["zsl"])
    report = (out / "report.md").read_text()
    assert "per-class" in report and "calibrated stacking" in report
    assert (out / "figures" / "per_class_accuracy.png").exists() and "figures/per_class_accuracy.png" in report
    assert "zeroshot summary" in capsys.readouterr().out


def test_zeroshot_arrays_and_bad_input(tmp_path, capsys):
    p = make_problem(seed=1)
    y = p["y"]
    seen_idx = np.flatnonzero(np.isin(y, p["seen"]))
    np.savez(tmp_path / "z.npz", X=p["X"], y=y, class_embeddings=p["A"], trainval=seen_idx[::2],
             test_seen=seen_idx[1::2], test_unseen=np.flatnonzero(np.isin(y, p["unseen"])))
    out = tmp_path / "out"
    assert main(["zeroshot", "-o", str(out), "data.kind=arrays", f"data.path={tmp_path / 'z.npz'}",
                 "methods=[eszsl]", "trainer.seeds=[0]"]) == 0
    assert json.loads((out / "results.json").read_text())["verdict_metric"] == "h"  # no val split: no calibration
    np.savez(tmp_path / "bad.npz", X=p["X"], y=y, class_embeddings=p["A"][:5], trainval=seen_idx,
             test_seen=seen_idx, test_unseen=np.flatnonzero(np.isin(y, p["unseen"])))
    capsys.readouterr()
    assert main(["zeroshot", "-o", str(tmp_path / "o2"), "data.kind=arrays", f"data.path={tmp_path / 'bad.npz'}"]) == 2
    err = capsys.readouterr().err
    assert "classes" in err and "Traceback" not in err and not (tmp_path / "o2").exists()
    assert main(["zeroshot", "-o", str(tmp_path / "o3"), "data.kind=digits"]) == 2
    assert "cannot serve 'transferkit zeroshot'" in capsys.readouterr().err
