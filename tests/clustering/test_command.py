"""`transferkit cluster`: self-taught clustering from the command line, with verdicts against
co-clustering the target alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transferkit.cli import main
from transferkit.clustering import cluster_accuracy
from transferkit.experiments.cluster import matched_correct


def _counts(tmp_path, aux_features: int = 60):
    rng = np.random.default_rng(0)
    topics = rng.dirichlet(np.full(60, 0.2), size=2)
    y = np.repeat([0, 1], 40)
    X = np.stack([rng.multinomial(60, topics[c]) for c in y]).astype(float)
    aux_topics = rng.dirichlet(np.full(aux_features, 0.2), size=2)
    aux = np.stack([rng.multinomial(60, aux_topics[i % 2]) for i in range(120)]).astype(float)
    np.savez(tmp_path / "c.npz", X=X, y=y, X_aux=aux)
    return tmp_path / "c.npz"


def test_matched_correctness_averages_to_the_cluster_accuracy():
    rng = np.random.default_rng(1)
    y, labels = rng.integers(0, 3, 50), rng.integers(0, 4, 50)
    assert matched_correct(y, labels).mean() == pytest.approx(cluster_accuracy(y, labels))


def test_cluster_command_on_arrays_with_verdicts_against_the_target_alone(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["cluster", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={_counts(tmp_path)}",
            "methods=[{name: stc, params: {lam: 1.0}}, kmeans]", "trainer.seeds=[0, 1]"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    rows = {r["method"]: r for r in res["summary"]}
    assert set(rows) == {"itcc", "stc", "kmeans"} and rows["itcc"]["verdict"] == "baseline"
    for m in ("stc", "kmeans"):
        assert 0.5 <= rows[m]["accuracy_mean"] <= 1 and 0 <= rows[m]["nmi"] <= 1 and "verdict_vs_itcc" in rows[m]
    assert "cluster summary" in capsys.readouterr().out


def test_cluster_command_refuses_auxiliary_data_with_other_features(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", "-o", str(out), "data.kind=arrays", f"data.path={_counts(tmp_path, 25)}"]) == 2
    err = capsys.readouterr().err
    assert "60 features but the auxiliary data 25" in err and not out.exists()


def test_cluster_command_on_20_newsgroups(tmp_path, data_root):
    out = tmp_path / "out"
    assert main(["cluster", "-o", str(out), "--no-progress", f"data.root={data_root}",
                 "methods=[{name: stc, params: {lam: 1.0}}]",
                 "trainer.seeds=[0]"]) == 0
    rows = {r["method"]: r for r in json.loads((out / "results.json").read_text())["summary"]}
    assert rows["stc"]["accuracy_mean"] > 0.8  # the shared vocabulary carries the topics


@pytest.mark.slow  # matplotlib and eight small fits per seed: a few seconds on a loaded machine
def test_cluster_report_draws_the_lambda_sweep_and_the_co_cluster_structure(tmp_path):
    """stc without a lam picks it per seed by stability among trainer.lambdas; the report
    references the metrics-against-lambda figure and the reordered co-cluster matrix."""
    out = tmp_path / "out"
    args = ["cluster", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={_counts(tmp_path)}",
            "methods=[stc, {name: stc, label: stc_lam1, params: {lam: 1.0}}]", "trainer.seeds=[0, 1]",
            "trainer.lambdas=[0.5, 2.0]", "trainer.lambda_runs=2"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert res["figures"] == ["figures/lambda_sweep.png", "figures/co_clusters.png"]
    for fig in res["figures"]:
        assert (out / fig).stat().st_size > 5000 and f"]({fig})" in report
    selected = [r for r in res["runs"] if r["method"] == "stc"]
    assert len(selected) == 2
    for r in selected:
        sweep = r["lambda_sweep"]
        assert sweep["lambdas"] == [0.5, 2.0] and r["lam"] == sweep["chosen"] in (0.5, 2.0)
        assert sweep["stability"][sweep["lambdas"].index(r["lam"])] == max(sweep["stability"])
        assert len(sweep["accuracy"]) == len(sweep["nmi"]) == len(sweep["entropy"]) == 2
        assert f"stc seed {r['seed']}: λ = {r['lam']:g}" in report
    fixed = [r for r in res["runs"] if r["method"] == "stc_lam1"]
    assert all(r["lam"] == 1.0 and r["lambda_sweep"] is None for r in fixed)


def test_cluster_config_refuses_bad_lambdas(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cluster", "-o", str(out), "data.kind=arrays", f"data.path={_counts(tmp_path)}",
                 "trainer.lambdas=[0, 1]"]) == 2
    assert "every lambda must be a finite number > 0" in capsys.readouterr().err and not out.exists()
