"""One configuration language for every command.

A run config is YAML with the sections ``data``, ``backbone``, ``method``/``methods``,
``pretrain``, ``trainer`` and ``output``; a command adds only the sections and keys its setting
needs (``adapt`` adds ``scorers``, ``multitask`` adds ``architecture`` and task keys). Every key
is validated: an unknown or mistyped key is an error that names it and suggests the nearest
valid key, a wrong type names the key path and what was expected, and a data key that the
chosen data kind does not read is refused. ``key.path=value`` overrides come from the command
line. Old spellings (``trainer.epochs``, ``data.source``, ...) are accepted with a deprecation
message naming the new key.

This module imports only pydantic and yaml, so a bad config fails in a fraction of a second,
before torch is imported and before any output folder is created.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..exceptions import ConfigError, suggest

__all__ = [
    "RunConfig", "CompareConfig", "AdaptConfig", "MultitaskConfig", "ZeroshotConfig", "LayersConfig", "COMMAND_CONFIGS",
    "DataSpec", "BackboneSpec", "MethodSpec", "PretrainSpec", "TrainerSpec", "OutputSpec",
    "ArchitectureSpec", "load_config", "parse_config", "apply_overrides", "read_yaml",
    "RankConfig", "CandidateSpec", "ValidateSpec", "TaxonomyConfig", "SelftaughtConfig",
]

log = logging.getLogger("transferkit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _positive(v: float) -> float:
    if not v > 0:  # NaN fails too
        raise ValueError(f"must be > 0, got {v}")
    return v


#: an integer key that must be > 0 (budgets, sizes, epochs), with the project's error wording
PositiveInt = Annotated[int, AfterValidator(_positive)]
#: a float key that must be > 0 (learning rates, penalties)
PositiveFloat = Annotated[float, AfterValidator(_positive)]


def _nonneg(v: float) -> float:
    if not v >= 0:  # NaN fails too
        raise ValueError(f"must be >= 0, got {v}")
    return v


#: an integer key that may be 0 but not negative (patience, epochs where 0 skips a stage)
NonNegInt = Annotated[int, AfterValidator(_nonneg)]
#: a float key that may be 0 but not negative (weight decay, momentum)
NonNegFloat = Annotated[float, AfterValidator(_nonneg)]


def _fraction(v: float) -> float:
    if not 0.0 < v < 1.0:
        raise ValueError(f"must be in (0, 1), got {v}")
    return v


#: a share of the samples, strictly between 0 and 1
Fraction = Annotated[float, AfterValidator(_fraction)]


# ----------------------------------------------------------------------------------- data


class DataSpec(_Strict):
    """Where the data comes from. Which keys a kind reads is declared by the data registry
    (``transferkit datasets``); a key the kind does not read is an error."""

    kind: str = "digits"
    root: str | None = None
    # arrays: an .npz, or a CSV/Parquet table with a domain column
    path: str | None = None
    domain_column: str = "domain"
    label_column: str = "label"
    text_column: str = "sentence"
    source_domain: str | None = None
    target_domain: str | None = None
    # text: TSV/CSV files (SST-2 layout)
    source_path: str | None = None
    target_path: str | None = None
    target_test_path: str | None = None
    # images
    image_size: PositiveInt | None = None
    # digits (embedded): which classes and what shift the target has
    source_classes: list[int] | None = None
    target_classes: list[int] | None = None
    target_shift: Literal["none", "noise", "translate", "invert", "rotate"] = "noise"
    # amazon reviews: mSDA 5000-d features or the 400-d version
    features: Literal["dann_5000", "400"] = "dann_5000"
    # time series (ucr, arrays): one length for every series; ucr: default the target set's
    # longest series (shortest for truncate); arrays: only where length is given
    length: PositiveInt | None = None
    length_rule: Literal["resample", "pad", "truncate"] = "resample"
    # common
    max_samples: PositiveInt | None = None  # random cap on each domain's pool (quick runs)
    test_fraction: Fraction = 0.5  # target samples held out for test when no test split exists
    shuffle_source_labels: bool = False  # the negative-transfer check
    seed: int = 0  # the data's own random draws (caps, splits, composites)


class CompareData(DataSpec):
    """``compare``: few labelled target samples per class."""

    labels_per_class: list[int] = Field(default_factory=lambda: [1, 5, 10])
    val_per_class: PositiveInt | None = None  # None: the same as labels_per_class

    @field_validator("labels_per_class")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(k <= 0 for k in v):
            raise ValueError(f"labels_per_class must be a non-empty list of positive integers, got {v}")
        return v


class AdaptData(DataSpec):
    """``adapt``: labelled source, unlabelled target (target labels for evaluation only)."""

    partial_classes: int | None = None  # partial transfer: keep target classes 0..k-1
    # source samples held out from training, on which IWCV/DEV score models (Sugiyama et al.
    # 2007; You et al. 2019 define both on a held-out source split)
    source_val_fraction: Fraction = 0.2


class MultitaskData(DataSpec):
    """``multitask``: one input array, one label column per task (missing labels allowed)."""

    n_train: int = 8000
    n_test: int = 2000
    heldout_digits: int = 2000
    task_names: list[str] | None = None
    task_kinds: list[Literal["classification", "regression", "binary"]] | Literal["classification", "regression", "binary"] = "regression"
    task_columns: list[str] | None = None  # CSV/Parquet: the label columns, one per task
    auxiliary: list[str] = Field(default_factory=list)
    test_fraction: Fraction = 0.25


class ZeroshotData(DataSpec):
    """``zeroshot``: features, labels, a class-embedding matrix and the GBU sample splits."""

    kind: str = "gbu"
    dataset: str | None = None  # GBU sub-folder (AWA2, CUB, SUN, APY) under root
    attributes: Literal["att", "original_att"] = "att"
    features_file: str = "res101.mat"


# ------------------------------------------------------------------------------- backbone


class BackboneSpec(_Strict):
    """Any backbone name ``transferkit.backbones.create_backbone`` accepts: a built-in name,
    ``timm/<name>``, ``torchvision/<name>``, ``hf/<id or folder>``, or a packaged pretrained
    encoder. ``pretrained: null`` (the default) takes the weights when they ship offline."""

    name: str = "lenet"
    pretrained: bool | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    checkpoint: str | None = None


class MethodSpec(_Strict):
    name: str
    label: str | None = None  # display name; defaults to the method name
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.label or self.name


class PretrainSpec(_Strict):
    """Training on the labelled source before fine-tuning; skipped when ``epochs`` is 0."""

    epochs: NonNegInt = 15
    # None: 1e-3 for a network trained from scratch, 1e-4 for pretrained weights
    lr: PositiveFloat | None = None
    # the encoder's learning rate relative to ``lr`` (the new head always trains at ``lr``);
    # None: 1 from scratch, 0.1 for pretrained weights (they are adapted, not re-learnt)
    backbone_lr_scale: PositiveFloat | None = None
    batch_size: PositiveInt = 64
    checkpoint: str | None = None  # a state dict to start from instead of training
    # start the target head from the source head. None: yes when source and target have the
    # same classes (by name, or by index when the data carry no names)
    reuse_head: bool | None = None


#: the accelerator names Lightning's Trainer accepts
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


class TrainerSpec(_Strict):
    """How to train; each key maps onto a Lightning Trainer setting, a DataLoader or the grid
    executor. ``seeds: auto`` adds seeds until every verdict is decided (``max_seeds`` cap)."""

    max_epochs: PositiveInt = 60
    batch_size: PositiveInt = 32
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegFloat = 0.0
    momentum: NonNegFloat = 0.9
    patience: NonNegInt = 10
    seeds: list[int] | Literal["auto"] = Field(default_factory=lambda: [0, 1, 2])
    max_seeds: PositiveInt = 10
    # seeds: auto stops adding seeds once this much wall time has passed (None: no budget)
    time_budget_s: PositiveFloat | None = None
    accelerator: str = "cpu"
    devices: int | str | list[int] = 1
    strategy: str = "auto"
    precision: str = "32-true"
    accumulate_grad_batches: PositiveInt = 1
    deterministic: bool = True
    # torch intra-op threads; None = auto: 1 for small models on CPU, torch's default otherwise
    num_threads: int | None = None
    # grid runs side by side: processes of the local executor (None = auto), or Ray
    workers: int | None = None
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None  # "auto", "host:port", or None for a local instance
    logger: Literal["csv", "tensorboard", "mlflow"] | None = None
    # the region of practical equivalence of the verdicts, in metric units (0.01 = 1 point)
    rope: float = 0.01

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if v == "auto":
            return v
        if not v:
            raise ValueError("seeds must list at least one seed (or be 'auto')")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct, got {v}")
        return v


    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, v: str) -> str:  # Lightning's names; a wrong one stopped training with a traceback
        if v not in ACCELERATORS:
            raise ValueError(f"unknown accelerator '{v}'.{suggest(v, ACCELERATORS)} Valid: {', '.join(ACCELERATORS)}")
        return v

    @field_validator("devices")
    @classmethod
    def _devices(cls, v):
        if v == 0:
            raise ValueError("must not be 0")
        return v

    @field_validator("rope")
    @classmethod
    def _rope(cls, v: float) -> float:
        if v < 0:
            raise ValueError(f"must be >= 0, got {v}")
        return v

    @model_validator(mode="after")
    def _auto_needs_two_seeds(self):
        if self.seeds == "auto" and self.max_seeds < 2:  # was "min_seeds must be >= 2, got 1" from the plan
            raise ValueError(f"max_seeds must be >= 2 with seeds: auto (a verdict needs two "
                             f"seeds), got {self.max_seeds}")
        return self

    def seed_list(self, start: int = 3) -> list[int]:
        """The seeds to run first (``auto`` starts with ``start`` seeds)."""
        return list(range(start)) if self.seeds == "auto" else list(self.seeds)


class AdaptTrainer(TrainerSpec):
    max_epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    patience: NonNegInt = 0
    seeds: list[int] | Literal["auto"] = Field(default_factory=lambda: [0])
    steps_per_epoch: int | None = None
    discriminator_lr_mult: PositiveFloat = 1.0
    anneal: bool = True  # learning-rate annealing of Ganin et al. 2016
    grl_gamma: float = 10.0


class MultitaskTrainer(TrainerSpec):
    max_epochs: PositiveInt = 3
    batch_size: PositiveInt = 128
    patience: NonNegInt = 0
    seeds: list[int] | Literal["auto"] = Field(default_factory=lambda: [0])
    # record TAG look-ahead task affinities every k steps (Fifty et al. 2021); hard sharing only
    tag_every: int | None = None
    # task groupings chosen from the recorded affinities, for these numbers of networks
    tag_groups: list[int] = Field(default_factory=lambda: [2])


class OutputSpec(_Strict):
    dir: str | None = None  # None: runs/<command>


class ArchitectureSpec(_Strict):
    """``multitask``: how tasks share the backbone (``transferkit methods --family mtl_architecture``)."""

    name: str = "hard_sharing"
    params: dict[str, Any] = Field(default_factory=dict)


def _method_list(v: Any) -> Any:
    """``methods`` entries may be plain names."""
    if isinstance(v, list):
        return [{"name": m} if isinstance(m, str) else m for m in v]
    return v


class RunConfig(_Strict):
    """The sections every command shares."""

    command: ClassVar[str] = "run"
    name: str | None = None  # a label for the run, shown in the report
    data: DataSpec = Field(default_factory=DataSpec)
    backbone: BackboneSpec = Field(default_factory=BackboneSpec)
    method: MethodSpec | None = None
    methods: list[MethodSpec] | None = None
    trainer: TrainerSpec = Field(default_factory=TrainerSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            raw = dict(raw)
            if isinstance(raw.get("output"), str):
                raw["output"] = {"dir": raw["output"]}
            if isinstance(raw.get("method"), str):
                raw["method"] = {"name": raw["method"]}
            raw["methods"] = _method_list(raw.get("methods"))
            if raw["methods"] is None:
                del raw["methods"]
        return raw

    @field_validator("methods")
    @classmethod
    def _some_methods(cls, v: list[MethodSpec] | None) -> list[MethodSpec] | None:
        if v is not None and not v:  # an empty list would silently run the command's default set
            raise ValueError("list at least one method, or leave the key out for the command's default methods")
        return v

    def listed_methods(self) -> list[MethodSpec]:
        listed = list(self.methods or []) + ([self.method] if self.method else [])
        seen: set[str] = set()
        for m in listed:
            if m.display in seen:
                raise ConfigError(f"method '{m.display}' is listed twice; give one of them a distinct 'label'")
            seen.add(m.display)
        return listed

    def output_dir(self, override: str | os.PathLike | None = None) -> Path:
        return Path(override or self.output.dir or f"runs/{self.command}")


class CompareConfig(RunConfig):
    """``transferkit compare``: labelled source, few labelled target samples."""

    command: ClassVar[str] = "compare"
    data: CompareData = Field(default_factory=CompareData)
    pretrain: PretrainSpec = Field(default_factory=PretrainSpec)


class AdaptConfig(RunConfig):
    """``transferkit adapt``: labelled source, unlabelled target."""

    command: ClassVar[str] = "adapt"
    data: AdaptData = Field(default_factory=lambda: AdaptData(kind="mnist_usps_jda"))
    trainer: AdaptTrainer = Field(default_factory=AdaptTrainer)
    scorers: list[str] = Field(default_factory=lambda: ["entropy", "snd", "dev"])


class MultitaskConfig(RunConfig):
    """``transferkit multitask``: several tasks learnt together."""

    command: ClassVar[str] = "multitask"
    data: MultitaskData = Field(default_factory=lambda: MultitaskData(kind="multimnist"))
    architecture: ArchitectureSpec = Field(default_factory=ArchitectureSpec)
    trainer: MultitaskTrainer = Field(default_factory=MultitaskTrainer)


class ZeroshotTrainer(TrainerSpec):
    seeds: list[int] | Literal["auto"] = Field(default_factory=lambda: [0, 1, 2])
    # calibrated stacking (Chao et al. 2016), gamma chosen on the validation split only
    calibrate: bool = True


class ZeroshotConfig(RunConfig):
    """``transferkit zeroshot``: classes unseen in training, recognised from their descriptions."""

    command: ClassVar[str] = "zeroshot"
    data: ZeroshotData = Field(default_factory=ZeroshotData)
    trainer: ZeroshotTrainer = Field(default_factory=ZeroshotTrainer)


class LayersData(DataSpec):
    """``layers``: one few-shot budget of labelled target samples per class."""

    labels_per_class: PositiveInt = 10
    val_per_class: PositiveInt | None = None  # None: the same as labels_per_class

    @field_validator("labels_per_class", mode="before")
    @classmethod
    def _one_budget(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):  # compare's key takes a list; layers runs one budget
            if len(v) != 1:
                raise ValueError(f"layers runs one budget (an integer); got {list(v)}: run it once per budget")
            return v[0]
        return v


LAYER_VARIANTS = ("AnB", "AnB+", "BnB", "BnB+")


class LayersSpec(_Strict):
    """``layers``: which layer groups to transfer (Yosinski et al., NeurIPS 2014)."""

    n: list[int] | None = None  # None: every n = 0..L (L = the backbone's layer groups)
    variants: list[Literal["AnB", "AnB+", "BnB", "BnB+"]] = Field(default_factory=lambda: list(LAYER_VARIANTS))
    save_models: bool = False  # keep every run's model.pt (the BnB base networks are always kept)

    @field_validator("n")
    @classmethod
    def _ns(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if not v or any(k < 0 for k in v) or len(set(v)) != len(v):
            raise ValueError(f"must be a non-empty list of distinct integers >= 0, got {v}")
        return sorted(v)

    @field_validator("variants")
    @classmethod
    def _variants(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"must list distinct variants among {list(LAYER_VARIANTS)}, got {v}")
        return v


class LayersConfig(RunConfig):
    """``transferkit layers``: transfer the first n layer groups, frozen or fine-tuned, against the
    same-task control and scratch."""

    command: ClassVar[str] = "layers"
    data: LayersData = Field(default_factory=LayersData)
    pretrain: PretrainSpec = Field(default_factory=lambda: PretrainSpec(epochs=10))
    layers: LayersSpec = Field(default_factory=LayersSpec)
    trainer: TrainerSpec = Field(default_factory=TrainerSpec)


class ClusterData(DataSpec):
    """``cluster``: an unlabelled target to cluster (labels for evaluation only) and unlabelled
    auxiliary data with the same features."""

    kind: str = "newsgroups"


class ClusterTrainer(ZeroshotTrainer):
    # self-taught clustering without a ``lam`` in its params: lam chosen per seed among
    # ``lambdas`` by clustering stability over ``lambda_runs`` restarts (no target label)
    lambdas: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0], min_length=1)
    lambda_runs: PositiveInt = 3

    @field_validator("lambdas")
    @classmethod
    def _lambdas(cls, v: list[float]) -> list[float]:
        if any(not (x > 0 and x < float("inf")) for x in v):  # nan fails too
            raise ValueError(f"every lambda must be a finite number > 0, got {v}")
        return sorted(set(v))

    @field_validator("lambda_runs")
    @classmethod
    def _runs(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"lambda_runs must be >= 2 (stability compares pairs of runs), got {v}")
        return v


class ClusterConfig(RunConfig):
    """``transferkit cluster``: self-taught clustering against clustering the target alone."""

    command: ClassVar[str] = "cluster"
    data: ClusterData = Field(default_factory=ClusterData)
    trainer: ClusterTrainer = Field(default_factory=ClusterTrainer)


class SelftaughtData(CompareData):
    """``selftaught``: unlabelled source images and a labelled target, few labels per class.

    ``val_per_class`` differs from ``compare``'s: ``None`` (the default) draws no validation
    split, so every method sees only the ``labels_per_class`` labels and the networks train for
    ``trainer.max_epochs``; a number draws that many more labels per class, on which the
    networks (only) early-stop."""

    kind: str = "bsds500"
    labels_per_class: list[int] = Field(default_factory=lambda: [1, 5, 10, 50])


class SelftaughtPretrain(_Strict):
    """``selftaught``: how ``autoencoder`` and ``simclr`` pretrain the backbone on random
    patches (of the target's image size) of the unlabelled source images."""

    n_patches: PositiveInt = 20000
    epochs: PositiveInt = 5
    batch_size: PositiveInt = 256
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegFloat = 0.0
    # per-image contrast normalisation (mean removed, divided by sqrt(variance + 0.01)) of the
    # source patches and of the target images, for every network (scratch too): photos and
    # digits then share a scale
    normalize: bool = True


class ClassifierSpec(_Strict):
    """``selftaught``: the classifier on fixed features (``raw``, ``pca``, ``sparse_coding``):
    standardisation, then logistic regression with inverse penalty ``C``; fixed in advance, since
    a few labels per class leave none to tune it on."""

    C: PositiveFloat = 1.0
    max_iter: PositiveInt = 3000


class SelftaughtTrainer(TrainerSpec):
    """Fine-tuning on the target: a fixed number of epochs unless ``data.val_per_class`` draws a
    validation split to early-stop on (``patience``)."""

    max_epochs: PositiveInt = 50
    patience: NonNegInt = 0


class SelftaughtConfig(RunConfig):
    """``transferkit selftaught``: representations learnt on unlabelled source images, used for a
    labelled target with few labels, against raw pixels, PCA and training from scratch."""

    command: ClassVar[str] = "selftaught"
    data: SelftaughtData = Field(default_factory=SelftaughtData)
    pretrain: SelftaughtPretrain = Field(default_factory=SelftaughtPretrain)
    classifier: ClassifierSpec = Field(default_factory=ClassifierSpec)
    # the fine-tuning strategy of the pretrained networks (``transferkit methods --family
    # finetune``); a method's ``params.finetune`` overrides it for that method
    finetune: MethodSpec = Field(default_factory=lambda: MethodSpec(name="full"))
    trainer: SelftaughtTrainer = Field(default_factory=SelftaughtTrainer)

    @model_validator(mode="before")
    @classmethod
    def _finetune_name(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("finetune"), str):
            raw = {**raw, "finetune": {"name": raw["finetune"]}}
        return raw


# ------------------------------------------------------------------- rank and taxonomy


class RankData(DataSpec):
    """``rank``: the target whose labelled pool the scores read (test split held out)."""

    labels_per_class: PositiveInt | None = None  # score on this many pool samples per class; None: all
    val_per_class: PositiveInt | None = None  # --validate: validation samples per class (None: as many as train)


class CandidateSpec(BackboneSpec):
    """One model to rank: a backbone section plus a display ``label``."""

    label: str | None = None
    seed: int = 0  # torch seed before building it: its initial weights where none are loaded

    @property
    def display(self) -> str:
        return self.label or self.name


class ValidateSpec(_Strict):
    """``rank --validate``: fine-tune every candidate and measure how well each score ranked them."""

    strategy: str = "full"
    params: dict[str, Any] = Field(default_factory=dict)
    labels_per_class: PositiveInt = 10
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])


    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if not v or len(set(v)) != len(v):
            raise ValueError(f"seeds must be a non-empty list of distinct seeds, got {v}")
        return v


def _default_candidates() -> list[CandidateSpec]:
    return [CandidateSpec(name="lenet", pretrained=False, label="lenet_random"),
            CandidateSpec(name="mlp", pretrained=False, label="mlp_random")]


class RankConfig(_Strict):
    """``transferkit rank``: score candidate models on a target, rank them, optionally validate."""

    command: ClassVar[str] = "rank"
    name: str | None = None
    data: RankData = Field(default_factory=RankData)
    candidates: list[CandidateSpec] = Field(default_factory=_default_candidates)
    scores: list[str] | None = None  # None: every registered score the candidates allow
    score_params: dict[str, dict[str, Any]] = Field(default_factory=dict)  # e.g. {gbc: {pca_dim: 64}}
    batch_size: PositiveInt = 256  # feature extraction
    # the key is ``validate`` (true: the defaults; --validate sets it); the attribute has another
    # name because ``validate`` is a pydantic BaseModel method
    validate_: ValidateSpec | bool | None = Field(default=None, alias="validate")
    trainer: TrainerSpec = Field(default_factory=TrainerSpec)  # fine-tuning under validate; device
    output: OutputSpec = Field(default_factory=OutputSpec)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            raw = dict(raw)
            if isinstance(raw.get("output"), str):
                raw["output"] = {"dir": raw["output"]}
            if isinstance(raw.get("candidates"), list):
                raw["candidates"] = [{"name": c} if isinstance(c, str) else c for c in raw["candidates"]]
        return raw

    @field_validator("candidates")
    @classmethod
    def _candidates(cls, v: list[CandidateSpec]) -> list[CandidateSpec]:
        if not v:
            raise ValueError("list at least one candidate model")
        seen: set[str] = set()
        for c in v:
            if c.display in seen:
                raise ValueError(f"candidate '{c.display}' is listed twice; give one of them a distinct 'label'")
            seen.add(c.display)
            if c.checkpoint is not None and not Path(c.checkpoint).expanduser().is_file():
                raise ValueError(f"candidate '{c.display}': checkpoint '{c.checkpoint}' does not exist")
        return v


    @property
    def validation(self) -> ValidateSpec | None:
        if self.validate_ is True:
            return ValidateSpec()
        return self.validate_ or None

    def output_dir(self, override: str | os.PathLike | None = None) -> Path:
        return Path(override or self.output.dir or f"runs/{self.command}")


class TaxonomyConfig(_Strict):
    """``transferkit taxonomy``: Taskonomy's budgeted choice of supervised tasks and transfers.

    Exactly one of ``affinities`` (a Taskonomy release JSON such as ``all_affinities.json``, or
    an inline ``{"src__tgt": affinity}`` mapping) and ``win_rates`` (per target, pairwise win
    rates of its sources, normalised with AHP: a JSON path or an inline
    ``{target: {sources: [...], matrix: [[...]]}}``)."""

    command: ClassVar[str] = "taxonomy"
    name: str | None = None
    affinities: str | dict[str, float] | None = None
    win_rates: str | dict[str, dict[str, Any]] | None = None
    exclude: list[str] = Field(default_factory=lambda: ["pixels"])  # release sources that are no task
    budgets: float | list[float] = Field(default_factory=lambda: [1, 3])
    costs: dict[str, float] = Field(default_factory=dict)
    importances: dict[str, float] = Field(default_factory=dict)
    max_order: int | None = None
    tasks: list[str] | None = None  # every task that may be supervised (default: those named)
    targets: list[str] | None = None  # tasks that need a transfer (default: every target named)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("output"), str):
            raw = {**raw, "output": {"dir": raw["output"]}}
        return raw

    @model_validator(mode="after")
    def _one_source(self) -> TaxonomyConfig:
        if (self.affinities is None) == (self.win_rates is None):
            raise ValueError("give exactly one of 'affinities' (a Taskonomy JSON or a mapping) and 'win_rates'")
        for key in ("affinities", "win_rates"):
            value = getattr(self, key)
            if isinstance(value, str) and not Path(value).expanduser().exists():
                raise ValueError(f"{key}: file '{value}' does not exist")
        budgets = self.budget_list()
        if not budgets:
            raise ValueError("budgets must be a number or a non-empty list of numbers")
        if self.max_order is not None and self.max_order < 1:
            raise ValueError(f"max_order must be >= 1, got {self.max_order}")
        return self

    def budget_list(self) -> list[float]:
        return [self.budgets] if isinstance(self.budgets, int | float) else list(self.budgets)

    def output_dir(self, override: str | os.PathLike | None = None) -> Path:
        return Path(override or self.output.dir or f"runs/{self.command}")


COMMAND_CONFIGS: dict[str, type[Any]] = {
    "compare": CompareConfig, "adapt": AdaptConfig, "multitask": MultitaskConfig, "zeroshot": ZeroshotConfig,
    "rank": RankConfig, "taxonomy": TaxonomyConfig, "layers": LayersConfig, "cluster": ClusterConfig,
    "selftaught": SelftaughtConfig,
}

#: old spelling -> new key path; accepted with a deprecation message
RENAMED: dict[tuple[str, str], tuple[str, str]] = {
    ("trainer", "epochs"): ("trainer", "max_epochs"),
    ("data", "source"): ("data", "source_domain"),
    ("data", "target"): ("data", "target_domain"),
    ("data", "limit"): ("data", "max_samples"),
    ("data", "kinds"): ("data", "task_kinds"),
    ("architecture", "backbone"): ("backbone", "name"),
    ("architecture", "backbone_params"): ("backbone", "params"),
}


def _apply_renames(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for (sec, key), (new_sec, new_key) in RENAMED.items():
        section = out.get(sec)
        if isinstance(section, dict) and key in section:
            target = out.setdefault(new_sec, {})
            if not isinstance(target, dict):
                continue
            if new_key in target:
                raise ConfigError(f"'{sec}.{key}' is the old name of '{new_sec}.{new_key}'; give only one of them")
            target[new_key] = section.pop(key)
            log.warning("config: '%s.%s' is deprecated, use '%s.%s'", sec, key, new_sec, new_key)
    return out


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for a in getattr(annotation, "__args__", ()):
        found = _inner_model(a)
        if found is not None:
            return found
    return None


def _model_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid keys at ``loc`` (a pydantic error location) for suggestions."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        current = _inner_model(field.annotation) if field is not None else None
    return list(current.model_fields) if current is not None else []


_PRIMITIVE_TAGS = {"int", "float", "str", "bool", "none", "list", "dict"}


def _is_union_tag(part: Any) -> bool:
    """Whether a pydantic error-location part names a union member (``list[literal[...]]``,
    ``ValidateSpec``, ``bool``) rather than a config key."""
    if not isinstance(part, str):
        return False
    models = {name for name, obj in globals().items() if isinstance(obj, type) and issubclass(obj, BaseModel)}
    return "[" in part or part in _PRIMITIVE_TAGS or part in models


def _format_errors(err: ValidationError, model: type[BaseModel], source: str) -> str:
    found: list[tuple[tuple, str]] = []
    for e in err.errors():
        raw_loc = tuple(e["loc"])
        keep_last = e["type"] == "extra_forbidden"  # the unknown key itself is never a tag
        loc = tuple(p for i, p in enumerate(raw_loc)
                    if not _is_union_tag(p) or (keep_last and i == len(raw_loc) - 1))
        path = ".".join(str(p) for p in loc)
        where = f"'{path}': " if path else ""  # a whole-config check names its keys itself
        if e["type"] == "extra_forbidden":
            valid = _model_fields(model, loc)
            found.append((loc, f"unknown key '{path}'.{suggest(str(loc[-1]), valid)}"
                          + (f" Valid keys here: {', '.join(valid)}." if valid else "")))
        elif e["type"] == "value_error":  # our validators' messages already show the value
            found.append((loc, f"{where}{e['msg'].removeprefix('Value error, ')}"))
        else:
            got = e.get("input")
            shown = repr(got) if not isinstance(got, dict) else "a mapping"
            same = next((i for i, (other, _) in enumerate(found) if other == loc), None)
            if same is None:  # a union's members each fail at the same key: one line for all
                found.append((loc, f"{where}{e['msg']} (got {shown})"))
            else:
                head, _, tail = found[same][1].rpartition(" (got ")
                found[same] = (loc, f"{head}; or: {e['msg']} (got {tail}")
    # a union reports every member's failure; keep the most specific one per key
    lines = [msg for loc, msg in found
             if not any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in found)]
    return f"invalid configuration {source}:\n  " + "\n  ".join(dict.fromkeys(lines))


def parse_config(raw: Any, command: str = "compare", source: str = "") -> RunConfig:
    """Validate ``raw`` (a mapping) as ``command``'s config; every problem names its key."""
    model = COMMAND_CONFIGS.get(command)
    if model is None:
        raise ConfigError(f"unknown command '{command}'.{suggest(command, COMMAND_CONFIGS)}")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration {source} must be a mapping of keys, got {type(raw).__name__}")
    raw = _apply_renames(raw)
    raw.pop("command", None)  # older adapt configs named their command
    try:
        cfg = model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, model, source)) from None
    from ..data._kinds import COMMAND_SETTING, check_data_spec

    if command in COMMAND_SETTING:  # commands without a data section (taxonomy) skip this
        check_data_spec(cfg.data, command)
    return cfg


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML) to a nested dict copy."""
    out = yaml.safe_load(yaml.safe_dump(raw)) or {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key.path=value")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{part}' is not a mapping")
        try:
            node[parts[-1]] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            cut = value.count("[") + value.count("{") > value.count("]") + value.count("}")
            hint = (" (the shell split it at a space: quote the whole override, e.g. "
                    f"\"{key}=[a, {{name: b, params: {{x: 1}}}}]\")" if cut else "")
            raise ConfigError(f"override '{item}': the value is not valid YAML{hint}: {err}") from None
    return out


def bundled_configs() -> dict[str, Path]:
    """Example configs shipped inside the package, by name."""
    from importlib import resources

    folder = Path(str(resources.files("transferkit") / "configs"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def read_yaml(path: str | os.PathLike) -> tuple[dict[str, Any], str]:
    """``(mapping, source description)`` of a YAML file, or of a bundled example by name."""
    p = Path(path)
    if not p.is_file():
        bundled = bundled_configs()
        if str(path) in bundled:
            p = bundled[str(path)]
        else:
            raise ConfigError(
                f"config file '{p}' does not exist. Bundled examples (pass the name): "
                f"{', '.join(bundled)}."
            )
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config file '{p}' is not valid YAML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file '{p}' cannot be read: {err}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config file '{p}' must hold a mapping of keys, got {type(raw).__name__}")
    return raw, f"in '{p}'"


def load_config(path: str | os.PathLike | None, overrides: list[str] | None = None,
                command: str = "compare") -> RunConfig:
    """Read and validate a YAML config (``None``: the command's defaults), overrides applied."""
    raw: dict[str, Any] = {}
    source = "(defaults)"
    if path is not None:
        raw, source = read_yaml(path)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return parse_config(raw, command, source)
