"""The main job end to end: outputs, verdicts, reproducibility, refusing to overwrite."""

import json

import pytest

from transferkit.cli import main
from transferkit.exceptions import ConfigError
from transferkit.experiments import parse_config, run_compare

TINY = {
    "data": {"kind": "digits", "labels_per_class": [2, 4]},
    "backbone": {"name": "lenet", "params": {"widths": [6, 12], "feature_dim": 32}},
    "methods": [{"name": "linear_probe"}, {"name": "l2_sp"}],
    "pretrain": {"epochs": 4},
    "trainer": {"max_epochs": 6, "patience": 0, "seeds": [0, 1]},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    results = run_compare(parse_config(TINY), out, progress=False)
    return out, results


def test_compare_writes_results_report_and_figures(tiny_run):
    out, results = tiny_run
    saved = json.loads((out / "results.json").read_text())
    assert saved["schema"] == 1 and saved["command"] == "compare"
    assert saved["config"]["data"]["labels_per_class"] == [2, 4]
    assert {"torch", "lightning", "transferkit"} <= set(saved["environment"]["packages"])
    # scratch is always carried as the baseline (3 methods x 2 seeds x 2 budgets), and the
    # source model with no target label (source_only) beside it, as source and target share classes
    assert len(saved["runs"]) == 16
    assert {r["method"] for r in saved["runs"]} == {"scratch", "source_only", "linear_probe", "l2_sp"}
    for run in saved["runs"]:
        assert {"method", "seed", "metrics", "train_seconds", "peak_memory_mb", "trainable_params"} <= set(run)
        assert 0.0 <= run["metrics"]["accuracy"] <= 1.0
        assert run["train_seconds"] > 0 or run["method"] == "source_only"  # no training there
    verdicts = {r["verdict"] for r in saved["summary"]}
    assert verdicts <= {"baseline", "positive transfer", "negative transfer", "practically equivalent", "inconclusive"}
    for row in saved["summary"]:  # intervals of accuracies stay inside [0, 1]
        assert 0.0 <= row["ci95_low"] <= row["accuracy_mean"] <= row["ci95_high"] <= 1.0
    # shared classes: pretrained strategies start from the source head, and say so
    assert {r["head"] for r in saved["runs"] if r["method"] == "l2_sp"} == {"source head"}
    assert {r["head"] for r in saved["runs"] if r["method"] == "scratch"} == {"from scratch"}
    report = (out / "report.md").read_text()
    assert "| method |" in report and "scratch" in report
    for fig in ("accuracy_per_method.png", "accuracy_vs_labels.png"):
        assert (out / "figures" / fig).read_bytes()[:4] == b"\x89PNG"
    probe = next(r for r in saved["runs"] if r["method"] == "linear_probe")
    scratch = next(r for r in saved["runs"] if r["method"] == "scratch")
    assert probe["trainable_params"] < scratch["trainable_params"]


def test_same_config_and_seed_give_the_same_numbers(tiny_run, tmp_path):
    """A rerun matches, and running the fine-tuning jobs in 2 processes changes nothing."""
    _, first = tiny_run
    assert first["config"]["trainer"]["workers"] is None  # auto: parallel on this CPU
    sequential = {**TINY, "trainer": {**TINY["trainer"], "workers": 1}}
    again = run_compare(parse_config(sequential), tmp_path, progress=False)
    acc = lambda res: [(r["method"], r["seed"], r["labels_per_class"], r["metrics"]["accuracy"]) for r in res["runs"]]  # noqa: E731
    assert acc(again) == acc(first)


def test_parallel_workers_need_a_single_cpu_device(tmp_path):
    cfg = {**TINY, "trainer": {**TINY["trainer"], "workers": 2, "devices": 2, "strategy": "ddp"}}
    with pytest.raises(ConfigError, match="trainer.workers > 1 .* devices: 1"):
        run_compare(parse_config(cfg), tmp_path, progress=False)


def test_existing_output_is_never_overwritten_silently(tiny_run):
    out, _ = tiny_run
    before = (out / "results.json").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run.*--resume.*--overwrite"):
        run_compare(parse_config(TINY), out, progress=False)
    assert (out / "results.json").read_bytes() == before


def test_resume_refuses_a_changed_config(tiny_run, tmp_path):
    """--resume must not report old numbers under a new config: it names what changed."""
    import shutil

    out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    changed = {**TINY, "methods": [{"name": "linear_probe"}, {"name": "l2_sp", "params": {"alpha": 0.5}}]}
    with pytest.raises(ConfigError, match=r"cannot resume run 'l2_sp__n2__seed0'.*method.params.alpha"):
        run_compare(parse_config(changed), copy, resume=True, progress=False)
    changed = {**TINY, "pretrain": {"epochs": 5}}
    with pytest.raises(ConfigError, match="cannot resume the pretrained source model.*pretrain.epochs: 4 -> 5"):
        run_compare(parse_config(changed), copy, resume=True, progress=False)
    first = json.loads((out / "results.json").read_text())
    same = run_compare(parse_config(TINY), copy, resume=True, progress=False)  # nothing to redo
    assert [r["metrics"]["accuracy"] for r in same["runs"]] == [r["metrics"]["accuracy"] for r in first["runs"]]


def test_cli_reports_config_errors_without_a_traceback(tmp_path, capsys):
    assert main(["compare", "-o", str(tmp_path / "x"), "trainer.max_epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'trainer.max_epoch'" in err and "Did you mean 'max_epochs'" in err
    assert main(["compare", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compare", "-o", str(tmp_path / "y"), "methods=[{name: l2sp}]"]) == 2
    assert "Did you mean 'l2_sp'" in capsys.readouterr().err
    assert main(["compare", "-o", str(tmp_path / "z"), "backbone.name=lenett"]) == 2
    assert "Did you mean 'lenet'" in capsys.readouterr().err


def test_cli_compare_runs_and_prints_the_table(tmp_path, capsys):
    args = ["compare", "-o", str(tmp_path / "cli"), "--no-progress", "data.labels_per_class=[2]",
            "trainer.seeds=[0]", "trainer.max_epochs=2", "pretrain.epochs=1", "methods=[{name: linear_probe}]"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "linear_probe" in out and "scratch" in out
    assert (tmp_path / "cli" / "results.json").exists()


NEG = {
    "data": {"kind": "digits", "labels_per_class": [10]},
    "methods": [{"name": "linear_probe"}, {"name": "full"}],
    "pretrain": {"epochs": 15},
    "trainer": {"max_epochs": 40, "patience": 10, "seeds": [0, 1, 2]},
}


def test_unrelated_source_is_not_reported_as_a_win(tmp_path):
    """Shuffled source labels make the source useless: no strategy may be called positive,
    while the same strategies on the real source are (so the test can tell them apart)."""
    real = run_compare(parse_config(NEG), tmp_path / "real", progress=False)
    shuffled_cfg = parse_config({**NEG, "data": {**NEG["data"], "shuffle_source_labels": True}})
    shuffled = run_compare(shuffled_cfg, tmp_path / "shuffled", progress=False)
    real_verdicts = {r["method"]: r["verdict"] for r in real["summary"]}
    shuffled_verdicts = {r["method"]: r["verdict"] for r in shuffled["summary"]}
    assert "positive transfer" in real_verdicts.values()
    assert "positive transfer" not in shuffled_verdicts.values(), shuffled_verdicts
    assert "no method transferred significantly better" in shuffled["report"].lower()
    assert shuffled["source"]["source_train_accuracy"] < real["source"]["source_train_accuracy"]


def test_seeds_auto_adds_seeds_at_the_planned_looks_until_decided(tmp_path):
    """trainer.seeds: auto runs the first look (3 seeds), then adds seeds only at the planned
    looks, and stops early only when every verdict is decided; the report states the plan."""
    cfg = {"data": {"kind": "digits", "labels_per_class": [2]},
           "backbone": {"name": "lenet", "params": {"widths": [4, 8], "feature_dim": 16}},
           "methods": [{"name": "linear_probe"}], "pretrain": {"epochs": 2},
           "trainer": {"max_epochs": 2, "patience": 0, "seeds": "auto", "max_seeds": 4, "workers": 1}}
    res = run_compare(parse_config(cfg), tmp_path, progress=False)
    plan = res["source"]["sequential_plan"]
    seeds = res["source"]["seeds"]
    assert plan["looks"] == [3, 4] and plan["level_per_look"] == pytest.approx(1 - 0.05 / 2)
    assert seeds in ([0, 1, 2], [0, 1, 2, 3])
    decided = {"positive transfer", "negative transfer", "practically equivalent"}
    verdicts = [r[k] for r in res["summary"] if r["verdict"] != "baseline" for k in r if k.startswith("verdict_vs_")]
    if len(seeds) == 3:  # stopped at the first look: only allowed when everything was decided
        assert set(verdicts) <= decided
    assert {r["seed"] for r in res["runs"] if r["method"] == "linear_probe"} == set(seeds)
    assert "trainer.seeds: auto" in res["report"]


def test_seeds_auto_stops_at_its_time_budget(tmp_path):
    """With a time budget already spent after the first look, no seed is added and the report
    says why, whatever the verdicts."""
    cfg = {"data": {"kind": "digits", "labels_per_class": [2]},
           "backbone": {"name": "lenet", "params": {"widths": [4, 8], "feature_dim": 16}},
           "methods": [{"name": "linear_probe"}], "pretrain": {"epochs": 1},
           "trainer": {"max_epochs": 1, "patience": 0, "seeds": "auto", "max_seeds": 6, "workers": 1,
                       "time_budget_s": 0.001}}
    res = run_compare(parse_config(cfg), tmp_path, progress=False)
    assert res["source"]["seeds"] == [0, 1, 2]  # the first look always runs
    assert res["source"].get("stopped_by_time_budget") in (True, None)
    undecided = any(r[k] not in {"positive transfer", "negative transfer", "practically equivalent"}
                    for r in res["summary"] if r["verdict"] != "baseline" for k in r if k.startswith("verdict_vs_"))
    if undecided:
        assert res["source"]["stopped_by_time_budget"] is True and "time_budget_s" in res["report"]
