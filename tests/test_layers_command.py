"""``transferkit layers``: the Yosinski et al. (2014) grid end to end, and its refusals."""

import json

import pytest
import torch

from transferkit import create
from transferkit.backbones import create_backbone
from transferkit.cli import main
from transferkit.experiments.layers import transfer_first_groups

TINY = [
    "data.kind=digits", "data.labels_per_class=3", "data.val_per_class=2",
    "backbone.name=lenet", "backbone.params={widths: [4, 8], feature_dim: 16}",
    "pretrain.epochs=2", "trainer.max_epochs=2", "trainer.patience=0", "trainer.seeds=[0,1]",
    "layers.save_models=true", "trainer.workers=1",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("layers") / "run"
    assert main(["-q", "layers", "--no-progress", "-o", str(out), *TINY]) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_table_has_every_n_and_variant(tiny_run):
    out, res = tiny_run
    assert res["command"] == "layers"
    n_groups = res["source"]["layer_groups"]
    assert n_groups == 3  # lenet: conv, conv, fc
    rows = {(r["n"], r["method"]) for r in res["summary"]}
    expected = {(k, "scratch") for k in range(n_groups + 1)}
    expected |= {(k, v) for k in range(1, n_groups + 1) for v in ("AnB", "AnB+", "BnB", "BnB+")}
    assert rows == expected
    for r in res["summary"]:
        assert 0.0 <= r["ci95_low"] <= r["accuracy_mean"] <= r["ci95_high"] <= 1.0
        if r["method"] != "scratch":
            assert r["verdict_vs_scratch"] in {"positive transfer", "negative transfer", "practically equivalent",
                                               "inconclusive"}
    # 2 seeds x (scratch + 4 variants x 3 depths)
    assert len(res["runs"]) == 2 * (1 + 4 * n_groups)
    report = (out / "report.md").read_text()
    assert "AnB+" in report and "BnB" in report
    assert (out / "figures" / "accuracy_vs_layers.png").read_bytes()[:4] == b"\x89PNG"


def _load(out, run_id):
    return torch.load(out / "runs" / run_id / "model.pt", map_location="cpu", weights_only=True)


@pytest.mark.slow
def test_frozen_groups_are_the_source_models_bit_for_bit(tiny_run):
    out, _ = tiny_run
    source = torch.load(out / "pretrained.pt", map_location="cpu", weights_only=True)
    anb = _load(out, "AnB__n2__seed0")
    anb_plus = _load(out, "AnB+__n2__seed0")
    copied = [k for k in anb if k.startswith(("blocks.0.", "blocks.1."))]
    assert copied
    for k in copied:  # the first two groups: copied from the source and frozen
        assert torch.equal(anb[k], source[k]), k
    for k in (k for k in anb if k.startswith("blocks.2.")):  # the third: fresh, not the source's
        assert not torch.equal(anb[k], source[k]), k
    # fine-tuned copies moved away from the source
    assert any(not torch.equal(anb_plus[k], source[k]) for k in copied)
    # BnB: frozen groups equal the same seed's scratch network (its donor)
    bnb, base = _load(out, "BnB__n1__seed1"), _load(out, "scratch__seed1")
    for k in (k for k in bnb if k.startswith("blocks.0.")):
        assert torch.equal(bnb[k], base[k]), k


@pytest.mark.parametrize("override, message", [
    ("layers.n=[0,4]", "layers.n=4 exceeds the 3 layer groups of backbone 'lenet'"),
    ("layers.variants=[AnB,CnB]", "layers.variants"),
    ("data.labels_per_class=400", "data.labels_per_class=400"),
    ("pretrain.epochs=0", "pretrain.epochs > 0"),
    ("methods=[full]", "takes no method"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, override, message):
    out = tmp_path / "bad"
    assert main(["layers", "--no-progress", "-o", str(out), *TINY, override]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_anb_network_keeps_the_copied_groups_bit_identical_while_training():
    """The AnB construction on its own (fast): copy 2 groups, freeze them, train a few steps."""
    torch.manual_seed(0)
    source = create_backbone("lenet", widths=[4, 8], feature_dim=16, input_size=8, num_outputs=10)
    torch.manual_seed(1)
    model = transfer_first_groups(source, create_backbone("lenet", widths=[4, 8], feature_dim=16, input_size=8), 2)
    model = create("finetune", "layer_transfer", k=2).prepare(model, 5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 5, (16,))
    model.train()
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    after = model.state_dict()
    for k in after:
        if k.startswith(("blocks.0.", "blocks.1.")):
            assert torch.equal(after[k], source.state_dict()[k]), k
        else:
            assert not torch.equal(after[k], before[k]), k  # the rest trains
    with pytest.raises(ValueError, match="n must be in 0..3, got 4"):
        transfer_first_groups(source, model, 4)
