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


# --- one entry point, one set of names for backbones (create_backbone == create("backbone"))

BACKBONE_NAMES_BUILT = [
    ("lenet", {}),
    ("mlp", {"in_features": 8}),
    ("timm/resnet10t", {}),
    ("timm/test_resnet", {}),
    ("torchvision/resnet18", {}),
    ("torchvision/mobilenet_v3_small", {}),
]
BACKBONE_NAMES_REJECTED = [
    ("lenett", r"unknown backbone method 'lenett'.*Did you mean 'lenet'"),
    ("timm/not_a_model_xyz", r"unknown timm model 'not_a_model_xyz'"),
    ("torchvision/resnet1888", r"unknown torchvision model 'resnet1888'.*'resnet18'"),
    ("timm/", r"lacks the part after 'timm/'"),
    ("tim/resnet18", r"unknown backbone method 'tim/resnet18'.*'timm/resnet18'"),
]


@pytest.mark.parametrize("name,params", BACKBONE_NAMES_BUILT, ids=[n for n, _ in BACKBONE_NAMES_BUILT])
def test_both_backbone_entry_points_build_the_same_names(name, params):
    pytest.importorskip("timm")
    pytest.importorskip("torchvision")
    from transferkit.backbones import create_backbone

    assert tk.get_method("backbone", name).name == name
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    a = create_backbone(name, pretrained=False, num_outputs=3, **params)
    torch.manual_seed(0)
    b = tk.create("backbone", name, pretrained=False, num_outputs=3, **params)
    assert type(a) is type(b) and a.feature_dim == b.feature_dim
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name,message", BACKBONE_NAMES_REJECTED, ids=[n for n, _ in BACKBONE_NAMES_REJECTED])
def test_both_backbone_entry_points_reject_the_same_names_with_the_same_message(name, message):
    pytest.importorskip("timm")
    pytest.importorskip("torchvision")
    from transferkit.backbones import create_backbone

    errors = []
    for build in (create_backbone, lambda n: tk.create("backbone", n), lambda n: tk.get_method("backbone", n)):
        with pytest.raises(tk.UnknownNameError, match=message) as info:
            build(name)
        errors.append(str(info.value))
    assert errors[0] == errors[1] == errors[2]


def test_backbone_prefixes_are_listed_entries_with_an_example():
    entries = {m.name: m for m in tk.list_methods("backbone")}
    for prefix in ("timm/<name>", "torchvision/<name>", "hf/<id or folder>"):
        assert entries[prefix].is_prefix and entries[prefix].example.startswith(prefix.split("/")[0] + "/")
    assert not entries["lenet"].is_prefix
    # the unknown-name message lists the prefixes beside the registered names
    with pytest.raises(tk.UnknownNameError, match=r"timm/<name>, hf/<id or folder>"):
        tk.get_method("backbone", "no_such_net")


def test_backbone_bad_parameters_are_reported_by_both_entry_points():
    from transferkit.backbones import create_backbone

    for build in (create_backbone, lambda n, **p: tk.create("backbone", n, **p)):
        with pytest.raises(tk.UnknownNameError, match="bad parameters for backbone method 'lenet'"):
            build("lenet", widht=3)
