import pytest

import transferkit as tk
from transferkit.cli import main


def test_every_family_is_populated():
    fams = tk.list_families()
    for fam in ("backbone", "finetune", "adaptation", "aggregator", "weighting", "mtl_architecture"):
        assert fam in fams
        assert tk.list_methods(fam), fam


def test_every_method_has_a_one_line_description():
    for m in tk.list_methods():
        assert m.description and "\n" not in m.description, (m.family, m.name)


def test_unknown_method_suggests_nearest_names():
    with pytest.raises(tk.UnknownNameError, match=r"unknown finetune method 'l2sp'.*'l2_sp'"):
        tk.create("finetune", "l2sp")
    with pytest.raises(tk.UnknownNameError, match="Did you mean 'finetune'"):
        tk.list_methods("finetunes")


def test_unknown_backbone_suggests_nearest_names():
    from transferkit.backbones import create_backbone

    with pytest.raises(tk.UnknownNameError, match="'lenet'"):
        create_backbone("lenett")


def test_bad_hyperparameter_name_is_reported():
    with pytest.raises(tk.UnknownNameError, match="Accepted: alpha, beta"):
        tk.create("finetune", "l2_sp", alpah=0.1)


def test_methods_command_lists_every_registered_method(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for m in tk.list_methods():
        assert m.name in out
