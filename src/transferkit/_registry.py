"""One registry of named factories per method family.

The CLI, the YAML configs and the conformance tests all read this table, so registering a
method makes it available everywhere::

    @register("finetune", "l2_sp")
    class L2SP(FineTuneStrategy): ...

    transferkit.list_methods("finetune")
    transferkit.create("finetune", "l2_sp", alpha=0.01)

A family may also accept *prefixed* names that no table could list in full (the backbone
family's ``timm/<name>``, ``torchvision/<name>``, ``hf/<id or folder>``): :func:`register_prefix`
adds one listed entry per prefix (``"timm/<name>"``, with an example name) and a resolver that
:func:`get_method` and :func:`create` consult for any ``prefix/rest`` name, so every entry point
accepts the same names and rejects the others with the same message.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .exceptions import UnknownNameError, suggest

__all__ = [
    "MethodInfo",
    "check_params",
    "create",
    "get_method",
    "list_families",
    "list_methods",
    "register",
    "register_builder",
    "register_prefix",
]

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
    "multitask": "transferkit.experiments.multitask",
    "instance": "transferkit.instance",
    "feature": "transferkit.feature",
    "parameter": "transferkit.parameter",
    "transferability": "transferkit.transferability",
    "zeroshot": "transferkit.zeroshot",
    "clustering": "transferkit.clustering",
    "selftaught": "transferkit.selftaught",
}

_REGISTRY: dict[str, dict[str, MethodInfo]] = {}
#: family -> prefix -> (resolver of the rest of the name, listed entry)
_PREFIXES: dict[str, dict[str, tuple[Callable[[str], Callable[..., Any]], MethodInfo]]] = {}
#: family -> builder(name, **params) that create() delegates to (e.g. create_backbone)
_BUILDERS: dict[str, Callable[..., Any]] = {}
_loaded = False


@dataclass(frozen=True)
class MethodInfo:
    """One registered method: its family, name, factory and a one-line description."""

    family: str
    name: str
    factory: Callable[..., Any]
    description: str
    #: for a prefix entry (``"timm/<name>"``): a concrete name it resolves, for tests and docs
    example: str | None = None

    @property
    def is_prefix(self) -> bool:
        """Whether this entry stands for every ``prefix/...`` name rather than one method."""
        return self.example is not None

    def create(self, **params: Any) -> Any:
        return self.factory(**params)


def _first_doc_line(obj: Any) -> str:
    """The docstring's first paragraph on one line, up to its first sentence end."""
    doc = (inspect.getdoc(obj) or "").strip()
    para = " ".join(doc.split("\n\n")[0].split())
    # a sentence ends at ". " unless the dot closes an abbreviation ("et al.", "Eq.", "Sec.", "e.g.")
    match = re.search(r"(?<!\bal)(?<!\bEq)(?<!\beq)(?<!\bEqs)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bAlg)"
                      r"(?<!\bSec)(?<!\bFig)(?<!\bcf)\.\s", para)
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


def register_prefix(
    family: str,
    prefix: str,
    resolver: Callable[[str], Callable[..., Any]],
    description: str,
    example: str,
    placeholder: str = "<name>",
) -> None:
    """Accept ``prefix/<rest>`` names in ``family``: ``resolver(rest)`` returns the factory or
    raises :class:`UnknownNameError` naming the problem. The prefix is listed by
    :func:`list_methods` as the entry ``prefix/<placeholder>`` (``example`` is a name it builds)."""
    if "/" in prefix or not prefix:
        raise ValueError(f"a prefix is a non-empty name without '/', got '{prefix}'")
    table = _PREFIXES.setdefault(family, {})
    if prefix in table and table[prefix][0] is not resolver:
        raise ValueError(f"prefix {family}/{prefix}/ is registered twice")
    entry = MethodInfo(family, f"{prefix}/{placeholder}", resolver, description, example)
    table[prefix] = (resolver, entry)
    _REGISTRY.setdefault(family, {})


def register_builder(family: str, builder: Callable[..., Any]) -> None:
    """Make :func:`create` for ``family`` call ``builder(name, **params)`` (one entry point:
    ``create("backbone", n, **p)`` is ``create_backbone(n, **p)``)."""
    _BUILDERS[family] = builder


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
    out = []
    for f in fams:
        entries = {**_REGISTRY[f], **{e.name: e for _, e in _PREFIXES.get(f, {}).values()}}
        out += [entries[n] for n in sorted(entries)]
    return out


def get_method(family: str, name: str) -> MethodInfo:
    """The registered ``family/name``; an unknown name raises with the nearest valid names."""
    _ensure_loaded()
    table = _REGISTRY.get(family)
    if table is None:
        list_methods(family)  # raises the family error
        raise AssertionError  # pragma: no cover
    if name in table:
        return table[name]
    prefixes = _PREFIXES.get(family, {})
    prefix, sep, rest = name.partition("/")
    if sep and prefix in prefixes:
        resolver, entry = prefixes[prefix]
        if not rest:
            raise UnknownNameError(
                f"{family} name '{name}' lacks the part after '{prefix}/' (e.g. '{entry.example}')"
            )
        return MethodInfo(family, name, resolver(rest), entry.description)
    valid = [*sorted(table), *(e.name for _, e in prefixes.values())]
    raise UnknownNameError(
        f"unknown {family} method '{name}'.{suggest(name, valid)} "
        f"Valid names: {', '.join(valid)}."
    )


def create(family: str, name: str, **params: Any) -> Any:
    """Instantiate ``family/name`` with keyword hyper-parameters."""
    _ensure_loaded()
    if family in _BUILDERS:
        return _BUILDERS[family](name, **params)
    info = get_method(family, name)
    check_params(info, params)
    return info.factory(**params)


def check_params(info: MethodInfo, params: dict[str, Any]) -> None:
    """Raise :class:`UnknownNameError` listing the accepted names when ``info``'s factory does
    not take ``params``."""
    try:
        inspect.signature(info.factory).bind(**params)
    except TypeError as err:
        valid = [p for p in inspect.signature(info.factory).parameters if p not in ("self",)]
        raise UnknownNameError(
            f"bad parameters for {info.family} method '{info.name}': {err}. "
            f"Accepted: {', '.join(valid)}."
        ) from None
