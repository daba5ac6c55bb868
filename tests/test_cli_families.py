"""`transferkit adapt` and `transferkit multitask` reach their runners through the CLI."""

import json

from transferkit.cli import main


def test_a_missing_config_names_the_file_and_the_bundled_examples(capsys):
    for command in ("adapt", "multitask", "compare"):
        assert main([command, "--config", "missing.yaml"]) == 2
        err = capsys.readouterr().err
        assert "'missing.yaml' does not exist" in err and "adapt_mnist_usps" in err


def test_multitask_command_runs_a_tiny_config(tmp_path, capsys, data_root):
    out = tmp_path / "mt"
    args = ["multitask", "--config", "multitask_multimnist", "-o", str(out),
            "trainer.max_epochs=1", "trainer.seeds=[0]", "data.n_train=200", "data.n_test=100", "methods=[single_task, equal]"]
    assert main(args) == 0
    res = json.loads((out / "results.json").read_text())
    assert {r["method"] for r in res["summary"]} == {"single_task", "equal"}
    assert {r["task"] for r in res["summary"]} == {"left", "right", "all main tasks"}
    assert "multitask summary" in capsys.readouterr().out
    assert main(args) == 2  # the run exists now: refused without --resume
    assert "--resume" in capsys.readouterr().err
