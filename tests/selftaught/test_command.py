"""`transferkit selftaught`: representations learnt on unlabelled source images for a few-label
target, from the command line, with verdicts against raw pixels, PCA and scratch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from transferkit.backbones import create_backbone
from transferkit.cli import main
from transferkit.experiments.selftaught import first_layer_filters

SMALL_SC = "{name: sparse_coding, params: {n_components: 8, patch_size: [4, 4], n_patches: 400, pool_grid: [2, 2]}}"
SMALL_PCA = "{name: pca, params: {n_components: 8, n_patches: 200}}"


def _bars(tmp_path, source_side: int = 20, **extra):
    """Source: unlabelled random images; target: 8x8 noisy bars of three orientations."""
    rng = np.random.default_rng(0)

    def image(c):
        x = np.zeros((8, 8))
        if c == 0:
            x[3:5] = 1
        elif c == 1:
            x[:, 3:5] = 1
        else:
            np.fill_diagonal(x, 1)
        return np.clip(x + 0.3 * rng.normal(size=(8, 8)), 0, 1)

    y, yt = np.repeat(np.arange(3), 12), np.repeat(np.arange(3), 10)
    arrays = {"X_source": rng.random((30, source_side, source_side)), "X_target": np.stack([image(c) for c in y]),
              "y_target": y, "X_target_test": np.stack([image(c) for c in yt]), "y_target_test": yt, **extra}
    np.savez(tmp_path / "st.npz", **{k: v for k, v in arrays.items() if v is not None})
    return tmp_path / "st.npz"


def _args(tmp_path, out, *more):
    return ["selftaught", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={_bars(tmp_path)}",
            "data.labels_per_class=[1, 3]", *more]


@pytest.mark.slow
def test_selftaught_command_on_arrays_reports_every_budget_with_verdicts(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_args(tmp_path, out, f"methods=[{SMALL_SC}, {SMALL_PCA}]", "trainer.seeds=[0, 1]")) == 0
    res = json.loads((out / "results.json").read_text())
    rows = {(r["labels_per_class"], r["method"]): r for r in res["summary"]}
    assert set(rows) == {(n, m) for n in (1, 3) for m in ("raw", "pca", "sparse_coding")}  # raw added
    for n in (1, 3):
        assert rows[(n, "raw")]["verdict"] == rows[(n, "pca")]["verdict"] == "baseline"
        sc = rows[(n, "sparse_coding")]
        assert {"verdict_vs_raw", "verdict_vs_pca"} <= set(sc) and 0 <= sc["accuracy_mean"] <= 1
    # one run per method, budget and seed, each with its own per-sample correctness for the verdicts
    assert len(res["runs"]) == 3 * 2 * 2
    for r in res["runs"]:
        samples = np.load(out / "runs" / r["run_id"] / r["samples"])
        assert samples.shape == (30,) and samples.mean() == pytest.approx(r["metrics"]["accuracy"])
    atoms = np.load(out / "runs" / "sparse_coding__seed0" / "filters.npy")
    assert atoms.shape == (8, 4, 4)
    assert {"figures/accuracy_vs_labels.png", "figures/filters.png"} <= set(res["figures"])
    report = (out / "report.md").read_text()
    assert "Accuracy (%) against labels per class" in report and "| sparse_coding |" in report
    assert "selftaught summary" in capsys.readouterr().out
    # --resume reuses every finished run
    assert main(_args(tmp_path, out, f"methods=[{SMALL_SC}, {SMALL_PCA}]", "trainer.seeds=[0, 1]", "--resume")) == 0
    again = json.loads((out / "results.json").read_text())
    assert [r["metrics"] for r in again["runs"]] == [r["metrics"] for r in res["runs"]]


@pytest.mark.slow
def test_deep_variants_pretrain_then_fine_tune_end_to_end_against_scratch(tmp_path):
    out = tmp_path / "out"
    probe = "{name: autoencoder, label: ae_probe, params: {finetune: linear_probe}}"
    assert main(_args(tmp_path, out, f"methods=[autoencoder, {probe}, {{name: simclr, params: {{temperature: 0.2}}}}]",
                      "backbone.params={widths: [4, 8], feature_dim: 16}", "pretrain.n_patches=64",
                      "pretrain.batch_size=32", "trainer.max_epochs=2", "trainer.seeds=[0]")) == 0
    res = json.loads((out / "results.json").read_text())
    methods = {r["method"] for r in res["summary"]}
    assert methods == {"raw", "pca", "scratch", "autoencoder", "ae_probe", "simclr"}  # the baselines are added
    runs = {(r["method"], r["labels_per_class"]): r for r in res["runs"]}
    # `full` (the default finetune) trains the whole pretrained backbone, the linear probe only its head
    assert runs[("autoencoder", 1)]["finetune"]["name"] == "full"
    assert runs[("ae_probe", 1)]["finetune"]["name"] == "linear_probe"
    assert runs[("autoencoder", 1)]["trainable_params"] > runs[("ae_probe", 1)]["trainable_params"] == 16 * 3 + 3
    assert runs[("autoencoder", 1)]["pretrain_seconds"] > 0 and runs[("scratch", 1)]["pretrain_seconds"] == 0
    assert all("verdict_vs_scratch" in r for r in res["summary"] if r["method"] in ("autoencoder", "simclr"))
    assert np.load(out / "runs" / "simclr__seed0" / "filters.npy").shape == (4, 5, 5)  # LeNet conv1


def test_first_layer_filters_of_a_conv_net_and_of_an_mlp():
    net = create_backbone("lenet", input_size=8, widths=(3, 4), feature_dim=8)
    conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert np.allclose(first_layer_filters(net, (1, 8, 8)), conv.weight.detach().numpy()[:, 0])
    mlp = create_backbone("mlp", in_features=2 * 4 * 4, hidden=(5,))
    lin = next(m for m in mlp.modules() if isinstance(m, torch.nn.Linear))
    expected = lin.weight.detach().numpy().reshape(5, 2, 4, 4).mean(axis=1)
    assert np.allclose(first_layer_filters(mlp, (2, 4, 4)), expected)


BAD = {
    "unknown method": (["methods=[sparse_codng]"], "unknown selftaught method 'sparse_codng'. Did you mean 'sparse_coding'"),
    "finetune on features": (["methods=[{name: pca, params: {finetune: full}}]"], "params.finetune applies only to"),
    "patch larger than the target": (["methods=[{name: sparse_coding, params: {patch_size: [9, 9]}}]"],
                                     "patch_size (9, 9) exceeds the target's 8x8 images"),
    # the default 8x8 patches on 8x8 digits leave one patch for a 3x3 pooling grid: this failed
    # inside sparse coding, after raw and pca had run and written their results
    "patch grid smaller than the pooling": (["methods=[sparse_coding]"],
                                            "patch_size (8, 8) with stride 1 gives a 1x1 grid of patches on the "
                                            "target's 8x8 images, smaller than pool_grid (3, 3)"),
    "unknown strategy": (["methods=[autoencoder]", "finetune=fulll"], "fulll"),
    "budget too large": (["methods=[pca]", "data.labels_per_class=[20]"], "data.labels_per_class=20"),
    "bad classifier": (["classifier.C=0"], "'classifier.C'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_configs_fail_before_anything_runs(tmp_path, capsys, case):
    extra, message = BAD[case]
    out = tmp_path / "out"
    assert main(_args(tmp_path, out, *extra)) == 2
    assert message in capsys.readouterr().err and not out.exists()


def test_bad_arrays_name_the_problem(tmp_path, capsys):
    for arrays, message in (({"X_source": None}, "lacks arrays ['X_source']"),
                            ({"X_target": np.zeros((36, 7))}, "flat rows of 7 values, not square images")):
        out = tmp_path / "out"
        p = _bars(tmp_path, **arrays)
        assert main(["selftaught", "-o", str(out), "data.kind=arrays", f"data.path={p}"]) == 2
        assert message in capsys.readouterr().err and not out.exists()
    small = tmp_path / "small"
    small.mkdir()
    p = _bars(small, source_side=6)
    assert main(["selftaught", "-o", str(tmp_path / "o2"), "data.kind=arrays", f"data.path={p}"]) == 2
    assert "at least as large as the target's 8x8 images" in capsys.readouterr().err


@pytest.mark.slow
def test_bsds500_kind_loads_the_photos_and_usps(data_root):
    from transferkit.data._kinds import load_data
    from transferkit.experiments import load_config

    cfg = load_config(None, [f"data.root={data_root}", "data.max_samples=50"], command="selftaught")
    data = load_data(cfg.data, "selftaught")
    assert len(data.source) == 200 and all(im.ndim == 2 and min(im.shape) >= 321 for im in data.source)
    assert 0 <= min(im.min() for im in data.source) and max(im.max() for im in data.source) <= 1
    assert data.target.X.shape == (50, 1, 16, 16) and len(data.target_test) == 50 and data.num_classes == 10
    with pytest.raises(Exception, match="target_domain must be 'usps' or 'mnist'"):
        load_data(load_config(None, [f"data.root={data_root}", "data.target_domain=svhn"],
                              command="selftaught").data, "selftaught")
