import json

import pytest

from transferkit._utils import default_data_root
from transferkit.exceptions import ConfigError
from transferkit.experiments import parse_config
from transferkit.experiments.adaptation import run_adapt


def run(cfg, out, resume=False):
    return run_adapt(parse_config(cfg, "adapt"), out, resume=resume, progress=False)

needs_data = pytest.mark.skipif(not (default_data_root() / "mnist_usps_jda").is_dir(),
                                reason="shared data not available")


@needs_data
def test_runner_writes_results_report_figures(tmp_path):
    cfg = {"data": {"kind": "mnist_usps_jda", "max_samples": 160},
           "backbone": {"name": "lenet", "params": {"widths": [4, 8], "feature_dim": 32}},
           "methods": ["source_only", {"name": "dann", "params": {"hidden": [16]}}],
           "trainer": {"max_epochs": 1, "batch_size": 32, "seeds": [0]},
           "scorers": ["entropy", "snd"]}
    res = run(cfg, tmp_path)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["schema"] == 1 and len(on_disk["runs"]) == 2
    m = on_disk["runs"][1]["metrics"]
    for key in ("target_accuracy", "a_distance_before", "a_distance_after", "domain_accuracy", "score_snd"):
        assert key in m
    assert 0 <= m["a_distance_after"] <= 2
    assert (tmp_path / "report.md").read_text().count("| dann |") == 1
    assert "transductive" in (tmp_path / "report.md").read_text()  # the JDA protocol says so
    assert (tmp_path / "figures" / "pca_dann.png").exists()
    assert (tmp_path / "figures" / "target_accuracy.png").exists()
    # resume: nothing to redo, same runs
    again = run(cfg, tmp_path, resume=True)
    assert [r["seed"] for r in again["runs"]] == [r["seed"] for r in res["runs"]]


def test_runner_rejects_unknown_keys(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'trainer.epoch'.*Did you mean 'max_epochs'"):
        run({"trainer": {"epoch": 3}}, tmp_path)
    with pytest.raises(Exception, match="unknown adaptation method 'dnn'"):
        run({"methods": ["dnn"]}, tmp_path)


@needs_data
def test_runner_passes_accelerator_devices_strategy_to_trainer(tmp_path, monkeypatch):
    import lightning as L

    seen = []

    class SpyTrainer(L.Trainer):
        def __init__(self, **kwargs):
            seen.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(L, "Trainer", SpyTrainer)
    cfg = {"data": {"kind": "mnist_usps_jda", "max_samples": 64},
           "backbone": {"name": "lenet", "params": {"widths": [2, 4], "feature_dim": 8}},
           "methods": ["source_only"],
           "trainer": {"max_epochs": 1, "batch_size": 32, "seeds": [0], "accelerator": "cpu",
                       "devices": 1, "strategy": "auto"},
           "scorers": ["entropy"]}
    run(cfg, tmp_path)
    assert len(seen) == 1
    assert seen[0]["accelerator"] == "cpu" and seen[0]["devices"] == 1 and seen[0]["strategy"] == "auto"


def test_runner_rejects_bad_devices(tmp_path):
    with pytest.raises(ConfigError, match="trainer.devices"):
        run({"trainer": {"devices": 1.5}}, tmp_path)


def test_scorers_see_a_held_out_source_split_not_the_training_source(tmp_path, monkeypatch):
    """IWCV and DEV are defined on held-out source samples: the runner trains on the rest."""
    import numpy as np

    import transferkit
    from transferkit.data import Domain
    from transferkit.experiments.adaptation import split_source

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    src = Domain(rng.normal(size=(60, 4)).astype(np.float32), y, "s", 3)
    train, held = split_source(src, 0.25, seed=0)
    assert len(held) == 15 and np.bincount(held.y).tolist() == [5, 5, 5]
    assert len(np.intersect1d(train.X[:, 0], held.X[:, 0])) == 0

    seen = []
    real_create = transferkit._registry.create

    def spy(family, name, **params):
        obj = real_create(family, name, **params)
        if family != "scorer":
            return obj

        def score(**kw):
            seen.append(len(kw["y_s"]))
            return obj(**kw)

        return score

    monkeypatch.setattr("transferkit._registry.create", spy)
    path = tmp_path / "p.npz"
    np.savez(path, X_source=src.X, y_source=y, X_target=src.X + 1, y_target=y)
    cfg = {"data": {"kind": "arrays", "path": str(path), "source_val_fraction": 0.25},
           "backbone": {"name": "mlp", "params": {"hidden": [4]}}, "methods": ["source_only"],
           "scorers": ["dev"], "trainer": {"max_epochs": 1, "seeds": [0]}}
    run(cfg, tmp_path / "out")
    assert seen == [15]  # the held-out quarter of the 60 source samples
