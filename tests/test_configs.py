"""Every shipped compare config validates, and its methods construct."""

from pathlib import Path

import pytest

import transferkit as tk
from transferkit.experiments import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(ROOT.glob("configs/compare*.yaml")) + sorted(ROOT.glob("configs/finetune*.yaml")) + sorted(ROOT.glob("src/transferkit/configs/*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_is_valid(path):
    cfg = load_config(path)
    for method in cfg.method_list():
        tk.create("finetune", method.name, **method.params)
    tk.get_method("backbone", cfg.backbone.name)


def test_the_configs_exist():
    assert len(CONFIGS) >= 3
