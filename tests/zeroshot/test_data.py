import json

import numpy as np
import pytest
from scipy.io import savemat

from transferkit.data.zeroshot import (
    check_seen_unseen,
    load_awa_attributes,
    load_class_attributes,
    load_class_descriptions,
    load_gbu,
)
from transferkit.exceptions import DataError
from transferkit.zeroshot import ESZSL, gzsl_evaluate

from ._helpers import make_problem


def _write_gbu(folder, p, *, drop=None, att=None, unseen_in_trainval=False):
    """A GBU-format pair generated from a problem: att_splits.mat + res101.mat, 1-based."""
    folder.mkdir(parents=True, exist_ok=True)
    y = p["y"]
    rng = np.random.default_rng(0)
    seen_idx = rng.permutation(np.flatnonzero(np.isin(y, p["seen"])))
    unseen_idx = np.flatnonzero(np.isin(y, p["unseen"]))
    n_test_seen = len(seen_idx) // 5
    test_seen, trainval = seen_idx[:n_test_seen], seen_idx[n_test_seen:]
    if unseen_in_trainval:
        trainval = np.concatenate([trainval, unseen_idx[:3]])
    # train/val: the GBU val classes are seen classes held out of train
    val_classes = p["seen"][-3:]
    val = trainval[np.isin(y[trainval], val_classes)]
    train = trainval[~np.isin(y[trainval], val_classes)]
    A = p["A"] if att is None else att
    splits = {
        "att": (A / np.linalg.norm(A, axis=1, keepdims=True)).T,
        "original_att": A.T * 100,
        "allclasses_names": np.array([[np.array([f"class{c}"], dtype=object)] for c in range(len(p["A"]))], dtype=object),
        "trainval_loc": trainval[:, None] + 1,
        "train_loc": train[:, None] + 1,
        "val_loc": val[:, None] + 1,
        "test_seen_loc": test_seen[:, None] + 1,
        "test_unseen_loc": unseen_idx[:, None] + 1,
    }
    if drop:
        splits.pop(drop)
    savemat(folder / "att_splits.mat", splits)
    savemat(folder / "res101.mat", {"features": p["X"].T, "labels": (y + 1)[:, None]})
    return trainval, test_seen, unseen_idx


def test_gbu_loader_end_to_end(tmp_path):
    p = make_problem(seed=3)
    trainval, test_seen, unseen_idx = _write_gbu(tmp_path / "TOY", p)
    data = load_gbu(tmp_path, "TOY")
    np.testing.assert_allclose(data.X, p["X"].astype(np.float32))
    np.testing.assert_array_equal(data.y, p["y"])
    np.testing.assert_array_equal(np.sort(data.splits["trainval"]), np.sort(trainval))
    np.testing.assert_array_equal(data.splits["test_unseen"], unseen_idx)
    np.testing.assert_array_equal(data.seen_classes, p["seen"])
    np.testing.assert_array_equal(data.unseen_classes, p["unseen"])
    assert data.class_names[0] == "class0" and data.class_embeddings.shape == p["A"].shape
    np.testing.assert_allclose(np.linalg.norm(data.class_embeddings, axis=1), 1.0)
    raw = load_gbu(tmp_path / "TOY", attributes="original_att")
    np.testing.assert_allclose(raw.class_embeddings, p["A"] * 100)
    # the standard protocol runs on it: ESZSL on trainval, GZSL on test_seen + test_unseen
    Xtr, ytr = data.split("trainval")
    model = ESZSL().fit(Xtr, ytr, data.class_embeddings)
    idx = np.concatenate([data.splits["test_seen"], data.splits["test_unseen"]])
    res = gzsl_evaluate(model.decision_function(data.X[idx]), data.y[idx], data.seen_classes, data.unseen_classes)
    assert 0 <= res.u <= 1 and res.s > 0.5


@pytest.mark.parametrize("key", ["test_unseen_loc", "val_loc", "allclasses_names", "att"])
def test_gbu_missing_key_is_named(tmp_path, key):
    _write_gbu(tmp_path / "TOY", make_problem(seed=3), drop=key)
    with pytest.raises(DataError, match=f"'att_splits.mat' has no key '{key}'"):
        load_gbu(tmp_path / "TOY")


def test_gbu_missing_file_is_named(tmp_path):
    _write_gbu(tmp_path / "TOY", make_problem(seed=3))
    (tmp_path / "TOY" / "res101.mat").unlink()
    with pytest.raises(DataError, match="'res101.mat' not found"):
        load_gbu(tmp_path / "TOY")


def test_gbu_wrong_number_of_classes(tmp_path):
    p = make_problem(seed=3)
    _write_gbu(tmp_path / "TOY", p, att=p["A"][:-1])  # 13 attribute columns for 14 class names
    with pytest.raises(DataError, match="has 13 classes .* names 14 classes"):
        load_gbu(tmp_path / "TOY")


def test_gbu_unseen_overlapping_seen(tmp_path):
    _write_gbu(tmp_path / "TOY", make_problem(seed=3), unseen_in_trainval=True)
    with pytest.raises(DataError, match=r"unseen classes overlap the seen classes: \[10\] are in both"):
        load_gbu(tmp_path / "TOY")
    with pytest.raises(DataError, match="overlap"):
        check_seen_unseen([0, 1], [1, 2], 3)


def test_awa2_attributes_and_split(data_root):
    if not (data_root / "awa_attributes" / "AWA2" / "att_splits.mat").is_file():
        pytest.skip("AwA attribute files absent")
    cont = load_awa_attributes(data_root / "awa_attributes", "AWA2", "continuous")
    assert cont.matrix.shape == (50, 85) and cont.class_names[0] == "antelope"
    assert cont.attribute_names[:2] == ["black", "white"]
    assert len(cont.seen_classes) == 40 and len(cont.unseen_classes) == 10
    assert "sheep" in [cont.class_names[i] for i in cont.unseen_classes]
    # original_att (85 x 50, -1 = missing) is the continuous matrix with missing set to 0
    orig = load_awa_attributes(data_root / "awa_attributes", "AWA2", "original_att")
    np.testing.assert_allclose(orig.matrix, cont.matrix)
    att = load_awa_attributes(data_root / "awa_attributes", "AWA1", "att")
    np.testing.assert_allclose(np.linalg.norm(att.matrix, axis=1), 1.0, atol=1e-6)
    assert att.seen_classes is None  # AWA1 folder has no class lists


def test_class_attributes_from_arrays_files(tmp_path):
    A = np.arange(12.0).reshape(4, 3)
    np.savez(tmp_path / "a.npz", attributes=A, class_names=np.array(list("abcd")))
    got = load_class_attributes(tmp_path / "a.npz", n_classes=4)
    np.testing.assert_array_equal(got.matrix, A)
    assert got.class_names == list("abcd")
    np.savetxt(tmp_path / "a.csv", A.T, delimiter=",")
    with pytest.raises(DataError, match="has 3 classes .* the data has 4 classes .*transpose=True"):
        load_class_attributes(tmp_path / "a.csv", n_classes=4)
    np.testing.assert_array_equal(load_class_attributes(tmp_path / "a.csv", n_classes=4, transpose=True).matrix, A)
    with pytest.raises(DataError, match="has no key 'S2'"):
        load_class_attributes(tmp_path / "a.npz", key="S2")


def test_class_descriptions(tmp_path):
    (tmp_path / "d.json").write_text(json.dumps({"neg": "a bad review", "pos": ["a good review", "great"]}))
    got = load_class_descriptions(tmp_path / "d.json", class_names=["pos", "neg"])
    assert list(got) == ["pos", "neg"] and got["pos"] == ["a good review", "great"]
    (tmp_path / "d.tsv").write_text("# comment\nneg\tterrible\nneg\tbad\n")
    with pytest.raises(DataError, match=r"no description for classes \['pos'\]"):
        load_class_descriptions(tmp_path / "d.tsv", class_names=["neg", "pos"])


def test_protocol_on_a_gbu_file_uses_validation_only_for_gamma(tmp_path):
    from dataclasses import replace

    from transferkit.zeroshot import per_class_accuracy, run_zeroshot_protocol

    p = make_problem(seed=3)
    _write_gbu(tmp_path / "TOY", p)
    data = load_gbu(tmp_path / "TOY")
    out = run_zeroshot_protocol(ESZSL, data, seed=0)
    assert {"zsl", "u", "s", "h", "gamma", "u_cal", "s_cal", "h_cal", "ausuc", "curve"} <= set(out)
    # ZSL and uncalibrated GZSL are those of one ESZSL fit on trainval
    Xtv, ytv = data.split("trainval")
    model = ESZSL().fit(Xtv, ytv, data.class_embeddings)
    Xu, yu = data.split("test_unseen")
    assert out["zsl"] == per_class_accuracy(yu, model.predict(Xu, candidate_classes=data.unseen_classes))
    # changing the test samples changes the test numbers but never gamma
    X2 = data.X.copy()
    test = np.concatenate([data.splits["test_seen"], data.splits["test_unseen"]])
    X2[test] = X2[test] + np.random.default_rng(0).normal(scale=3.0, size=X2[test].shape)
    out2 = run_zeroshot_protocol(ESZSL, replace(data, X=X2), seed=0)
    assert out2["gamma"] == out["gamma"] and out2["h"] != out["h"]
