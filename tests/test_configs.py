"""Every bundled config validates for its command, and its methods and backbone construct."""

from pathlib import Path

import pytest

import transferkit as tk
from transferkit.experiments import load_config
from transferkit.experiments._config import bundled_configs

CONFIGS = bundled_configs()
COMMAND = {"compare": "compare", "finetune": "compare", "adapt": "adapt", "multitask": "multitask",
           "selftaught": "selftaught"}
FAMILY = {"compare": "finetune", "adapt": "adaptation"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bundled_config_is_valid(name):
    command = COMMAND[name.split("_")[0]]
    cfg = load_config(CONFIGS[name], command=command)
    assert load_config(name, command=command) == cfg  # a bundled config is found by name too
    for method in cfg.listed_methods():
        if command in FAMILY:
            tk.get_method(FAMILY[command], method.name)
    tk.get_method("backbone", cfg.backbone.name)


def test_the_configs_exist():
    assert {"compare_digits", "adapt_mnist_usps", "multitask_multimnist", "finetune_mnist_usps_ddp",
            "selftaught_bsds_usps"} <= set(CONFIGS)
    assert not (Path(__file__).resolve().parents[1] / "configs").exists()  # one copy, shipped in the package
