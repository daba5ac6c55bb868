"""The .ts reader, the series conventions (z-normalisation, lengths), the `ucr` data kind and
[N, C, T] arrays through the `arrays` kind."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transferkit.data._kinds import check_data_spec, load_data
from transferkit.data.timeseries import (
    default_length,
    find_ucr,
    load_ts_domain,
    load_ucr,
    load_ucr_pair,
    offline_ucr_names,
    read_ts,
    to_length,
    znormalise,
)
from transferkit.exceptions import ConfigError, DataError
from transferkit.experiments._config import AdaptData, CompareData, MultitaskData, parse_config

OFFLINE = offline_ucr_names()
needs_offline = pytest.mark.skipif(
    "GunPoint" not in OFFLINE, reason="no sktime/aeon wheel with GunPoint installed (the timeseries extra: pip install sktime)"
)

HEADER = """# a comment
@problemName Toy
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_reads_a_multivariate_variable_length_file(tmp_path):
    path = write(tmp_path, "Toy_TRAIN.ts", HEADER + "1,2,3:4,5,6:down\n0,1:1,0:up\n")
    ts = read_ts(path)
    assert ts.problem_name == "Toy" and ts.class_names == ["up", "down"] and ts.labels == ["down", "up"]
    np.testing.assert_array_equal(ts.series[0], [[1, 2, 3], [4, 5, 6]])
    assert list(ts.lengths) == [3, 2] and ts.n_channels == 2
    d = load_ts_domain(path, znorm=False)  # labels in the header's order; lengths resampled to 3
    assert d.X.shape == (2, 2, 3) and d.X.dtype == np.float32 and list(d.y) == [1, 0]
    np.testing.assert_allclose(d.X[1], [[0, 0.5, 1], [1, 0.5, 0]])
    padded = load_ts_domain(path, znorm=False, length_rule="pad")
    np.testing.assert_array_equal(padded.X[1], [[0, 1, 0], [1, 0, 0]])


def test_znormalisation_is_per_series_and_channel():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 5.0, (4, 2, 50))
    z = znormalise(x)
    np.testing.assert_allclose(z.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(-1), 1, atol=1e-12)
    # invariant to each series' own offset and scale
    np.testing.assert_allclose(znormalise(x * np.array([[[2.0]], [[7.0]], [[0.1]], [[1.0]]]) + 4), z, atol=1e-10)
    flat = znormalise(np.full((1, 1, 5), 3.0))
    np.testing.assert_array_equal(flat, 0.0)


def test_resampling_is_linear_interpolation():
    s = [np.array([[0.0, 10.0, 0.0]]), np.array([[2.0]])]
    out = to_length(s, 5)
    np.testing.assert_allclose(out[0, 0], [0, 5, 10, 5, 0])
    np.testing.assert_allclose(out[1, 0], [2, 2, 2, 2, 2])
    with pytest.raises(DataError, match="more than the padded length 2"):
        to_length(s, 2, rule="pad")
    with pytest.raises(DataError, match="length_rule must be one of resample, pad, truncate, got 'crop'"):
        to_length(s, 2, rule="crop")


def test_truncation_keeps_the_first_values_and_refuses_short_series():
    s = [np.arange(6.0).reshape(1, 6), np.arange(4.0).reshape(1, 4) + 10]
    np.testing.assert_array_equal(to_length(s, 4, rule="truncate")[:, 0], [[0, 1, 2, 3], [10, 11, 12, 13]])
    with pytest.raises(DataError, match="f.ts: case 1 has 4 values, fewer than the truncated length 5"):
        to_length(s, 5, rule="truncate", where="f.ts")
    assert [default_length([4, 6, 5], r) for r in ("resample", "pad", "truncate")] == [6, 6, 4]


@pytest.mark.parametrize("text, match", [
    ("@problemName T\n@univariate maybe\n@classLabel true a b\n@data\n1,2:a\n",
     r"Bad_TRAIN.ts, line 2: @univariate must be 'true' or 'false', got 'maybe'"),
    ("@problemName T\n@seriesLenght 3\n@data\n1,2:a\n", r"line 2: unknown header tag '@seriesLenght'"),
    ("@problemName T\n@seriesLength three\n@data\n", r"line 2: @serieslength must be an integer"),
    ("@problemName T\n1,2,3\n", r"line 2: expected a header line"),
    ("@problemName T\n@classLabel true a b\n", r"no '@data' line"),
    ("@classLabel true a b\n@data\n1,2,3:a\n1,?,3:b\n", r"line 4, channel 0: missing value \(NaN or '\?'\) at time step 1"),
    ("@classLabel true a b\n@data\n1,2,3:a\n1,NaN,3:b\n", r"line 4, channel 0: missing value"),
    ("@classLabel true a b\n@data\n1,2:3,4:a\n1,2:b\n", r"line 4: 1 channels, but the first case has 2"),
    ("@classLabel true a b\n@data\n1,2:3,4,5:a\n", r"line 3: the channels of one case differ in length"),
    ("@classLabel true a b\n@data\n1,2:c\n", r"line 3: class label 'c' is not among those the header declares"),
    ("@dimensions 3\n@classLabel true a\n@data\n1,2:a\n", r"@dimensions 3 but the cases have 1 channels"),
    ("@timeStamps true\n@classLabel true a\n@data\n(0,1):a\n", r"@timeStamps true .* not supported"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, text, match):
    path = write(tmp_path, "Bad_TRAIN.ts", text)
    with pytest.raises(DataError, match=match) as err:
        read_ts(path)
    assert "Bad_TRAIN.ts" in str(err.value)


def _archive(tmp_path, name, channels, n=6, length=12, labels=("a", "b"), seed=0):
    """A tiny archive-layout data set: root/<name>/<name>_TRAIN.ts and _TEST.ts."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    head = (f"@problemName {name}\n@univariate {'true' if channels == 1 else 'false'}\n"
            f"@dimensions {channels}\n@equalLength true\n@seriesLength {length}\n"
            f"@classLabel true {' '.join(labels)}\n@data\n")
    for split in ("TRAIN", "TEST"):
        rows = []
        for i in range(n):
            chans = ":".join(",".join(f"{v:.4f}" for v in rng.normal(size=length)) for _ in range(channels))
            rows.append(f"{chans}:{labels[i % len(labels)]}")
        (folder / f"{name}_{split}.ts").write_text(head + "\n".join(rows) + "\n")
    return folder


def test_pair_resamples_the_source_and_refuses_other_channel_counts(tmp_path):
    _archive(tmp_path, "Src", 1, length=30, labels=("x", "y", "z"))
    _archive(tmp_path, "Tgt", 1, length=12)
    _archive(tmp_path, "Multi", 3, length=12)
    src, tgt, test = load_ucr_pair("Src", "Tgt", root=tmp_path)
    assert src.X.shape == (6, 1, 12) and tgt.X.shape == test.X.shape == (6, 1, 12)
    assert src.num_classes == 3 and tgt.class_names == ["a", "b"]
    with pytest.raises(DataError, match=r"source 'Multi' \(.*Multi_TRAIN.ts\) has 3 channels but target 'Tgt' \(.*Tgt_TRAIN.ts\) has 1"):
        load_ucr_pair("Multi", "Tgt", root=tmp_path)
    with pytest.raises(DataError, match="'Nope' not found under"):
        find_ucr("Nope", tmp_path)


def test_ucr_kind_serves_compare_and_adapt(tmp_path):
    _archive(tmp_path, "Src", 1, length=30, labels=("x", "y", "z"))
    _archive(tmp_path, "Tgt", 1, length=12)
    _archive(tmp_path, "Tgt2", 1, length=12, seed=3)
    spec = CompareData(kind="ucr", root=str(tmp_path), source_domain="Src", target_domain="Tgt")
    data = load_data(spec, "compare")
    assert data.source.X.shape == (6, 1, 12) and data.source_num_classes == 3 and data.num_classes == 2
    assert len(data.target_test) == 6 and not data.transductive  # the official test split
    # two sets' labels are never the same classes in compare, even when spelled alike
    same_labels = load_data(CompareData(kind="ucr", root=str(tmp_path), source_domain="Tgt2", target_domain="Tgt"),
                            "compare")
    assert same_labels.source.class_names == ["Tgt2:a", "Tgt2:b"] and same_labels.target.class_names == ["Tgt:a", "Tgt:b"]
    assert same_labels.target_test.class_names == ["Tgt:a", "Tgt:b"]
    adapt = load_data(AdaptData(kind="ucr", root=str(tmp_path), source_domain="Tgt2", target_domain="Tgt"), "adapt")
    assert adapt.source.num_classes == adapt.num_classes == 2
    with pytest.raises(DataError, match=r"needs the same class labels; source has \['x', 'y', 'z'\]"):
        load_data(AdaptData(kind="ucr", root=str(tmp_path), source_domain="Src", target_domain="Tgt"), "adapt")
    with pytest.raises(ConfigError, match="data kind 'ucr' needs data.target_domain"):
        check_data_spec(CompareData(kind="ucr", root=str(tmp_path)), "compare")
    with pytest.raises(ConfigError, match="data.path is not read by data kind 'ucr'"):
        check_data_spec(CompareData(kind="ucr", target_domain="Tgt", path=str(tmp_path / "Tgt" / "Tgt_TRAIN.ts")), "compare")


@needs_offline
def test_offline_sets_match_the_archive_tables():
    """UCR archive summary: GunPoint 50 train / 150 test, length 150, 2 classes; ItalyPowerDemand
    67 / 1029, length 24; BasicMotions (UEA) 40 / 40, 6 dimensions, length 100, 4 classes."""
    gp, gp_test = load_ucr("GunPoint"), load_ucr("GunPoint", "test")
    assert gp.X.shape == (50, 1, 150) and gp_test.X.shape == (150, 1, 150) and gp.num_classes == 2
    assert {"GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions"} <= set(OFFLINE)
    ipd = load_ucr("ItalyPowerDemand", "test")
    assert ipd.X.shape == (1029, 1, 24)
    bm = load_ucr("BasicMotions")
    assert bm.X.shape == (40, 6, 100) and bm.class_names == ["Standing", "Running", "Walking", "Badminton"]
    np.testing.assert_allclose(gp.X.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(gp.X.std(-1), 1, atol=1e-4)


@needs_offline
def test_ucr_kind_by_name_offline():
    data = load_data(CompareData(kind="ucr", source_domain="GunPoint", target_domain="ItalyPowerDemand"), "compare")
    assert data.source.X.shape == (50, 1, 24) and data.target.X.shape == (67, 1, 24)
    assert len(data.target_test) == 1029


def test_series_arrays_flow_through_the_arrays_kind(tmp_path):
    """An .npz of [N, C, T] series: the mlp gets in_features = C * T, the FCN reads it as is."""
    from transferkit.experiments._common import build_backbone
    from transferkit.experiments._config import BackboneSpec

    rng = np.random.default_rng(0)
    path = tmp_path / "series.npz"
    np.savez(path, X_source=rng.normal(size=(20, 2, 16)).astype(np.float32), y_source=np.arange(20) % 2,
             X_target=rng.normal(size=(12, 2, 16)).astype(np.float32), y_target=np.arange(12) % 2)
    data = load_data(CompareData(kind="arrays", path=str(path)), "compare")
    assert data.target.input_shape == (2, 16)
    mlp = build_backbone(BackboneSpec(name="mlp", params={"hidden": [8]}), data.target.input_shape, 2, False)
    assert mlp.layer_groups()[0][1].in_features == 32
    fcn = build_backbone(BackboneSpec(name="fcn", params={"in_channels": 2, "filters": [4, 8, 4]}),
                         data.target.input_shape, 2, False)
    x = torch.from_numpy(data.target.X)
    assert mlp(x).shape == fcn(x).shape == (len(x), 2)


def test_length_rule_is_a_data_key_of_the_ucr_and_arrays_kinds(tmp_path):
    """data.length / data.length_rule reach the loaders: ucr series of lengths 3 and 5 (Toy),
    npz series of lengths 7 (source) and 4 (target); bad values are refused with the key."""
    folder = tmp_path / "Toy"
    folder.mkdir()
    write(folder, "Toy_TRAIN.ts", HEADER + "1,2,3:4,5,6:down\n0,1,2,3,4:1,0,1,0,1:up\n")
    write(folder, "Toy_TEST.ts", HEADER + "1,2,3,4:4,5,6,7:up\n")
    shapes = {}
    for rule, length in (("resample", None), ("pad", None), ("truncate", None), ("pad", 8), ("resample", 2)):
        spec = CompareData(kind="ucr", root=str(tmp_path), target_domain="Toy", length=length, length_rule=rule,
                           labels_per_class=[1])
        data = load_data(spec, "compare")
        shapes[rule, length] = (data.target.X.shape[-1], data.target_test.X.shape[-1])
    assert shapes == {("resample", None): (5, 5), ("pad", None): (5, 5), ("truncate", None): (3, 3),
                      ("pad", 8): (8, 8), ("resample", 2): (2, 2)}
    truncated = load_data(CompareData(kind="ucr", root=str(tmp_path), target_domain="Toy", length_rule="truncate",
                                      labels_per_class=[1]), "compare")
    first = znormalise(np.array([[1.0, 2, 3], [4, 5, 6]]))  # z-normalised whole, then cut to 3
    assert any(np.allclose(x, first) for x in truncated.target.X)
    with pytest.raises(DataError, match=r"Toy_TRAIN.ts: case 1 has 5 values, more than the padded length 4"):
        load_data(CompareData(kind="ucr", root=str(tmp_path), target_domain="Toy", length=4, length_rule="pad"),
                  "compare")
    with pytest.raises(ConfigError, match="data.length_rule"):
        parse_config({"data": {"kind": "ucr", "target_domain": "Toy", "length_rule": "crop"}}, "compare")
    with pytest.raises(ConfigError, match="data.length"):
        parse_config({"data": {"kind": "ucr", "target_domain": "Toy", "length": 0}}, "compare")

    rng = np.random.default_rng(0)
    path = tmp_path / "series.npz"
    np.savez(path, X_source=rng.normal(size=(6, 2, 7)).astype(np.float32), y_source=np.arange(6) % 2,
             X_target=rng.normal(size=(4, 2, 4)).astype(np.float32), y_target=np.arange(4) % 2)
    with pytest.raises(DataError, match="series of different lengths: set data.length and data.length_rule"):
        load_data(CompareData(kind="arrays", path=str(path), labels_per_class=[1]), "compare")
    cut = load_data(CompareData(kind="arrays", path=str(path), length=4, length_rule="truncate",
                                labels_per_class=[1]), "compare")
    assert cut.source.X.shape == (6, 2, 4)
    np.testing.assert_array_equal(cut.source.X, np.load(path)["X_source"][..., :4])
    with pytest.raises(ConfigError, match="data.length_rule needs data.length"):
        load_data(CompareData(kind="arrays", path=str(path), length_rule="pad"), "compare")
    with pytest.raises(ConfigError, match="data.length is read by data kind 'arrays' in compare and adapt only"):
        load_data(MultitaskData(kind="arrays", path=str(path), length=4), "multitask")
