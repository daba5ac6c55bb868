"""The ``rank`` and ``taxonomy`` commands end to end: outputs, scores equal to the library on
the same features, agreement statistics equal to scipy's, refused inputs (exit 2, no folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
import yaml

from transferkit.backbones import create_backbone
from transferkit.cli import main
from transferkit.experiments import parse_config
from transferkit.experiments.rank import agreement, run_rank, top1_regret
from transferkit.experiments.taxonomy import affinities_from_win_rates, run_taxonomy
from transferkit.transferability import (
    leep,
    load_taskonomy_affinities,
    logme,
    nce,
    solve_taxonomy,
    transrate,
)

D_IN = 6


@pytest.fixture(scope="module")
def arrays(tmp_path_factory) -> Path:
    """A 3-class target with a held-out test split (the scores read X_target only)."""
    rng = np.random.default_rng(0)
    means = rng.normal(0, 2, (3, D_IN))

    def draw(n):
        y = np.arange(n) % 3
        return (means[y] + rng.normal(0, 1, (n, D_IN))).astype(np.float32), y

    Xs, ys = draw(30)
    Xt, yt = draw(24)
    Xte, yte = draw(30)
    path = tmp_path_factory.mktemp("rank_data") / "tiny.npz"
    np.savez(path, X_source=Xs, y_source=ys, X_target=Xt, y_target=yt, X_target_test=Xte, y_target_test=yte)
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """An mlp with a 4-class source head, saved as a compare run saves pretrained.pt."""
    torch.manual_seed(5)
    model = create_backbone("mlp", in_features=D_IN, hidden=[8], num_outputs=4)
    path = tmp_path_factory.mktemp("rank_ckpt") / "pretrained.pt"
    torch.save(model.state_dict(), path)
    return path


def _candidates(checkpoint: Path) -> list[dict]:
    return [
        {"name": "mlp", "pretrained": False, "params": {"hidden": [8]}, "seed": 1, "label": "mlp_s1"},
        {"name": "mlp", "pretrained": False, "params": {"hidden": [8]}, "seed": 2, "label": "mlp_s2"},
        {"name": "mlp", "params": {"hidden": [8]}, "checkpoint": str(checkpoint), "label": "source_model"},
    ]


def _features(cand: dict, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    torch.manual_seed(cand.get("seed", 0))
    kw = {"checkpoint": cand["checkpoint"]} if "checkpoint" in cand else {}
    model = create_backbone("mlp", in_features=D_IN, num_outputs=0, **cand["params"], **kw).eval()
    with torch.no_grad():
        f = model.features(torch.from_numpy(X))
        probs = model.head(f).double().softmax(1).numpy() if "checkpoint" in cand else None
    return f.double().numpy(), probs


def test_rank_writes_the_ranking_and_scores_equal_the_library(arrays, checkpoint, tmp_path):
    cands = _candidates(checkpoint)
    cfg = parse_config({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": cands}, "rank")
    results = run_rank(cfg, tmp_path / "out", progress=False)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["command"] == "rank" and saved["schema"] == 1
    assert saved["ranking"]["target_samples"] == 24  # the pool, not the 30 test samples
    names = saved["ranking"]["scores"]
    assert names == ["logme", "h_score", "shrinkage_h_score", "transrate", "gbc", "leep", "nce"]
    rows = {r["candidate"]: r for r in saved["summary"]}
    assert set(rows) == {"mlp_s1", "mlp_s2", "source_model"}
    # LEEP and NCE only where the candidate has a source head (the checkpoint's)
    assert rows["source_model"]["source_head"] and not rows["mlp_s1"]["source_head"]
    assert rows["mlp_s1"]["leep"] is None and rows["source_model"]["leep"] is not None
    X, y = np.load(arrays)["X_target"], np.load(arrays)["y_target"]
    for cand in cands:
        f, p = _features(cand, X)
        row = rows[cand["label"]]
        assert row["logme"] == pytest.approx(logme(f, y), rel=1e-9)
        assert row["transrate"] == pytest.approx(transrate(f, y), rel=1e-9)
        if p is not None:
            assert row["leep"] == pytest.approx(leep(p, y), rel=1e-9)
            assert row["nce"] == pytest.approx(nce(p, y), rel=1e-9)
    # different seeds give different random features, hence different scores
    assert rows["mlp_s1"]["logme"] != rows["mlp_s2"]["logme"]
    # rows ordered by the first score, ranks 1..3 per score
    logmes = [r["logme"] for r in saved["summary"]]
    assert logmes == sorted(logmes, reverse=True)
    assert sorted(r["rank_logme"] for r in saved["summary"]) == [1, 2, 3]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| candidate |" in report and "source_model" in report and "LEEP and NCE need a source head" in report
    assert (tmp_path / "out" / "figures" / "scores_per_candidate.png").read_bytes()[:4] == b"\x89PNG"
    assert results["agreement"] == []


def test_agreement_statistics_equal_scipy():
    rng = np.random.default_rng(3)
    for _ in range(20):
        s, a = rng.normal(size=6), rng.uniform(size=6)
        got = agreement(s, a)
        assert got["weighted_tau"] == pytest.approx(scipy.stats.weightedtau(s, a).statistic)
        assert got["kendall_tau"] == pytest.approx(scipy.stats.kendalltau(s, a).statistic)
        assert got["pearson"] == pytest.approx(np.corrcoef(s, a)[0, 1])
        assert got["top1_regret"] == pytest.approx(a.max() - a[np.argmax(s)])
    # a perfect ranking: every statistic at its best
    assert agreement([1, 2, 3], [0.5, 0.6, 0.9]) == {
        "n": 3, "weighted_tau": pytest.approx(1.0), "kendall_tau": pytest.approx(1.0),
        "pearson": pytest.approx(scipy.stats.pearsonr([1, 2, 3], [0.5, 0.6, 0.9]).statistic), "top1_regret": 0.0}
    assert top1_regret([3, 2, 1], [0.5, 0.6, 0.9]) == pytest.approx(0.4)
    assert agreement([1.0, 1.0], [0.2, 0.3])["pearson"] is None  # constant scores: undefined


def test_rank_validate_reports_agreement_with_fine_tuned_accuracies(arrays, checkpoint, tmp_path):
    cfg = parse_config({
        "data": {"kind": "arrays", "path": str(arrays)}, "candidates": _candidates(checkpoint),
        "scores": ["logme", "leep"],
        "validate": {"strategy": "full", "labels_per_class": 2, "seeds": [0, 1]},
        "trainer": {"max_epochs": 1, "patience": 0, "workers": 1},
    }, "rank")
    results = run_rank(cfg, tmp_path, progress=False)
    rows = {r["candidate"]: r for r in results["summary"]}
    fine_tuned = [r for r in results["runs"] if r.get("strategy") == "full"]
    assert len(fine_tuned) == 6 and {r["seed"] for r in fine_tuned} == {0, 1}
    for label, row in rows.items():
        accs = [r["metrics"]["accuracy"] for r in fine_tuned if r["candidate"] == label]
        assert row["accuracy_mean"] == pytest.approx(np.mean(accs))
        assert (tmp_path / "runs" / label / "runs" / "full__n2__seed0" / "result.json").is_file()
    by_score = {a["score"]: a for a in results["agreement"]}
    labels = sorted(rows)
    s = np.array([rows[k]["logme"] for k in labels])
    acc = np.array([rows[k]["accuracy_mean"] for k in labels])
    ref = scipy.stats.weightedtau(s, acc).statistic
    assert by_score["logme"]["weighted_tau"] == pytest.approx(ref) or (np.isnan(ref) and by_score["logme"]["weighted_tau"] is None)
    assert by_score["logme"]["top1_regret"] == pytest.approx(acc.max() - acc[np.argmax(s)])
    assert by_score["leep"]["n"] == 1 and by_score["leep"]["top1_choice"] == "source_model"
    report = (tmp_path / "report.md").read_text()
    assert "## Validation: full fine-tuning, 2 labels per class" in report and "weighted_tau" in report


# ----------------------------------------------------------------------------- taxonomy

TINY_AFFINITIES = {"a__a": 0.9, "b__a": 0.1, "b__b": 0.8, "a__b": 0.2, "a__c": 0.7, "b__c": 0.3}


def test_taxonomy_on_a_hand_made_affinity_file(tmp_path):
    path = tmp_path / "aff.json"
    path.write_text(json.dumps(TINY_AFFINITIES))
    cfg = parse_config({"affinities": str(path), "budgets": [1, 2]}, "taxonomy")
    results = run_taxonomy(cfg, tmp_path / "out")
    one, two = results["summary"]
    # by hand: supervising a gives 0.9 + 0.2 + 0.7 = 1.8, supervising b 0.1 + 0.8 + 0.3 = 1.2
    assert one["supervised"] == "a" and one["objective"] == pytest.approx(1.8)
    assert two["supervised"] == "a, b" and two["objective"] == pytest.approx(0.9 + 0.8 + 0.7)
    assert results["runs"][0]["transfers"] == {"a": ["a"], "b": ["a"], "c": ["a"]}
    for b in (1, 2):
        assert (tmp_path / "out" / "figures" / f"taxonomy_budget_{b}.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Budget 2" in report and "| a | a, c |" in report


def test_taxonomy_from_win_rates_through_ahp(tmp_path):
    """Bradley-Terry win rates w_i / (w_i + w_j) are consistent: AHP returns w / sum(w)."""
    w = np.array([0.5, 0.3, 0.2])
    matrix = (w[:, None] / (w[:, None] + w[None, :])).tolist()
    win = {"c": {"sources": ["a", "b", "a__b"], "matrix": matrix}}
    assert affinities_from_win_rates(win) == pytest.approx({(("a",), "c"): 0.5, (("b",), "c"): 0.3,
                                                            (("a", "b"), "c"): 0.2})
    cfg = parse_config({"win_rates": win, "budgets": 1}, "taxonomy")
    results = run_taxonomy(cfg, tmp_path)
    assert results["runs"][0]["transfers"] == {"c": ["a"]}
    assert results["runs"][0]["affinity"]["c"] == pytest.approx(0.5)


def test_taxonomy_on_the_released_affinities(data_root, tmp_path):
    path = data_root / "taskonomy" / "all_affinities.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    cfg = parse_config({"affinities": str(path), "budgets": [1, 3], "max_order": 1}, "taxonomy")
    results = run_taxonomy(cfg, tmp_path)
    ref = solve_taxonomy(load_taskonomy_affinities(path), [1, 3], max_order=1)
    assert [r["supervised"] for r in results["summary"]] == [", ".join(s.supervised) for s in ref]
    assert [r["objective"] for r in results["summary"]] == pytest.approx([s.objective for s in ref])
    assert len(results["targets"]) == 22 and len(results["tasks"]) == 26
    assert (tmp_path / "figures" / "taxonomy_budget_3.png").is_file()


# ------------------------------------------------------------------------- refused input


def _cli(tmp_path: Path, command: str, cfg: dict, capsys, *extra: str) -> tuple[int, str, Path]:
    path = tmp_path / f"{command}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    rc = main([command, "--config", str(path), "--output", str(out), "--no-progress", *extra])
    return rc, capsys.readouterr().err, out


@pytest.mark.parametrize("cfg,message", [
    ({"affinities": "AFF", "budgets": [0.5, 2]}, "budget 0.5 is below the cheapest feasible taxonomy, which costs 1"),
    ({"affinities": "AFF", "budgets": 1, "tasks": ["a", "b"]}, "names unknown task(s) ['c']"),
    ({"affinities": "AFF", "budgets": 1, "costs": {"z": 1}}, "costs names unknown task 'z'"),
    ({"affinities": "/nowhere/aff.json", "budgets": 1}, "affinities: file '/nowhere/aff.json' does not exist"),
    ({"budgets": 1}, "give exactly one of 'affinities'"),
    ({"affinities": "AFF", "budget": 1}, "unknown key 'budget'. Did you mean 'budgets'?"),
])
def test_taxonomy_refuses_bad_input_with_exit_2(tmp_path, capsys, cfg, message):
    aff = tmp_path / "aff.json"
    aff.write_text(json.dumps(TINY_AFFINITIES))
    if cfg.get("affinities") == "AFF":
        cfg = {**cfg, "affinities": str(aff)}
    rc, err, out = _cli(tmp_path, "taxonomy", cfg, capsys)
    assert rc == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_rank_refuses_bad_input_with_exit_2(arrays, tmp_path, capsys):
    one_class = tmp_path / "one.npz"
    X = np.random.default_rng(0).normal(size=(10, D_IN)).astype(np.float32)
    np.savez(one_class, X_source=X, y_source=np.arange(10) % 2, X_target=X, y_target=np.zeros(10, int),
             X_target_test=X, y_target_test=np.arange(10) % 2)
    mlp = {"name": "mlp", "pretrained": False}
    cases = [
        ({"data": {"kind": "arrays", "path": str(one_class)}, "candidates": [mlp]},
         "has a single class ([0])"),
        ({"data": {"kind": "arrays", "path": str(arrays)},
          "candidates": [mlp, {"name": "mlp", "params": {"in_features": 5}, "label": "wrong_input"}]},
         # the backbone's shape probe (experiments/_common.py) finds it before any feature is extracted
         "candidate 'wrong_input' (mlp): backbone 'mlp' cannot read inputs of shape (6,)"),
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [mlp], "scores": ["logmee"]},
         "unknown transferability score 'logmee'. Did you mean 'logme'"),
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [mlp], "scores": ["leep"]},
         "leep needs a candidate with a source head"),
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [mlp, mlp]},
         "candidate 'mlp' is listed twice"),
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [{**mlp, "checkpoint": "/no/such.pt"}]},
         "checkpoint '/no/such.pt' does not exist"),
        ({"data": {"kind": "multimnist"}, "candidates": [mlp]}, "cannot serve 'transferkit rank'"),
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [mlp],
          "validate": {"labels_per_class": 50}}, "validate.labels_per_class=50"),
        # a bad score parameter is the score's, not the candidate's (it read "candidate 'mlp': pca_dim ...")
        ({"data": {"kind": "arrays", "path": str(arrays)}, "candidates": [mlp], "scores": ["gbc"],
          "score_params": {"gbc": {"pca_dim": -1}}}, "score_params.gbc {'pca_dim': -1}, scoring candidate 'mlp'"),
    ]
    for i, (cfg, message) in enumerate(cases):
        sub = tmp_path / f"case{i}"
        sub.mkdir()
        rc, err, out = _cli(sub, "rank", cfg, capsys)
        assert rc == 2, (cfg, err)
        assert message in err and "Traceback" not in err, err
        assert not out.exists()


def test_rank_validate_flag_turns_validation_on(arrays, tmp_path, capsys, monkeypatch):
    """--validate sets the config's validate section to its defaults (seen by the runner)."""
    import transferkit.experiments.rank as rank_module

    seen = {}

    def fake(cfg, out, **kw):
        seen["validation"] = cfg.validation
        return {"summary": [], "command": "rank"}

    monkeypatch.setattr(rank_module, "run_rank", fake)
    rc, _, _ = _cli(tmp_path, "rank", {"data": {"kind": "arrays", "path": str(arrays)}}, capsys, "--validate")
    assert rc == 0
    v = seen["validation"]
    assert (v.strategy, v.labels_per_class, v.seeds) == ("full", 10, [0, 1, 2])

