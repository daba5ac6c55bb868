"""The run configuration: YAML validated key by key.

An unknown or mistyped key is an error that names it and suggests the nearest valid key;
a wrong type names the key path and what was expected. ``load_config`` also accepts
``key.path=value`` overrides from the command line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..exceptions import ConfigError, suggest

__all__ = [
    "RunConfig", "DataSpec", "BackboneSpec", "MethodSpec", "PretrainSpec", "TrainerSpec",
    "OutputSpec", "load_config", "parse_config", "apply_overrides",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DATA_KINDS = ("digits", "mnist_usps", "usps_mnist", "arrays", "text", "image_folder")


class DataSpec(_Strict):
    """Where the source and target come from and how the few-shot target splits are drawn."""

    kind: Literal["digits", "mnist_usps", "usps_mnist", "arrays", "text", "image_folder"] = "digits"
    root: str | None = None
    # few-shot target sampling
    labels_per_class: list[int] = Field(default_factory=lambda: [1, 5, 10])
    val_per_class: int | None = None  # None: the same as labels_per_class
    # the negative-transfer check: destroy the source labels' relation to the inputs
    shuffle_source_labels: bool = False
    # digits (embedded): which classes and what shift the target has
    source_classes: list[int] | None = None
    target_classes: list[int] | None = None
    target_shift: Literal["none", "noise", "translate", "invert", "rotate"] = "noise"
    # arrays: .npz with X_source, y_source, X_target, y_target[, X_target_test, y_target_test]
    # or a CSV/Parquet table with a domain column
    path: str | None = None
    domain_column: str = "domain"
    label_column: str = "label"
    text_column: str = "sentence"
    source_domain: str | None = None
    target_domain: str | None = None
    # text: TSV/CSV files (SST-2 style); image_folder: root/domain/class/*.jpg
    source_path: str | None = None
    target_path: str | None = None
    target_test_path: str | None = None
    image_size: int | None = None
    max_samples: int | None = None  # cap on source and target pools (quick runs)
    test_fraction: float = 0.5  # target samples held out for test when no test split exists

    @field_validator("labels_per_class")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(k <= 0 for k in v):
            raise ValueError(f"labels_per_class must be a non-empty list of positive integers, got {v}")
        return v


class BackboneSpec(_Strict):
    name: str = "lenet"
    pretrained: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class MethodSpec(_Strict):
    name: str
    label: str | None = None  # display name; defaults to the method name
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def display(self) -> str:
        return self.label or self.name


class PretrainSpec(_Strict):
    """Training on the source before fine-tuning; skipped when ``epochs`` is 0."""

    epochs: int = 15
    lr: float = 1e-3
    batch_size: int = 64
    checkpoint: str | None = None  # a state dict to start from instead of training
    # start the target head from the source head; for sources that share the target's label
    # set (MNIST -> USPS). The scratch baseline always starts from nothing.
    reuse_head: bool = False


class TrainerSpec(_Strict):
    max_epochs: int = 60
    batch_size: int = 32
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    accumulate_grad_batches: int = 1
    deterministic: bool = True
    # torch intra-op threads; None = auto: 1 for small models on CPU (threads only add
    # synchronisation cost there), torch's default otherwise
    num_threads: int | None = None
    # fine-tuning runs executed in parallel processes (single-device CPU runs only);
    # None = auto: one per CPU core (at most 4) for small CPU models, else 1
    workers: int | None = None

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("seeds must list at least one seed")
        if len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct, got {v}")
        return v

    @field_validator("max_epochs", "batch_size", "accumulate_grad_batches")
    @classmethod
    def _pos(cls, v: int) -> int:
        if v <= 0:
            raise ValueError(f"must be > 0, got {v}")
        return v


class OutputSpec(_Strict):
    dir: str = "runs/compare"


class RunConfig(_Strict):
    """A whole run: data, backbone, methods, source pretraining, trainer, output."""

    data: DataSpec = Field(default_factory=DataSpec)
    backbone: BackboneSpec = Field(default_factory=BackboneSpec)
    method: MethodSpec | None = None
    methods: list[MethodSpec] | None = None
    pretrain: PretrainSpec = Field(default_factory=PretrainSpec)
    trainer: TrainerSpec = Field(default_factory=TrainerSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    def method_list(self) -> list[MethodSpec]:
        """The methods to compare; the scratch baseline is always included first."""
        listed = list(self.methods or []) + ([self.method] if self.method else [])
        if not any(m.name == "scratch" for m in listed):
            listed.insert(0, MethodSpec(name="scratch"))
        seen: set[str] = set()
        for m in listed:
            if m.display in seen:
                raise ConfigError(
                    f"method '{m.display}' is listed twice; give one of them a distinct 'label'"
                )
            seen.add(m.display)
        return listed


def _model_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid keys at ``loc`` (a pydantic error location) for suggestions."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type)]
        inner = ann if isinstance(ann, type) else None
        for a in args:
            if issubclass(a, BaseModel):
                inner = a
            for b in getattr(a, "__args__", ()):
                if isinstance(b, type) and issubclass(b, BaseModel):
                    inner = b
        if inner is None:
            for b in getattr(ann, "__args__", ()):
                for c in getattr(b, "__args__", ()):
                    if isinstance(c, type) and issubclass(c, BaseModel):
                        inner = c
        current = inner
    return list(getattr(current, "model_fields", {}))


def _format_errors(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc)
        if e["type"] == "extra_forbidden":
            valid = _model_fields(RunConfig, loc)
            lines.append(
                f"unknown key '{path}'.{suggest(str(loc[-1]), valid)}"
                + (f" Valid keys here: {', '.join(valid)}." if valid else "")
            )
        else:
            got = e.get("input")
            shown = repr(got) if not isinstance(got, dict) else "a mapping"
            lines.append(f"'{path}': {e['msg']} (got {shown})")
    return f"invalid configuration {source}:\n  " + "\n  ".join(lines)


def parse_config(raw: dict[str, Any] | None, source: str = "") -> RunConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration {source} must be a mapping of keys, got {type(raw).__name__}")
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, source)) from None


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
        node[parts[-1]] = yaml.safe_load(value)
    return out


def load_config(path: str | os.PathLike | None, overrides: list[str] | None = None) -> RunConfig:
    """Read and validate a YAML config (``None``: all defaults), with overrides applied."""
    raw: dict[str, Any] = {}
    source = "(defaults)"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file '{p}' does not exist")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file '{p}' is not valid YAML: {err}") from None
        source = f"in '{p}'"
    if overrides:
        raw = apply_overrides(raw, overrides)
    return parse_config(raw, source)
