"""Objects: the server's JSON as dicts, with attribute access for convenience.

``ApiObject`` is a ``dict`` subclass. Nested dicts (and dicts inside lists) are wrapped lazily, in
place, the first time they are reached by attribute access, so wrapping a parsed list costs one
shallow copy per item and nothing else. JSON and YAML round-trips are exact; unknown fields are
kept. Attribute access never shadows dict methods (``items``, ``keys``, ``get``...): use item access
for such keys, and for keys that are not identifiers (``obj["metadata"]["x-y"]``).

PyYAML dumps an ``ApiObject`` as a plain mapping, with ``yaml.safe_dump`` and ``yaml.dump`` alike:
the representer is registered when ``yaml`` is imported (at once if it already is), so that
``import dynkube`` does not import ``yaml``. ``dump_yaml`` writes YAML as kubectl does.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from .errors import InvalidInput


class ApiObject(dict):  # type: ignore[type-arg]
    """A Kubernetes object (or any JSON object inside one) with attribute access."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        # The fields first (a __getattr__ would run only after a failed lookup, which costs an
        # exception on every access); the class's own names (dict methods...) are never shadowed.
        if name in _CLASS_NAMES or type(self) is not ApiObject and hasattr(type(self), name):
            return object.__getattribute__(self, name)
        try:
            value = dict.__getitem__(self, name)
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None
        if type(value) is dict:
            value = ApiObject(value)
            dict.__setitem__(self, name, value)
            return value
        if type(value) is list:
            return _wrap_in_place(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy (no ApiObject inside), for libraries that check exact types."""
        plain: dict[str, Any] = json.loads(json.dumps(self))
        return plain

    def to_json(self, **kwargs: Any) -> str:
        """The object as JSON text."""
        return json.dumps(self, **kwargs)

    def to_yaml(self) -> str:
        """The object as YAML text, as ``kubectl get -o yaml`` (and ``dynkube get -o yaml``) write it."""
        return dump_yaml(self)

    def __repr__(self) -> str:
        kind = self.get("kind")
        metadata = self.get("metadata")
        if isinstance(kind, str) and isinstance(metadata, dict):
            where = f"{metadata.get('namespace')}/" if metadata.get("namespace") else ""
            return f"<{kind} {where}{metadata.get('name', '?')}>"
        return f"ApiObject({dict.__repr__(self)})"


_CLASS_NAMES = frozenset(dir(ApiObject))  # what attribute access leaves to the class


# ---- YAML ------------------------------------------------------------------------------------

_KUBECTL_DUMPER: Any = None
_TYPED = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")}
_GO_BOOLS = {"y", "Y", "n", "N"}  # YAML 1.1 booleans that Go's YAML quotes and PyYAML does not
_GO_NUMBER = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


def dump_yaml(document: Any) -> str:
    """``document`` (objects, dicts, lists) as YAML text the way kubectl writes it: keys sorted,
    double quotes where plain text would read as another type ("123", "true", timestamps, ""),
    literal blocks for multi-line text."""
    import yaml  # not at import time: `import dynkube` stays cheap

    return yaml.dump(_plain(document), Dumper=_kubectl_dumper(yaml), sort_keys=True, allow_unicode=True,
                     default_flow_style=False)


def _kubectl_dumper(yaml: Any) -> Any:
    global _KUBECTL_DUMPER
    if _KUBECTL_DUMPER is None:
        class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
            pass

        def represent_str(dumper: Any, value: str) -> Any:
            tag = "tag:yaml.org,2002:str"
            if "\n" in value:
                return dumper.represent_scalar(tag, value, style="|")
            if not value or value in _GO_BOOLS or _GO_NUMBER.match(value) or \
                    dumper.resolve(yaml.ScalarNode, value, (True, False)) in _TYPED:
                return dumper.represent_scalar(tag, value, style='"')
            return dumper.represent_scalar(tag, value)

        Dumper.add_representer(str, represent_str)
        _KUBECTL_DUMPER = Dumper
    return _KUBECTL_DUMPER


def _plain(value: Any) -> Any:
    """Plain dicts and lists (the C dumper does not know dict subclasses)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _register_representers(yaml: ModuleType) -> None:
    """Make every PyYAML dumper (safe or not, C or Python) write an ApiObject as a plain mapping."""
    represent = yaml.representer.SafeRepresenter.represent_dict
    for name in ("SafeRepresenter", "Representer"):
        getattr(yaml.representer, name).add_representer(ApiObject, represent)
    for name in ("SafeDumper", "Dumper", "CSafeDumper", "CDumper"):
        if hasattr(yaml, name):
            getattr(yaml, name).add_representer(ApiObject, represent)


class _RegisterOnYamlImport(importlib.abc.MetaPathFinder):
    """Registers the representers right after ``yaml`` is imported, whoever imports it."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "yaml":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("yaml")
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_register(module: ModuleType) -> None:
            exec_module(module)
            _register_representers(module)

        loader.exec_module = exec_and_register  # type: ignore[method-assign]
        return spec


def _wrap_in_place(parent: dict[str, Any], key: str, value: Any) -> Any:
    if type(value) is dict:
        wrapped = ApiObject(value)
        dict.__setitem__(parent, key, wrapped)
        return wrapped
    if type(value) is list:
        for i, item in enumerate(value):
            if type(item) is dict:
                value[i] = ApiObject(item)
    return value


def wrap(document: Any) -> Any:
    """``document`` as an ApiObject when it is a JSON object; anything else unchanged."""
    return ApiObject(document) if type(document) is dict else document


class ApiList:
    """One page of a list: ``items`` (ApiObjects with ``kind``/``apiVersion`` filled in, as
    client-go does), ``metadata`` (``resourceVersion``, ``continue``), ``kind``, ``api_version``."""

    __slots__ = ("kind", "api_version", "metadata", "items")

    def __init__(self, document: dict[str, Any]) -> None:
        self.kind: str = document.get("kind", "")
        self.api_version: str = document.get("apiVersion", "")
        self.metadata = ApiObject(document.get("metadata") or {})
        item_kind = self.kind[:-4] if self.kind.endswith("List") else ""
        self.items: list[ApiObject] = [_item(raw, item_kind, self.api_version) for raw in document.get("items") or ()]

    @property
    def resource_version(self) -> str:
        return str(self.metadata.get("resourceVersion", ""))

    @property
    def continue_token(self) -> str:
        return str(self.metadata.get("continue", ""))

    def __iter__(self) -> Iterator[ApiObject]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        """The list as the server's JSON shape (plain dicts)."""
        plain: dict[str, Any] = json.loads(json.dumps({"kind": self.kind, "apiVersion": self.api_version,
                                                       "metadata": self.metadata, "items": self.items}))
        return plain

    def __repr__(self) -> str:
        return f"<{self.kind or 'List'} of {len(self.items)} items, resourceVersion={self.resource_version!r}>"


def _item(raw: dict[str, Any], kind: str, api_version: str) -> ApiObject:
    item = ApiObject(raw)
    if kind and "kind" not in item:
        dict.__setitem__(item, "kind", kind)
    if api_version and "apiVersion" not in item:
        dict.__setitem__(item, "apiVersion", api_version)
    return item


def encode_json(value: Any, what: str) -> bytes:
    """``value`` as compact JSON bytes, or InvalidInput saying where it is not JSON (``what`` names
    the argument): a date, bytes, a set or another object, NaN or infinity, a cycle, deep nesting."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        problem = json_problem(value) or ("it is nested too deeply" if isinstance(exc, RecursionError) else str(exc))
        raise InvalidInput(f"{what} cannot be sent as JSON: {problem}") from None


_SCALARS = (str, int, type(None))  # bool is an int
_KEYS = (str, int, float, type(None))
_Where = tuple[Any, ...]  # (parent's _Where, key) chains: a path is built only when reported


def json_problem(value: Any) -> str | None:
    """Where ``value`` stops being JSON (``"data.when is of type date: ..."``), or None; iterative,
    so deep nesting and cycles are reported, never hit."""
    stack: list[tuple[Any, _Where, bool]] = [(value, (), False)]
    open_containers: set[int] = set()
    while stack:
        item, where, leaving = stack.pop()
        if leaving:
            open_containers.discard(id(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{_path(where)} is {item!r}, which JSON cannot carry"
        elif isinstance(item, (dict, list, tuple)):
            if id(item) in open_containers:
                return f"{_path(where)} contains itself"
            open_containers.add(id(item))
            stack.append((item, where, True))
            children = list(item.items() if isinstance(item, dict) else enumerate(item))
            for key, child in reversed(children):
                if isinstance(item, dict) and not isinstance(key, _KEYS):
                    return f"{_path(where)} has a key of type {type(key).__name__}: {_short(key)}"
                stack.append((child, (where, key if isinstance(item, dict) else [key]), False))
        elif not isinstance(item, _SCALARS):
            return f"{_path(where)} is of type {type(item).__name__}: {_short(item)}"
    return None


def _path(where: _Where) -> str:
    """``spec.items[1].name`` from a (parent, key) chain; list indexes are one-element lists."""
    keys = []
    while where:
        where, key = where
        keys.append(key)
    text = "".join(f"[{k[0]}]" if isinstance(k, list) else f".{k}" for k in reversed(keys)).lstrip(".")
    return text or "the value"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
if "yaml" in sys.modules:
    _register_representers(sys.modules["yaml"])
else:
    sys.meta_path.insert(0, _RegisterOnYamlImport())
