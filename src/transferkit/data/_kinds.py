"""One registry of data kinds, with the settings each can serve.

Every loader is registered once, as aeon tags its estimators: a :class:`DataKind` names the
settings it serves (``labelled_target`` for ``compare``, ``unlabelled_target`` for ``adapt``,
``multitask``), the config keys it reads, and the function that loads it. The CLI, the config
checks, ``transferkit datasets`` and the benchmarks all read this table. Loader modules are
imported only when data is loaded, so checking a config stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, DataError, TransferkitError, UnknownNameError, suggest

__all__ = ["DataKind", "SETTINGS", "COMMAND_SETTING", "data_kinds", "get_data_kind", "check_data_spec", "load_data"]

#: the settings a data kind can serve, with what each needs of the data
SETTINGS = {
    "labelled_target": "labelled source + few labelled target samples (compare)",
    "unlabelled_target": "labelled source + unlabelled target, target labels for evaluation only (adapt)",
    "multitask": "one input array, one label column per task (multitask)",
    "zeroshot": "features, labels, a class-embedding matrix and seen/unseen sample splits (zeroshot)",
    "clustering": "an unlabelled target (labels for evaluation only) and unlabelled auxiliary data (cluster)",
    "selftaught": "unlabelled source images + a labelled target with few labels per class (selftaught)",
}
COMMAND_SETTING = {"compare": "labelled_target", "adapt": "unlabelled_target", "multitask": "multitask",
                   "zeroshot": "zeroshot",
                   "rank": "labelled_target", "layers": "labelled_target",
                   "cluster": "clustering", "selftaught": "selftaught"}

#: keys every data section may set, whatever the kind
_COMMON = {"kind", "max_samples", "seed"}
#: keys of each setting (the command's own data keys)
_SETTING_KEYS = {
    "labelled_target": {"labels_per_class", "val_per_class", "test_fraction", "shuffle_source_labels"},
    "unlabelled_target": {"partial_classes", "source_val_fraction", "test_fraction", "shuffle_source_labels"},
    "multitask": {"auxiliary", "test_fraction"},
    "zeroshot": set(),
    "clustering": set(),
    "selftaught": {"labels_per_class", "val_per_class", "test_fraction"},
}
#: keys that name files or folders checked before anything is imported or trained
_PATH_KEYS = ("path", "source_path", "target_path", "target_test_path")


@dataclass(frozen=True)
class DataKind:
    """A registered data kind: its settings, the keys it reads and its loader."""

    name: str
    settings: frozenset[str]
    keys: frozenset[str]
    description: str
    loader: str  # "module:function", imported lazily
    required: tuple[str, ...] = ()

    def load(self, spec: Any, setting: str) -> Any:
        module, func = self.loader.split(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), func)
        try:
            return fn(spec, setting)
        except (TransferkitError, ImportError):
            raise
        except Exception as err:  # a loader's own failure, turned into one clear message
            where = next((f"'{getattr(spec, k)}'" for k in ("path", "target_path", "root") if getattr(spec, k, None)), "its default root")
            raise DataError(
                f"data kind '{self.name}' could not be loaded from {where}: {type(err).__name__}: {err}"
            ) from err


_KINDS: dict[str, DataKind] = {}


def _add(name: str, settings: set[str], keys: set[str], description: str, loader: str,
         required: tuple[str, ...] = ()) -> None:
    _KINDS[name] = DataKind(name, frozenset(settings), frozenset(keys), description, loader, required)


_T = {"labelled_target", "unlabelled_target"}
_L = "transferkit.data._loaders"
_add("digits", _T, {"source_classes", "target_classes", "target_shift"},
     "scikit-learn's embedded 8x8 digits split in two halves; the target half shifted (no download)",
     f"{_L}:load_digits")
_add("mnist_usps", _T, {"root", "image_size"},
     "MNIST (10,000 test images) -> USPS (official train/test split), 28x28 unless image_size",
     f"{_L}:load_mnist_usps")
_add("usps_mnist", _T, {"root", "image_size"},
     "USPS (all 9,298 images) -> MNIST (10,000 test images), 28x28 unless image_size",
     f"{_L}:load_usps_mnist")
_add("mnist_usps_jda", _T, {"root"},
     "the JDA MNIST<->USPS pair (2,000 MNIST, 1,800 USPS, 16x16; transductive target)",
     f"{_L}:load_mnist_usps_jda")
_add("usps_mnist_jda", _T, {"root"}, "the JDA pair in the other direction (USPS -> MNIST)",
     f"{_L}:load_usps_mnist_jda")
_add("mnist_m", _T, {"root"},
     "MNIST (5,000 images, RGB) -> MNIST-M built from BSDS500 crops (3,000 train / 2,000 test)",
     f"{_L}:load_mnist_m")
_add("amazon", _T, {"root", "source_domain", "target_domain", "features"},
     "Amazon reviews, one product domain to another (books, dvd, electronics, kitchen); mSDA features",
     f"{_L}:load_amazon", required=("source_domain", "target_domain"))
# labelled targets only: adapt's training and scores read numeric arrays (encode sentences first)
_add("text", {"labelled_target"}, {"source_path", "target_path", "target_test_path", "text_column", "label_column"},
     "sentences and labels in TSV/CSV files (SST-2 layout; quoted fields and string labels accepted); "
     "for adapt, encode them to arrays first",
     f"{_L}:load_text", required=("target_path",))
_add("image_folder", _T, {"root", "source_domain", "target_domain", "image_size"},
     "root/<domain>/<class>/*.jpg, one folder per domain (Office-31 style)",
     f"{_L}:load_image_folder", required=("root", "source_domain", "target_domain"))
_add("arrays", _T | {"multitask", "zeroshot", "clustering", "selftaught"},
     {"path", "domain_column", "label_column", "source_domain", "target_domain", "task_names",
      "task_kinds", "task_columns", "length", "length_rule"},
     "your own arrays: an .npz (X_source, y_source, X_target[, y_target, X_target_test, "
     "y_target_test]; for compare's heterogeneous methods X_source and X_target may differ in "
     "width; multitask: X, Y; zeroshot: X, y, class_embeddings, trainval, test_seen, "
     "test_unseen[, train, val]; cluster: X, y, X_aux; selftaught: X_source (no labels), X_target, y_target[, "
     "X_target_test, y_target_test]) or a CSV/Parquet table with a domain column",
     f"{_L}:load_arrays", required=("path",))
_add("gbu", {"zeroshot"}, {"root", "dataset", "attributes", "features_file"},
     "the 'Good, Bad and Ugly' format of Xian et al. (att_splits.mat + res101.mat: AwA2, CUB, SUN, aPY)",
     f"{_L}:load_gbu", required=("root",))
_add("ucr", _T, {"root", "source_domain", "target_domain", "length", "length_rule"},
     "UCR/UEA time series (.ts): pretrain on data set source_domain, transfer to target_domain (official "
     "train/test split), series brought to one length by length_rule (resample, pad, truncate); the sets "
     "inside an installed sktime/aeon wheel load by name offline",
     f"{_L}:load_ucr", required=("target_domain",))
_add("newsgroups", {"clustering"}, {"root", "source_domain", "target_domain"},
     "20 Newsgroups cross-category tasks (MALSAR): target_domain and the auxiliary source_domain name "
     "files such as comp.vs.sci/task1 and comp.vs.sci/task2 (shared vocabulary)",
     f"{_L}:load_newsgroups")
_add("bsds500", {"selftaught"}, {"root", "target_domain", "image_size"},
     "the 200 BSDS500 training photographs (grey, unlabelled) as the source; target_domain usps (official "
     "train/test split, default) or mnist (10,000 test images, a test split held out)",
     f"{_L}:load_bsds500")
_add("multimnist", {"multitask"}, {"root", "n_train", "n_test", "heldout_digits"},
     "MultiMNIST (Sener & Koltun 2018): two overlapping digits, left and right tasks",
     f"{_L}:load_multimnist")
_add("school", {"multitask"}, {"root"}, "School exam scores: 139 regression tasks (MALSAR)",
     f"{_L}:load_school")
_add("landmine", {"multitask"}, {"root"}, "Landmine detection: 29 binary tasks",
     f"{_L}:load_landmine")


def data_kinds(setting: str | None = None) -> list[DataKind]:
    """Registered kinds, optionally only those that serve ``setting``."""
    return [k for k in _KINDS.values() if setting is None or setting in k.settings]


def get_data_kind(name: str) -> DataKind:
    if name not in _KINDS:
        raise UnknownNameError(
            f"unknown data kind '{name}'.{suggest(name, _KINDS)} Valid kinds: {', '.join(_KINDS)} "
            "(transferkit datasets lists them)."
        )
    return _KINDS[name]


def check_data_spec(spec: Any, command: str) -> None:
    """Refuse, before anything heavy, a kind that cannot serve ``command``, a key the kind does
    not read, a missing required key, and a path that does not exist."""
    setting = COMMAND_SETTING[command]
    try:
        kind = get_data_kind(spec.kind)
    except UnknownNameError as err:
        raise ConfigError(f"data.kind: {err}") from None
    if setting not in kind.settings:
        serving = [k.name for k in data_kinds(setting)]
        raise ConfigError(
            f"data kind '{kind.name}' cannot serve 'transferkit {command}' ({SETTINGS[setting]}); "
            f"it serves: {', '.join(sorted(kind.settings))}. Kinds for {command}: {', '.join(serving)}."
        )
    allowed = _COMMON | _SETTING_KEYS[setting] | kind.keys
    unused = sorted(k for k in spec.model_fields_set if k not in allowed)
    if unused:
        raise ConfigError(
            f"data.{unused[0]} is not read by data kind '{kind.name}' in '{command}'; "
            f"keys it reads: {', '.join(sorted(allowed))}"
        )
    missing = [k for k in kind.required if getattr(spec, k, None) is None]
    if missing:
        raise ConfigError(f"data kind '{kind.name}' needs data.{missing[0]} ({kind.description})")
    for key in _PATH_KEYS:
        value = getattr(spec, key, None)
        if value is not None and not Path(value).expanduser().is_file():
            raise ConfigError(f"data.{key}: file '{value}' does not exist")
    root = getattr(spec, "root", None)
    if root is not None and not Path(root).expanduser().is_dir():
        raise ConfigError(f"data.root: folder '{root}' does not exist")


def load_data(spec: Any, command: str) -> Any:
    """Load the data a config's ``data`` section describes for ``command``'s setting:
    a :class:`~transferkit.data.TransferData` for compare/adapt, ``(train, test)``
    :class:`~transferkit.data.multitask.MultiTaskDataset` for multitask."""
    check_data_spec(spec, command)
    return get_data_kind(spec.kind).load(spec, COMMAND_SETTING[command])
