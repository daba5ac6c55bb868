"""The experiment layer every command shares: one schema, one data registry, one executor,
fast and clear refusals (issue: one experiment layer for every command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transferkit.cli import main
from transferkit.data._kinds import COMMAND_SETTING, data_kinds
from transferkit.experiments import parse_config

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("compare", "adapt", "multitask")


def _pair(path: Path, n_s: int = 120, n_t: int = 90, d: int = 6, k: int = 3, **overrides) -> Path:
    rng = np.random.default_rng(0)
    ys, yt = rng.integers(0, k, n_s), rng.integers(0, k, n_t)
    arrays = {"X_source": rng.normal(size=(n_s, d)) + ys[:, None], "y_source": ys,
              "X_target": rng.normal(size=(n_t, d)) + yt[:, None] + 0.5, "y_target": yt}
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def _mt(path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5)).astype(np.float32)
    np.savez(path, X=X, Y=np.stack([X[:, 0], X[:, 1]], 1))
    return path


# ------------------------------------------------------------------------- one schema


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shares_the_sections_and_key_names(command):
    cfg = parse_config({"trainer": {"max_epochs": 2, "seeds": [0, 1]}, "backbone": {"name": "mlp"}}, command)
    assert cfg.trainer.max_epochs == 2 and cfg.trainer.seed_list() == [0, 1]
    for section in ("data", "backbone", "trainer", "output"):
        assert section in type(cfg).model_fields
    # one spelling for one idea, and the old spellings say what they are now
    cfg = parse_config({"trainer": {"epochs": 3}}, command)
    assert cfg.trainer.max_epochs == 3


def test_old_spellings_are_accepted_with_the_new_name(caplog):
    cfg = parse_config({"data": {"kind": "amazon", "source": "books", "target": "dvd", "limit": 50}}, "adapt")
    assert (cfg.data.source_domain, cfg.data.target_domain, cfg.data.max_samples) == ("books", "dvd", 50)
    assert "'data.source' is deprecated, use 'data.source_domain'" in caplog.text
    cfg = parse_config({"architecture": {"name": "hard_sharing", "backbone": "mlp", "backbone_params": {"hidden": [4]}}},
                       "multitask")
    assert cfg.backbone.name == "mlp" and cfg.backbone.params == {"hidden": [4]}


@pytest.mark.parametrize("name", ["timm/resnet50", "torchvision/convnext_tiny", "hf/bert-base-uncased", "efficientnet_lite0"])
@pytest.mark.parametrize("command", COMMANDS)
def test_any_model_name_is_accepted_by_every_command(command, name):
    assert parse_config({"backbone": {"name": name}}, command).backbone.name == name


# ---------------------------------------------------------------------- one registry


def test_every_data_kind_is_registered_once_with_its_settings(capsys):
    kinds = {k.name: k for k in data_kinds()}
    for name in ("digits", "mnist_usps", "usps_mnist", "mnist_usps_jda", "usps_mnist_jda", "mnist_m", "amazon",
                 "text", "image_folder", "arrays", "multimnist", "school", "landmine"):
        assert name in kinds
    assert set(COMMAND_SETTING.values()) <= set(kinds["arrays"].settings)  # arrays serves every setting
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "arrays" in out and "unlabelled_target" in out and "multimnist" in out


def test_a_kind_refuses_a_setting_it_cannot_serve_and_keys_it_does_not_read():
    with pytest.raises(Exception, match="data kind 'multimnist' cannot serve 'transferkit compare'"):
        parse_config({"data": {"kind": "multimnist"}}, "compare")
    with pytest.raises(Exception, match="data.target_shift is not read by data kind 'arrays'"):
        parse_config({"data": {"kind": "arrays", "path": __file__, "target_shift": "invert"}}, "compare")


def test_adapt_runs_dann_and_coral_on_a_users_own_arrays(tmp_path, capsys):
    """The issue's check: source_only, dann and deep_coral on an .npz with an mlp, from the CLI."""
    p = _pair(tmp_path / "pair.npz")
    out = tmp_path / "adapt"
    args = ["adapt", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={p}", "backbone.name=mlp",
            "backbone.params={hidden: [16]}", "methods=[source_only, dann, deep_coral]", "trainer.max_epochs=2",
            "trainer.seeds=[0, 1]", "trainer.batch_size=32", "scorers=[entropy]"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    rows = {r["method"]: r for r in res["summary"]}
    assert set(rows) == {"source_only", "dann", "deep_coral"}
    assert rows["source_only"]["verdict"] == "baseline"
    for m in ("dann", "deep_coral"):
        assert rows[m]["verdict_vs_source_only"] and "gain_vs_source_only" in rows[m]
        assert 0 <= rows[m]["target_accuracy_mean"] <= 1
    assert "verdict" in printed and "source_only" in printed and "deep_coral" in printed
    assert res["transductive"] is True and "transductive" in (out / "report.md").read_text()
    # the held-out source split: the scorers never see the source samples trained on
    assert all(len(r["history"]) == 2 for r in res["runs"])


def test_adapt_target_without_labels_needs_a_labelled_test_split(tmp_path):
    p = _pair(tmp_path / "u.npz", y_target=None)
    with pytest.raises(Exception, match="unlabelled target needs X_target_test and y_target_test"):
        from transferkit.data._kinds import load_data

        load_data(parse_config({"data": {"kind": "arrays", "path": str(p)}}, "adapt").data, "adapt")


# -------------------------------------------------------------- bad input, every command

BAD = {
    "empty target": lambda t: (["data.kind=arrays", f"data.path={_pair(t / 'e.npz', X_target=np.zeros((0, 6)), y_target=np.zeros(0, int))}"],
                               "array 'X_target' is empty"),
    "missing key": lambda t: (["data.kind=arrays", f"data.path={_pair(t / 'm.npz', y_source=None)}"], "lacks arrays ['y_source']"),
    "missing file": lambda t: (["data.kind=arrays", f"data.path={t / 'nope.npz'}"], "nope.npz' does not exist"),
    "unknown key": lambda t: (["trainer.max_epoch=3"], "unknown key 'trainer.max_epoch'"),
    "wrong type": lambda t: (["trainer.batch_size=many"], "'trainer.batch_size'"),
    "unknown kind": lambda t: (["data.kind=arrayz"], "unknown data kind 'arrayz'. Did you mean 'arrays'"),
    "unknown backbone": lambda t: (["backbone.name=lenett"], "Did you mean 'lenet'"),
    "backbone error": lambda t: (["data.kind=arrays", f"data.path={_pair(t / 'b.npz')}", "backbone.name=mlp",
                                  "backbone.params={hidden: [-3]}"], "backbone 'mlp'"),
}


def _config_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_gives_one_clear_error_for_every_command(command, case, tmp_path, capsys):
    overrides, message = BAD[case](tmp_path)
    if command == "multitask" and case in ("empty target", "missing key", "backbone error"):
        path = tmp_path / "mt.npz"
        np.savez(path, **({"X": np.zeros((0, 5)), "Y": np.zeros((0, 2))} if case == "empty target" else
                          {"X": np.zeros((10, 5))} if case == "missing key" else {"X": np.ones((40, 5)), "Y": np.ones((40, 2))}))
        overrides = [f"data.path={path}" if o.startswith("data.path") else o for o in overrides]
        message = {"empty target": "array 'X' is empty", "missing key": "lacks arrays ['Y']"}.get(case, message)
    if command == "compare" and case == "backbone error":
        overrides.append("data.labels_per_class=[2]")
    out = tmp_path / "out"
    code = main([command, "-o", str(out), "--no-progress", *overrides])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert not out.exists()  # a refused command leaves nothing behind


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("text, message", [("data: [1, 2\n", "is not valid YAML"), ("- a\n- b\n", "must hold a mapping")])
def test_malformed_yaml_is_refused_clearly(command, text, message, tmp_path, capsys):
    assert main([command, "--config", str(_config_file(tmp_path, text))]) == 2
    assert message in capsys.readouterr().err


def test_a_refused_config_fails_before_torch_is_imported(tmp_path):
    code = ("import sys; from transferkit.cli import main; rc = main(['adapt', 'trainer.max_epoch=1']); "
            "print(rc, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.stdout.split() == ["2", "False"], out.stderr


def test_text_files_with_quoted_fields_and_string_labels(tmp_path):
    from transferkit.data.tables import load_text_domain

    p = tmp_path / "r.tsv"
    p.write_text('sentence\tlabel\n"a review\nover two lines, with ""quotes"""\tpositive\nshort one\tnegative\n')
    d = load_text_domain(p)
    assert d.X[0].startswith("a review\nover two lines") and list(d.y) == [1, 0] and d.class_names == ["negative", "positive"]


def test_multitask_reads_a_csv_with_label_columns(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(60, 3)), columns=["x0", "x1", "x2"])
    df["a"], df["b"] = df.x0 * 2, np.where(np.arange(60) % 5 == 0, np.nan, df.x1)
    df.to_csv(tmp_path / "t.csv", index=False)
    from transferkit.data._kinds import load_data

    cfg = parse_config({"data": {"kind": "arrays", "path": str(tmp_path / "t.csv"), "task_columns": ["a", "b"]}}, "multitask")
    train, test = load_data(cfg.data, "multitask")
    assert train.task_names == ["a", "b"] and train.X.shape[1] == 3 and len(train) + len(test) == 60


# ------------------------------------------------------------------ executor and logger


def test_ray_executor_gives_the_local_executors_results(tmp_path):
    pytest.importorskip("ray")
    from transferkit.experiments import run_adapt

    p = _pair(tmp_path / "pair.npz", n_s=80, n_t=60)
    base = {"data": {"kind": "arrays", "path": str(p)}, "backbone": {"name": "mlp", "params": {"hidden": [8]}},
            "methods": ["source_only", "deep_coral"], "scorers": ["entropy"],
            "trainer": {"max_epochs": 1, "batch_size": 32, "seeds": [0, 1]}}
    local = run_adapt(parse_config(base, "adapt"), tmp_path / "local", progress=False)
    ray_cfg = {**base, "trainer": {**base["trainer"], "executor": "ray", "workers": 2}}
    on_ray = run_adapt(parse_config(ray_cfg, "adapt"), tmp_path / "ray", progress=False)
    key = lambda res: sorted((r["method"], r["seed"], r["metrics"]["target_accuracy"]) for r in res["runs"])  # noqa: E731
    assert key(on_ray) == key(local)
    # each run wrote its own result: a rerun with --resume does not duplicate or redo any
    again = run_adapt(parse_config(ray_cfg, "adapt"), tmp_path / "ray", resume=True, progress=False)
    assert key(again) == key(local) and len(again["runs"]) == 4


@pytest.mark.parametrize("logger, produced", [("csv", "metrics.csv"), ("tensorboard", "events.out.tfevents.*"),
                                              ("mlflow", "meta.yaml")])
def test_lightning_loggers_write_per_epoch_curves(tmp_path, logger, produced):
    pytest.importorskip({"csv": "lightning", "tensorboard": "tensorboard", "mlflow": "mlflow"}[logger])
    from transferkit.experiments import run_multitask

    cfg = parse_config({"data": {"kind": "arrays", "path": str(_mt(tmp_path / "m.npz"))}, "backbone": {"name": "mlp"},
                        "methods": ["single_task", "equal"],
                        "trainer": {"max_epochs": 2, "seeds": [0], "logger": logger}}, "multitask")
    run_multitask(cfg, tmp_path / "out", progress=False)
    where = tmp_path / "out" / ("mlruns" if logger == "mlflow" else "runs/equal__seed0/logs")
    files = list(where.rglob(produced))
    assert files and files[0].stat().st_size > 0
    if logger == "mlflow":  # one run per grid run (single_task fits one network per task)
        names = {p.read_text().strip() for p in where.rglob("tags/mlflow.runName")}
        assert {"equal__seed0", "single_task__seed0"} <= names


def test_peak_memory_is_measured_per_run():
    """Each run's own peak, not the process's lifetime peak: a small run after a big one
    reports less than the big one."""
    import mmap
    import time

    from transferkit.experiments._executor import PeakMemory

    with PeakMemory() as big:
        # 80 MB of fresh pages, touched: a NumPy array could be served from memory the
        # allocator kept resident after earlier tests, and then the RSS would not move
        block = mmap.mmap(-1, 80 * 2**20)
        for offset in range(0, len(block), mmap.PAGESIZE):
            block[offset] = 1
        time.sleep(0.1)
    block.close()
    with PeakMemory() as small:
        time.sleep(0.1)
    assert big.peak_mb > small.peak_mb + 40


def test_packaged_encoders_are_pretrained_by_default(caplog):
    import logging

    from transferkit.experiments._common import resolve_pretrained

    caplog.set_level(logging.INFO, "transferkit")
    for command in COMMANDS:
        cfg = parse_config({"backbone": {"name": "efficientnet_lite0"}}, command)
        assert resolve_pretrained(cfg.backbone) is True
        assert resolve_pretrained(parse_config({"backbone": {"name": "efficientnet_lite0", "pretrained": False}},
                                               command).backbone) is False
        assert resolve_pretrained(parse_config({"backbone": {"name": "lenet"}}, command).backbone) is False
    assert "packaged pretrained weights" in caplog.text  # the choice is printed


# --------------------------------------------------------------------- the install


def test_readme_ci_and_constraints_agree():
    import re

    readme = (ROOT / "README.md").read_text()
    quick = readme[readme.index("## Quick start"):]
    setup, test = (b.strip() for b in re.findall(r"```bash\n(.*?)```", quick, re.S)[:2])
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup in ci and test in ci  # CI runs exactly the README's commands
    assert "-c constraints.txt" in setup and ".venv" in setup
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pkg in ("torch", "lightning", "torchjd", "quadprog", "qpsolvers", "ray", "pydantic", "numpy"):
        assert pkg in pins, f"{pkg} is not pinned in constraints.txt"
    # torchjd's QP solver is an extra now, named exactly as torchjd's metadata spells it (older pips
    # do not normalise "_" to "-" and silently skip an extra they do not find)
    from importlib import metadata

    provided = metadata.metadata("torchjd").get_all("Provides-Extra")
    assert "quadprog-projector" in provided and "torchjd[quadprog-projector]" in pyproject


# ----------------------------------------------------- shallow methods in the commands


def test_adapt_runs_instance_and_feature_estimators_against_their_base_learner(tmp_path):
    """KMM and CORAL from the command line: verdicts against the same base learner trained on the
    source only, KMM's effective sample size in the table and its weights in a figure."""
    from transferkit.experiments import run_adapt

    p = _pair(tmp_path / "pair.npz")
    cfg = parse_config({"data": {"kind": "arrays", "path": str(p)},
                        "methods": ["kmm", {"name": "coral", "params": {"estimator": "1nn"}}],
                        "trainer": {"seeds": [0, 1]}}, "adapt")
    res = run_adapt(cfg, tmp_path / "out", progress=False)
    rows = {r["method"]: r for r in res["summary"]}
    assert set(rows) == {"kmm", "coral", "source_only:logistic_regression", "source_only:1nn"}
    assert rows["kmm"]["vs"] == "source_only:logistic_regression" and rows["coral"]["vs"] == "source_only:1nn"
    assert 1 <= rows["kmm"]["effective_sample_size"] <= 96  # at most the training source's size
    assert (tmp_path / "out" / "figures" / "weights_kmm.png").exists()
    assert "effective_sample_size" in (tmp_path / "out" / "report.md").read_text()


def test_compare_runs_few_shot_estimators_against_target_only_and_source_only(tmp_path):
    from transferkit.experiments import run_compare

    p = _pair(tmp_path / "pair.npz")
    cfg = parse_config({"data": {"kind": "arrays", "path": str(p), "labels_per_class": [3]},
                        "backbone": {"name": "mlp", "params": {"hidden": [4]}},
                        "methods": ["tradaboost", "fa"], "pretrain": {"epochs": 1},
                        "trainer": {"max_epochs": 1, "seeds": [0, 1]}}, "compare")
    res = run_compare(cfg, tmp_path / "out", progress=False)
    rows = {r["method"]: r for r in res["summary"]}
    assert {"tradaboost", "fa", "target_only:logistic_regression", "source_only:logistic_regression"} <= set(rows)
    for m in ("tradaboost", "fa"):
        assert rows[m]["vs"] == "target_only:logistic_regression"
        assert "verdict_vs_source_only:logistic_regression" in rows[m]


def test_a_base_learner_without_sample_weight_is_refused_before_anything_runs(tmp_path, capsys):
    p = _pair(tmp_path / "pair.npz")
    out = tmp_path / "out"
    assert main(["adapt", "-o", str(out), "data.kind=arrays", f"data.path={p}", "methods=[{name: kmm, params: {estimator: 1nn}}]"]) == 2
    assert "does not accept sample_weight" in capsys.readouterr().err and not out.exists()


def _hetero(path: Path, n_s: int = 120, n_t: int = 90, ds: int = 7, dt: int = 4, k: int = 3) -> Path:
    """Source and target with different features: the class shifts the first columns of each."""
    rng = np.random.default_rng(0)
    ys, yt = rng.integers(0, k, n_s), rng.integers(0, k, n_t)
    Xs = rng.normal(size=(n_s, ds)) + 2.0 * np.eye(k, ds)[ys]
    Xt = rng.normal(size=(n_t, dt)) + 2.0 * np.eye(k, dt)[yt]
    np.savez(path, X_source=Xs, y_source=ys, X_target=Xt, y_target=yt)
    return path


def test_compare_runs_a_heterogeneous_method_on_arrays_of_different_widths(tmp_path, capsys):
    """DAMA from the command line on an .npz whose source has 7 features and target 4: verdicts
    against the base learner on the few target labels; source only is reported impossible."""
    p = _hetero(tmp_path / "het.npz")
    out = tmp_path / "out"
    args = ["compare", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={p}",
            "data.labels_per_class=[3]", "methods=[{name: dama, params: {n_components: 3}}]",
            "trainer.seeds=[0,1]"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    rows = {r["method"]: r for r in res["summary"]}
    assert set(rows) == {"dama", "target_only:logistic_regression"}
    assert rows["dama"]["vs"] == "target_only:logistic_regression" and rows["dama"]["verdict"]
    assert not any(k.startswith("verdict_vs_source_only") for k in rows["dama"])
    report = (out / "report.md").read_text()
    assert "Source only is impossible" in report and "(120, 7)" in report and "(90, 4)" in report


@pytest.mark.parametrize("command,methods", [("compare", "[tradaboost, dama]"), ("adapt", "[coral]")])
def test_a_homogeneous_method_on_different_widths_gets_one_error_naming_both_shapes(tmp_path, capsys,
                                                                                     command, methods):
    p = _hetero(tmp_path / "het.npz")
    out = tmp_path / "out"
    assert main([command, "-o", str(out), "data.kind=arrays", f"data.path={p}", f"methods={methods}"]) == 2
    err = capsys.readouterr().err
    assert "(120, 7)" in err and "(90, 4)" in err and not out.exists()
    if command == "compare":
        assert "'tradaboost'" in err and "'dama'" not in err.split("need")[0]
