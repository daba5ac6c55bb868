"""`transferkit adapt` and `transferkit multitask` reach their runners through the CLI."""

import json
from pathlib import Path

from transferkit.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_family_commands_need_a_config(capsys):
    assert main(["adapt"]) == 2
    assert "needs --config" in capsys.readouterr().err
    assert main(["multitask", "--config", "missing.yaml"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_multitask_command_runs_a_tiny_config(tmp_path, capsys, data_root):
    out = tmp_path / "mt"
    args = ["multitask", "--config", str(CONFIGS / "multitask_multimnist.yaml"), "-o", str(out),
            "trainer.max_epochs=1", "trainer.seeds=[0]", "data.n_train=200", "data.n_test=100", "methods=[single_task, equal]"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in res["summary"]} == {"single_task", "equal"}
    assert "multitask summary" in capsys.readouterr().out
    assert main(args) == 2  # the run exists now: refused without --resume
    assert "--resume" in capsys.readouterr().err
