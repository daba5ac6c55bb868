"""One registry of named factories per method family.

The CLI, the YAML configs and the conformance tests all read this table, so registering a
method makes it available everywhere::

    @register("finetune", "l2_sp")
    class L2SP(FineTuneStrategy): ...

    transferkit.list_methods("finetune")
    transferkit.create("finetune", "l2_sp", alpha=0.01)
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .exceptions import UnknownNameError, suggest

__all__ = ["MethodInfo", "register", "list_methods", "list_families", "get_method", "create"]

T = TypeVar("T")

#: Modules whose import registers each family. Importing is lazy so ``import transferkit``
#: stays light; the first registry query imports them.
_FAMILY_MODULES: dict[str, str] = {
    "backbone": "transferkit.backbones",
    "finetune": "transferkit.finetune",
    "mtl_architecture": "transferkit.multitask",
    "weighting": "transferkit.multitask",
    "aggregator": "transferkit.multitask",
    "adaptation": "transferkit.adaptation",
    "scorer": "transferkit.adaptation",
    "zeroshot": "transferkit.zeroshot",
}

_REGISTRY: dict[str, dict[str, MethodInfo]] = {}
_loaded = False


@dataclass(frozen=True)
class MethodInfo:
    """One registered method: its family, name, factory and a one-line description."""

    family: str
    name: str
    factory: Callable[..., Any]
    description: str

    def create(self, **params: Any) -> Any:
        return self.factory(**params)


def _first_doc_line(obj: Any) -> str:
    """The docstring's first paragraph on one line, up to its first sentence end."""
    doc = (inspect.getdoc(obj) or "").strip()
    para = " ".join(doc.split("\n\n")[0].split())
    # a sentence ends at ". " unless the dot closes an abbreviation ("et al.", "Eq.", "e.g.")
    match = re.search(r"(?<!\bal)(?<!\bEq)(?<!\beq)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bAlg)\.\s", para)
    return para[: match.start() + 1] if match else para


def register(family: str, name: str, description: str | None = None) -> Callable[[T], T]:
    """Class or function decorator that registers ``obj`` as ``family/name``."""

    def deco(obj: T) -> T:
        table = _REGISTRY.setdefault(family, {})
        if name in table and table[name].factory is not obj:
            raise ValueError(f"{family}/{name} is registered twice")
        table[name] = MethodInfo(family, name, obj, description or _first_doc_line(obj))  # type: ignore[arg-type]
        return obj

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in dict.fromkeys(_FAMILY_MODULES.values()):
        importlib.import_module(module)


def list_families() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def list_methods(family: str | None = None) -> list[MethodInfo]:
    """Registered methods, sorted by family then name; only ``family``'s if given."""
    _ensure_loaded()
    if family is not None and family not in _REGISTRY:
        raise UnknownNameError(
            f"unknown method family '{family}'.{suggest(family, _REGISTRY)} "
            f"Families: {', '.join(sorted(_REGISTRY))}."
        )
    fams = [family] if family is not None else sorted(_REGISTRY)
    return [_REGISTRY[f][n] for f in fams for n in sorted(_REGISTRY[f])]


def get_method(family: str, name: str) -> MethodInfo:
    """The registered ``family/name``; an unknown name raises with the nearest valid names."""
    _ensure_loaded()
    table = _REGISTRY.get(family)
    if table is None:
        list_methods(family)  # raises the family error
        raise AssertionError  # pragma: no cover
    if name not in table:
        raise UnknownNameError(
            f"unknown {family} method '{name}'.{suggest(name, table)} "
            f"Valid names: {', '.join(sorted(table))}."
        )
    return table[name]


def create(family: str, name: str, **params: Any) -> Any:
    """Instantiate ``family/name`` with keyword hyper-parameters."""
    info = get_method(family, name)
    try:
        inspect.signature(info.factory).bind(**params)
    except TypeError as err:
        valid = [p for p in inspect.signature(info.factory).parameters if p not in ("self",)]
        raise UnknownNameError(
            f"bad parameters for {family} method '{name}': {err}. Accepted: {', '.join(valid)}."
        ) from None
    return info.factory(**params)
