"""`transferkit compare` from one UCR data set to another (different label sets: new heads)."""

from __future__ import annotations

import json

import pytest

from transferkit.data.timeseries import offline_ucr_names
from transferkit.experiments import parse_config, run_compare

pytestmark = [
    pytest.mark.slow,  # about 10 s on 2 CPU cores
    pytest.mark.skipif(not {"ArrowHead", "ItalyPowerDemand"} <= set(offline_ucr_names()),
                       reason="needs the .ts files shipped in aeon's wheel (pip install aeon)"),
]


def test_compare_arrowhead_to_italy_power_demand(tmp_path):
    cfg = {
        "data": {"kind": "ucr", "source_domain": "ArrowHead", "target_domain": "ItalyPowerDemand",
                 "labels_per_class": [4]},
        "backbone": {"name": "fcn", "params": {"filters": [8, 16, 8]}},
        "methods": [{"name": "full"}, {"name": "linear_probe"}],
        "pretrain": {"epochs": 2},
        "trainer": {"max_epochs": 2, "patience": 0, "seeds": [0], "workers": 1},
    }
    run_compare(parse_config(cfg), tmp_path, progress=False)
    saved = json.loads((tmp_path / "results.json").read_text())
    runs = {r["method"]: r for r in saved["runs"]}
    # 3 source classes, 2 target classes: no source head fits, and no source_only baseline
    assert set(runs) == {"scratch", "full", "linear_probe"}
    assert runs["full"]["head"] != "source head"
    assert all(0.0 <= r["metrics"]["accuracy"] <= 1.0 for r in saved["runs"])
    assert runs["linear_probe"]["trainable_params"] == 8 * 2 + 2  # the new head only
