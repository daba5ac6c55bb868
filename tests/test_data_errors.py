"""Bad input gets an error that names the problem."""

import numpy as np
import pytest

from transferkit.data import Domain, TransferData, few_shot_indices, load_mnist, load_usps
from transferkit.data.tables import load_npz_domains, load_table_domains, load_text_domain
from transferkit.exceptions import ConfigError, DataError
from transferkit.experiments import parse_config, run_compare


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_mismatched_feature_dimensions_are_named(tmp_path):
    p = _npz(tmp_path / "d.npz", X_source=np.zeros((5, 4)), y_source=np.zeros(5), X_target=np.zeros((5, 3)), y_target=np.zeros(5))
    with pytest.raises(DataError, match=r"X_source has shape \(5, 4\) but X_target \(5, 3\)"):
        load_npz_domains(p)
    source, target, _ = load_npz_domains(p, different_features=True)  # heterogeneous methods only
    assert source.X.shape == (5, 4) and target.X.shape == (5, 3)


def test_missing_arrays_are_listed(tmp_path):
    p = _npz(tmp_path / "d.npz", X_source=np.zeros((5, 4)), y_source=np.zeros(5))
    with pytest.raises(DataError, match=r"lacks arrays \['X_target', 'y_target'\]"):
        load_npz_domains(p)


def test_labels_outside_the_declared_classes():
    with pytest.raises(DataError, match=r"labels must lie in \[0, 2\] for 3 classes, found values in \[0, 5\]"):
        Domain(np.zeros((4, 2), np.float32), np.array([0, 1, 2, 5]), "t", num_classes=3)


def test_nan_inputs_are_counted():
    X = np.zeros((4, 2), np.float32)
    X[1, 0] = np.nan
    with pytest.raises(DataError, match="1 of 4 inputs contain NaN"):
        Domain(X, np.zeros(4, np.int64), "t")


def test_empty_target_split():
    with pytest.raises(DataError, match="domain 'target' is empty"):
        Domain(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), "target")


def test_too_few_samples_for_the_label_budget():
    with pytest.raises(DataError, match="class 1 has only 1 samples available, fewer than the 2"):
        few_shot_indices(np.array([0, 0, 1]), 2, seed=0)


def test_source_without_labels_and_shape_mismatch():
    src = Domain(np.zeros((3, 2), np.float32), None, "src")
    tgt = Domain(np.zeros((3, 2), np.float32), np.zeros(3, np.int64), "tgt")
    with pytest.raises(DataError, match="source domain 'src' has no labels"):
        TransferData(src, tgt, tgt)
    other = Domain(np.zeros((3, 5), np.float32), np.zeros(3, np.int64), "src")
    with pytest.raises(DataError, match=r"input shapes differ.*\(5,\).*\(2,\)"):
        TransferData(other, tgt, tgt)


def test_missing_data_root_is_named(tmp_path):
    with pytest.raises(DataError, match="does not exist.*TRANSFERKIT_DATA"):
        load_usps(tmp_path / "nowhere")
    with pytest.raises(DataError, match="MNIST train files"):
        load_mnist(tmp_path, split="train")


def test_table_with_domain_column(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"domain": ["a"] * 4 + ["b"] * 4, "label": ["x", "y"] * 4, "f1": np.arange(8.0), "f2": np.ones(8)})
    df.to_csv(tmp_path / "t.csv", index=False)
    src, tgt = load_table_domains(tmp_path / "t.csv", "a", "b")
    assert src.X.shape == (4, 2) and tgt.num_classes == 2 and list(src.y) == [0, 1, 0, 1]
    with pytest.raises(DataError, match="no rows with domain == 'c'"):
        load_table_domains(tmp_path / "t.csv", "a", "c")
    with pytest.raises(DataError, match="has no column 'dom'"):
        load_table_domains(tmp_path / "t.csv", "a", "b", domain_column="dom")


def test_sst2_text_loader(data_root):
    dev = load_text_domain(data_root / "sst2" / "dev.tsv")
    assert len(dev) == 872 and dev.num_classes == 2
    assert np.bincount(dev.y).tolist() == [428, 444]  # the MANIFEST's counts


def test_arrays_config_end_to_end_and_label_budget_error(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    p = _npz(tmp_path / "d.npz", X_source=X, y_source=y, X_target=X + 0.5, y_target=y)
    cfg = {"data": {"kind": "arrays", "path": str(p), "labels_per_class": [2]}, "backbone": {"name": "mlp", "params": {"hidden": [8]}},
           "methods": [{"name": "full"}], "pretrain": {"epochs": 2}, "trainer": {"max_epochs": 2, "seeds": [0, 1]}}
    res = run_compare(parse_config(cfg), tmp_path / "out", progress=False)
    assert len(res["runs"]) == 6  # scratch, full and the source model alone, 2 seeds each
    cfg["data"]["labels_per_class"] = [100]
    with pytest.raises(DataError, match=r"labels_per_class=100 \(plus 100 per class for validation\) needs 200"):
        run_compare(parse_config(cfg), tmp_path / "out2", progress=False)


def test_config_requires_a_path_for_arrays(tmp_path):
    with pytest.raises(ConfigError, match="needs data.path"):
        parse_config({"data": {"kind": "arrays"}})


def test_parquet_table_and_image_folder_through_compare(tmp_path):
    """The two remaining data kinds reach a finished compare run."""
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(0)
    for domain, shift in (("amazon", 0), ("webcam", 40)):
        for c, colour in enumerate(((200, 30, 30), (30, 200, 30))):
            folder = tmp_path / "office" / domain / f"class{c}"
            folder.mkdir(parents=True)
            for i in range(8):
                px = np.clip(np.array(colour) + shift + rng.integers(-20, 20, (12, 12, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(px).save(folder / f"{i}.jpg")
    cfg = {"data": {"kind": "image_folder", "root": str(tmp_path / "office"), "source_domain": "amazon",
                    "target_domain": "webcam", "image_size": 8, "labels_per_class": [2]},
           "backbone": {"name": "mlp", "params": {"hidden": [8]}}, "methods": [{"name": "full"}],
           "pretrain": {"epochs": 2}, "trainer": {"max_epochs": 2, "seeds": [0, 1]}}
    res = run_compare(parse_config(cfg), tmp_path / "img_out", progress=False)
    assert {r["method"] for r in res["runs"]} == {"scratch", "full", "source_only"}
    assert res["source"]["source_samples"] == 16

    df = pd.DataFrame({"domain": ["s"] * 30 + ["t"] * 30, "label": (np.arange(60) % 2), "f": rng.normal(size=60)})
    df.to_parquet(tmp_path / "t.parquet")
    cfg = {"data": {"kind": "arrays", "path": str(tmp_path / "t.parquet"), "source_domain": "s", "target_domain": "t",
                    "labels_per_class": [2]},
           "backbone": {"name": "mlp", "params": {"hidden": [4]}}, "methods": [{"name": "linear_probe"}],
           "pretrain": {"epochs": 1}, "trainer": {"max_epochs": 1, "seeds": [0]}}
    res = run_compare(parse_config(cfg), tmp_path / "pq_out", progress=False)
    assert len(res["runs"]) == 3
