"""Frictions a first-time user met with the CLI: what `methods` prints, how a refused input
reads, and that a refused run leaves nothing behind."""

import json

import numpy as np
import pytest

import transferkit._registry as registry
from transferkit.cli import main


def test_methods_table_prints_bracketed_text_of_a_description(capsys, monkeypatch):
    # rich took "[x, x, 0]" in Feature Augmentation's description for a style tag and dropped it
    info = registry.MethodInfo("feature", "fa", object, "Feature Augmentation: ``x -> [x, x, 0]`` for "
                               "source rows and ``[x, 0, x]`` for target rows.")
    monkeypatch.setattr(registry, "list_methods", lambda family=None: [info])
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "[x, x, 0]" in out and "[x, 0, x]" in out


def test_a_description_does_not_stop_at_a_section_reference():
    # `transferkit methods` showed "IMTL-G (Liu et al. 2021, Sec." for imtl_g and forest
    class ImtlG:
        """IMTL-G (Liu et al. 2021, Sec. 3.2): equal projections on the unit task gradients. More."""

    assert registry._first_doc_line(ImtlG) == (
        "IMTL-G (Liu et al. 2021, Sec. 3.2): equal projections on the unit task gradients.")


def test_an_empty_methods_list_is_refused_not_replaced_by_the_defaults(tmp_path, capsys):
    # `methods=[]` used to run every default strategy (minutes of training) without a word
    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "methods=[]"]) == 2
    err = capsys.readouterr().err
    assert "'methods'" in err and "at least one method" in err
    assert not out.exists()


def test_config_errors_name_the_key_once_without_pydantic_internals(capsys):
    assert main(["compare", "trainer.max_epochs=0"]) == 2
    err = capsys.readouterr().err
    # was "'trainer.max_epochs': Value error, must be > 0, got 0 (got 0)"
    assert "'trainer.max_epochs': must be > 0, got 0" in err
    assert "Value error" not in err and "(got 0)" not in err
    assert main(["multitask", "data.kind=arrays", "data.task_kinds=[classificaton, regression]"]) == 2
    err = capsys.readouterr().err
    # was "'data.task_kinds.list[literal['classification','regression','binary']].0': ..." plus a
    # second line for the other member of the union
    assert "'data.task_kinds.0': Input should be 'classification', 'regression' or 'binary'" in err
    assert "literal[" not in err and err.count("data.task_kinds") == 1
    assert main(["compare", "trainer.seeds=foo"]) == 2
    err = capsys.readouterr().err
    assert err.count("'trainer.seeds'") == 1 and "'auto'" in err and "(got 'foo')" in err
    assert main(["selftaught", "classifier.C=0"]) == 2  # an upper-case key is a key, not a union tag
    assert "'classifier.C': must be > 0" in capsys.readouterr().err


def _pair(tmp_path, width: int = 3):
    rng = np.random.default_rng(0)
    path = tmp_path / "pair.npz"
    np.savez(path, X_source=rng.normal(size=(40, width)).astype(np.float32), y_source=np.arange(40) % 2,
             X_target=rng.normal(size=(40, width)).astype(np.float32), y_target=np.arange(40) % 2)
    return path


def test_adapt_refuses_methods_that_need_target_labels_before_running(tmp_path, capsys):
    # `adapt methods=[tca, fa]` trained tca, then failed inside FA with "needs a few labelled
    # target rows (sample_domain < 0 and y != -1)" and left a half-written output folder
    path = _pair(tmp_path)
    out = tmp_path / "run"
    assert main(["adapt", "-o", str(out), "data.kind=arrays", f"data.path={path}", "trainer.seeds=[0]",
                 "methods=[tca, fa, tradaboost, tree]"]) == 2
    err = capsys.readouterr().err
    assert "'fa', 'tradaboost', 'tree' need labelled target samples" in err and "transferkit compare" in err
    assert not out.exists()


def test_an_image_backbone_on_flat_arrays_is_a_clear_error_not_a_torch_traceback(tmp_path, capsys):
    # `compare data.kind=arrays data.path=features.npz` (default backbone lenet) crashed inside
    # pretraining with "RuntimeError: Expected 3D (unbatched) or 4D (batched) input to conv2d"
    path = _pair(tmp_path, width=5)
    out = tmp_path / "run"
    for command in ("compare", "adapt"):
        assert main([command, "-o", str(out), "data.kind=arrays", f"data.path={path}", "trainer.seeds=[0]",
                     "data.labels_per_class=[2]" if command == "compare" else "methods=[dann]"]) == 2
        err = capsys.readouterr().err
        assert "backbone 'lenet' takes images [C, H, W], but each input has shape (5,)" in err, err
        assert "backbone.name=mlp" in err and not out.exists()


def test_a_shallow_only_adapt_report_names_only_what_ran(tmp_path, capsys):
    # the report of `adapt methods=[coral]` said "backbone `lenet`" and "Verdicts compare each
    # method with `source_only` and `source_only:logistic_regression`", but no network and no
    # deep source_only ran
    out = tmp_path / "run"
    assert main(["adapt", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={_pair(tmp_path)}",
                 "trainer.seeds=[0]", "methods=[coral]"]) == 0
    report = (out / "report.md").read_text()
    assert "backbone" not in report and "IWCV/DEV" not in report
    assert "Verdicts compare each method with `source_only:logistic_regression` seed by seed" in report
    ran = {json.loads(p.read_text())["method"] for p in (out / "runs").glob("*/result.json")}
    assert ran == {"coral", "source_only:logistic_regression"}


def test_compare_on_sentences_is_not_mistaken_for_arrays_of_two_widths():
    # `compare data.kind=text ...` crashed before any training: "AttributeError: 'list' object
    # has no attribute 'shape'" in the check for heterogeneous (different-width) arrays
    from transferkit.data._base import Domain, TransferData
    from transferkit.experiments.compare import _heterogeneous

    def texts(name, n):
        return Domain([f"review {i}" for i in range(n)], np.arange(n) % 2, name, num_classes=2)

    data = TransferData(texts("books", 6), texts("kitchen", 6), texts("kitchen_test", 4), modality="text")
    assert _heterogeneous(data) is None


def test_adapt_refuses_the_text_kind_up_front(tmp_path, capsys):
    # `transferkit datasets` listed text for unlabelled_target, and `adapt data.kind=text` then died
    # in the runner with "ValueError: could not convert string to float: '<a review>'"
    tsv = tmp_path / "reviews.tsv"
    tsv.write_text("sentence\tlabel\ngood\t1\nbad\t0\n")
    out = tmp_path / "run"
    assert main(["adapt", "-o", str(out), "data.kind=text", f"data.source_path={tsv}", f"data.target_path={tsv}"]) == 2
    err = capsys.readouterr().err
    assert "data kind 'text' cannot serve 'transferkit adapt'" in err and not out.exists()


def test_a_whole_config_check_is_not_prefixed_by_an_empty_key(capsys):
    # was "'': give exactly one of 'affinities' ..."
    assert main(["taxonomy"]) == 2
    assert "\n  give exactly one of 'affinities'" in capsys.readouterr().err


def test_zeroshot_report_does_not_claim_to_model_test_set_noise(tmp_path):
    # its intro said "seed-level: the test-set noise ... is not modelled" and the verdict rule
    # below it "whose variance adds the shared test set's noise (estimated from the per-sample results)"
    rng = np.random.default_rng(0)
    emb = np.eye(4)
    y = np.repeat(np.arange(4), 10)
    path = tmp_path / "zsl.npz"
    np.savez(path, X=emb[y] + 0.1 * rng.normal(size=(40, 4)), y=y, class_embeddings=emb,
             trainval=np.flatnonzero(y < 3)[::2], test_seen=np.flatnonzero(y < 3)[1::2],
             test_unseen=np.flatnonzero(y == 3))
    out = tmp_path / "run"
    assert main(["zeroshot", "-o", str(out), "--no-progress", "data.kind=arrays", f"data.path={path}",
                 "methods=[eszsl]", "trainer.seeds=[0, 1]"]) == 0
    report = (out / "report.md").read_text()
    assert "on the seeds' spread alone" in report and "adds the shared test set's noise" not in report


def test_a_run_command_help_names_its_config_sections(capsys):
    # `transferkit compare --help` said only "config overrides, e.g. trainer.seeds=[0,1]": no word on
    # which keys exist or where they are described
    with pytest.raises(SystemExit):
        main(["rank", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "config keys: data, candidates, scores, score_params, batch_size, validate, trainer, output" in out
    assert "transferkit datasets" in out



def test_a_bad_strategy_hyper_parameter_is_a_clear_error_naming_the_method(tmp_path, capsys):
    # `compare` with l2_sp alpha=-1 ended in a bare "ValueError: alpha must be >= 0, got -1" traceback
    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "methods=[{name: l2_sp, params: {alpha: -1}}]"]) == 2
    assert "method 'l2_sp': alpha must be >= 0, got -1" in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_shallow_hyper_parameter_stops_adapt_before_any_run(tmp_path, capsys):
    # KMM checked B only when fitted: `adapt methods=[coral, {name: kmm, params: {B: -1}}]` ran
    # coral, wrote its run, then failed with "B must be > 0, got -1" naming no method
    out = tmp_path / "run"
    assert main(["adapt", "-o", str(out), "data.kind=arrays", f"data.path={_pair(tmp_path)}",
                 "methods=[coral, {name: kmm, params: {B: -1}}]"]) == 2
    assert "method 'kmm': B must be > 0, got -1" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command, args, message", [
    # each was a bare ValueError traceback (dann, gradnorm) or failed only once the method was
    # fitted, after other runs had been written (stc)
    ("adapt", ["backbone.name=mlp", "methods=[{name: dann, params: {hidden: [-3]}}]"],
     "method 'dann': hidden[0] must be an integer > 0, got -3"),
    ("multitask", ["backbone.name=mlp", "methods=[{name: gradnorm, params: {alpha: -1}}]"],
     "method 'gradnorm': alpha must be >= 0, got -1"),
    ("cluster", ["methods=[{name: stc, params: {lam: -1}}]"], "method 'stc': lam must be a finite number >= 0"),
])
def test_a_methods_own_parameter_check_is_a_clear_error_before_anything_runs(tmp_path, capsys, command, args,
                                                                            message):
    rng = np.random.default_rng(0)
    data = []
    if command == "adapt":
        data = ["data.kind=arrays", f"data.path={_pair(tmp_path)}"]
    elif command == "multitask":
        np.savez(tmp_path / "mt.npz", X=rng.normal(size=(30, 3)), Y=rng.normal(size=(30, 2)))
        data = ["data.kind=arrays", f"data.path={tmp_path / 'mt.npz'}"]
    elif command == "cluster":
        np.savez(tmp_path / "cl.npz", X=rng.poisson(1.0, size=(20, 6)), y=np.arange(20) % 2,
                 X_aux=rng.poisson(1.0, size=(20, 6)))
        data = ["data.kind=arrays", f"data.path={tmp_path / 'cl.npz'}"]
    out = tmp_path / "run"
    assert main([command, "-o", str(out), "trainer.seeds=[0]", *data, *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("override, message", [
    # trainer.lr=-1 was accepted, pretraining ran, then torch stopped fine-tuning with a bare
    # "ValueError: Invalid learning rate: -1.0" traceback
    ("trainer.lr=-1", "'trainer.lr': must be > 0, got -1.0"),
    ("trainer.weight_decay=-0.1", "'trainer.weight_decay': must be >= 0, got -0.1"),
    ("trainer.patience=-1", "'trainer.patience': must be >= 0, got -1"),
    ("pretrain.epochs=-1", "'pretrain.epochs': must be >= 0, got -1"),
    ("pretrain.lr=0", "'pretrain.lr': must be > 0, got 0.0"),
])
def test_numeric_training_keys_are_range_checked(tmp_path, capsys, override, message):
    assert main(["compare", "-o", str(tmp_path / "run"), override]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_compare_without_a_source_stage_starts_from_a_new_head(tmp_path, capsys):
    # `pretrain.epochs=0` ("skipped when epochs is 0") on digits failed with "reuse_head needs a
    # source head with 10 outputs, the backbone's head has 0": no source model, yet its head was reused
    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "--no-progress", "pretrain.epochs=0", "trainer.seeds=[0]",
                 "trainer.max_epochs=1", "methods=[full]", "data.labels_per_class=[1]"]) == 0
    report = (out / "report.md").read_text()
    assert "Pretrained strategies start from a **new head**" in report
    assert "no source model, the pretrained strategies start from random weights" in report
    assert main(["compare", "-o", str(tmp_path / "again"), "pretrain.epochs=0", "pretrain.reuse_head=true"]) == 2
    assert "pretrain.reuse_head needs a source model" in capsys.readouterr().err


def _disjoint_pair(tmp_path):
    # the target's class ids (5-7) never occur in the source (0-2): the same count after
    # max + 1, but no shared class
    rng = np.random.default_rng(0)
    path = tmp_path / "disjoint.npz"
    np.savez(path, X_source=rng.normal(size=(60, 4)).astype(np.float32), y_source=np.arange(60) % 3,
             X_target=rng.normal(size=(60, 4)).astype(np.float32), y_target=5 + np.arange(60) % 3)
    return path


def test_adapt_refuses_target_classes_the_source_never_has(tmp_path, capsys):
    # it ran and reported source_only at accuracy 0.000 without a word
    out = tmp_path / "run"
    assert main(["adapt", "-o", str(out), "data.kind=arrays", f"data.path={_disjoint_pair(tmp_path)}",
                 "backbone.name=mlp", "methods=[source_only]"]) == 2
    assert "target labels [5, 6, 7] never occur in the source labels [0, 1, 2]" in capsys.readouterr().err
    assert not out.exists()


def test_compare_does_not_reuse_the_source_head_for_other_class_ids():
    # the report said "source head (source and target share their classes)" and source_only
    # scored 0.000: the same number of class ids was taken for the same classes
    from transferkit.data._base import Domain, TransferData
    from transferkit.experiments.compare import _same_classes

    X = np.zeros((6, 2), np.float32)
    source = Domain(X, np.array([0, 1, 2] * 2), "source", 8)
    data = TransferData(source, Domain(X, np.array([5, 6, 7] * 2), "target", 8),
                        Domain(X, np.array([5, 6, 7] * 2), "test", 8))
    assert not _same_classes(data)
    same = TransferData(source, Domain(X, np.array([2, 1, 0] * 2), "target", 8), Domain(X, np.arange(6) % 3, "t", 8))
    assert _same_classes(same)


def test_string_class_labels_in_an_npz_are_named_as_such(tmp_path, capsys):
    # was "could not be loaded ...: ValueError: invalid literal for int() with base 10: np.str_('b')"
    path = tmp_path / "named.npz"
    names = np.array(["cat", "dog"])[np.arange(20) % 2]
    np.savez(path, X_source=np.zeros((20, 3)), y_source=names, X_target=np.zeros((20, 3)), y_target=names)
    assert main(["adapt", "-o", str(tmp_path / "run"), "data.kind=arrays", f"data.path={path}"]) == 2
    err = capsys.readouterr().err
    assert "y_source: class labels must be integer ids 0..K-1, got string values such as ['cat', 'dog', 'cat']" in err



def test_taxonomy_takes_inline_affinities(tmp_path):
    # the documented inline mapping {"src__tgt": value} was solved, then the runner died with
    # "ValueError: too many values to unpack (expected 2)" reading its keys as (sources, target)
    out = tmp_path / "run"
    assert main(["taxonomy", "-o", str(out), "--no-progress", "affinities={a__b: 0.5, a__c: 0.3}", "budgets=[1]"]) == 0
    assert json.loads((out / "results.json").read_text())["summary"][0]["supervised"] == "a"


def test_taxonomy_prints_whole_budgets_as_counts(tmp_path):
    # the summary printed "budget 1.000, cost 1.000" for budgets=[1]
    out = tmp_path / "run"
    assert main(["taxonomy", "-o", str(out), "--no-progress", "affinities={a__b: 0.5, a__c: 0.3}", "budgets=[1]"]) == 0
    row = json.loads((out / "results.json").read_text())["summary"][0]
    assert row["budget"] == 1 and isinstance(row["budget"], int) and row["cost"] == 1
    assert "\n| 1 | 1 | " in (out / "report.md").read_text()


def test_only_rank_zero_of_a_ddp_run_logs_progress(monkeypatch):
    # `compare --config finetune_mnist_usps_ddp` printed "pretraining lenet on mnist_test ..." twice
    import logging

    from transferkit.cli import _configure_logging

    logger = logging.getLogger("transferkit")
    level = logger.level
    try:
        monkeypatch.setenv("LOCAL_RANK", "1")
        _configure_logging(quiet=False)
        assert logger.level == logging.WARNING
        monkeypatch.setenv("LOCAL_RANK", "0")
        _configure_logging(quiet=False)
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(level)


def test_an_override_the_shell_split_says_to_quote_it(capsys):
    # the README line `methods=[kmm,coral,{name: sa, params: {estimator: 1nn}}]`, pasted unquoted,
    # reached us as 'methods=[kmm,coral,{name:' 'sa,' ... and failed with a bare YAML parser message
    assert main(["adapt", "methods=[kmm,coral,{name:", "sa,", "params:", "{estimator:", "1nn}}]"]) == 2
    err = capsys.readouterr().err
    assert "the shell split it at a space: quote the whole override" in err


def test_datasets_help_lists_every_setting(capsys):
    # it listed three (labelled_target, unlabelled_target, multitask) of the six settings
    from transferkit.data._kinds import SETTINGS

    with pytest.raises(SystemExit):
        main(["datasets", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(s in out for s in SETTINGS)


def test_cluster_on_few_features_says_which_feature_clusters_to_lower(tmp_path, capsys):
    # 6 features and the default 32 feature clusters: "n_feature_clusters=32 exceeds the number of
    # features in X (6)" from inside the fit, for any methods list (itcc is always added)
    rng = np.random.default_rng(0)
    path = tmp_path / "counts.npz"
    np.savez(path, X=rng.poisson(1.0, (30, 6)), y=np.arange(30) % 2, X_aux=rng.poisson(1.0, (20, 6)))
    out = tmp_path / "run"
    assert main(["cluster", "-o", str(out), "data.kind=arrays", f"data.path={path}", "methods=[kmeans]"]) == 2
    err = capsys.readouterr().err
    assert "the data has 6 features, fewer than the feature clusters of 'itcc' (n_feature_clusters=32)" in err
    assert "{name: itcc, params: {n_feature_clusters: 6}}" in err and not out.exists()


def test_seeds_auto_with_one_seed_at_most_names_the_key(capsys):
    # was "min_seeds must be >= 2, got 1", a name the config does not have
    assert main(["compare", "trainer.seeds=auto", "trainer.max_seeds=1"]) == 2
    assert "'trainer': max_seeds must be >= 2 with seeds: auto" in capsys.readouterr().err


def test_an_accelerator_name_is_checked_and_a_missing_gpu_is_said_before_training(tmp_path, capsys, monkeypatch):
    # 'gpus' and a GPU on a CPU-only machine both ended in Lightning tracebacks after pretraining
    import torch

    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "trainer.accelerator=gpus"]) == 2
    assert "unknown accelerator 'gpus'. Did you mean 'gpu'" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["compare", "-o", str(out), "trainer.accelerator=gpu"]) == 2
    assert "trainer.accelerator: gpu: no such device is visible" in capsys.readouterr().err
    assert not out.exists()


def test_a_text_backbone_on_arrays_is_a_clear_error(tmp_path, capsys):
    # `compare backbone.name=all-MiniLM-L6-v2` on the digits ended in a bare "TypeError:
    # HFTextBackbone.features takes the dict that encode(texts) returns ..., got Tensor"
    pytest.importorskip("transformers")
    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "backbone.name=all-MiniLM-L6-v2", "backbone.pretrained=false",
                 "methods=[linear_probe]"]) == 2
    assert "backbone 'all-MiniLM-L6-v2' reads text (sentences), but each input is an array of shape (1, 8, 8)" in (
        capsys.readouterr().err)
    assert not out.exists()


def test_a_backbone_that_cannot_read_the_inputs_stops_before_training(tmp_path, capsys):
    # torchvision/resnet18 (3 channels) on the grey digits started pretraining, then ended in a
    # bare "RuntimeError: Given groups=1, weight of size [64, 3, 7, 7], expected input ... to
    # have 3 channels, but got 1 channels instead"
    pytest.importorskip("torchvision")
    out = tmp_path / "run"
    assert main(["compare", "-o", str(out), "backbone.name=torchvision/resnet18", "backbone.pretrained=false",
                 "methods=[linear_probe]"]) == 2
    err = capsys.readouterr().err
    assert "backbone 'torchvision/resnet18' cannot read inputs of shape (1, 8, 8) (grey images" in err
    assert not out.exists()


def test_quiet_works_after_the_command_too():
    # `transferkit compare -q ...` was "unrecognized arguments: -q" (only `transferkit -q compare` worked)
    from transferkit.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["compare", "-q"]).quiet and parser.parse_args(["-q", "methods"]).quiet
    assert not parser.parse_args(["datasets"]).quiet


def test_resume_into_a_folder_without_a_run_says_it_starts_a_new_one(tmp_path, caplog):
    # a mistyped --output with --resume started a fresh run without a word
    from transferkit.experiments._results import prepare_output_dir

    with caplog.at_level("WARNING"):
        prepare_output_dir(tmp_path / "typo", resume=True, overwrite=False)
    assert "holds no earlier run; starting a new one" in caplog.text
    (tmp_path / "typo" / "results.json").write_text("{}")
    caplog.clear()
    with caplog.at_level("WARNING"):
        prepare_output_dir(tmp_path / "typo", resume=True, overwrite=False)
    assert "holds no earlier run" not in caplog.text


def test_a_wide_summary_is_not_cut_when_printed_to_a_pipe(capsys):
    # at a fixed 160 columns rich cut the headers of a wide summary to "…" in a file or a pipe
    from transferkit.cli import _print_summary

    cols = [f"a_rather_long_column_name_{i}" for i in range(9)]
    _print_summary({"command": "compare", "summary": [{c: 0.123456 for c in cols}], "columns": cols})
    out = capsys.readouterr().out
    assert "…" not in out
    assert all(c in out for c in cols) and "0.123" in out


def test_layers_takes_one_budget_and_says_so():
    # 'data.labels_per_class=[5]' (compare's list form) read "Input should be a valid integer"
    from transferkit.exceptions import ConfigError
    from transferkit.experiments._config import parse_config

    assert parse_config({"data": {"labels_per_class": [5]}}, "layers").data.labels_per_class == 5
    with pytest.raises(ConfigError, match=r"layers runs one budget \(an integer\); got \[1, 5\]"):
        parse_config({"data": {"labels_per_class": [1, 5]}}, "layers")


def test_methods_says_where_each_family_goes_in_a_config(capsys):
    # nothing said that pcgrad is a 'multitask' method or where an architecture name goes
    from transferkit._registry import list_families
    from transferkit.cli import FAMILY_USE

    assert set(list_families()) <= set(FAMILY_USE)  # a new family must say where it is used
    assert main(["methods", "--family", "aggregator"]) == 0
    out = capsys.readouterr().out
    assert "used in" in out and "pcgrad" in out and "multitask methods" in out


def test_report_counts_verdicts_readably(tmp_path):
    # "Verdicts against each method's first baseline: 2 n/a: 1 seed." read as one odd phrase
    from transferkit.experiments._summary import write_report

    summary = [{"method": "scratch", "verdict": "baseline"},
               {"method": "full", "verdict": "n/a: 1 seed"}, {"method": "lora", "verdict": "n/a: 1 seed"},
               {"method": "bss", "verdict": "inconclusive"}]
    text = write_report(tmp_path, "t", [], summary, ["method", "verdict"], [], rope=0.01,
                        baselines=["scratch", "source_only"])
    assert "Verdicts against each method's first baseline: n/a: 1 seed (2), inconclusive (1)." in text


@pytest.mark.parametrize("command", ["adapt", "cluster", "layers", "multitask", "selftaught", "zeroshot"])
def test_seeds_auto_outside_compare_is_refused_naming_the_command(tmp_path, command):
    import importlib

    from transferkit.cli import RUNNERS
    from transferkit.exceptions import ConfigError
    from transferkit.experiments._config import parse_config

    module, fn = RUNNERS[command]
    run = getattr(importlib.import_module(f"transferkit.experiments.{module}"), fn)
    raw = {"trainer": {"seeds": "auto"}}
    if command == "zeroshot":  # its default kind (gbu) needs a folder; the check comes first anyway
        (tmp_path / "zsl.npz").write_bytes(b"")
        raw["data"] = {"kind": "arrays", "path": str(tmp_path / "zsl.npz")}
    cfg = parse_config(raw, command)
    with pytest.raises(ConfigError, match=f"trainer.seeds: auto is not available for {command} yet; list the seeds"):
        run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
