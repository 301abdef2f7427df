"""Objects: the server's JSON as dicts, with attribute access for convenience.

``ApiObject`` is a ``dict`` subclass. Nested dicts (and dicts inside lists) are wrapped lazily, in
place, the first time they are reached by attribute access, so wrapping a parsed list costs one
shallow copy per item and nothing else. JSON and YAML round-trips are exact; unknown fields are
kept. Attribute access never shadows dict methods (``items``, ``keys``, ``get``...): use item access
for such keys, and for keys that are not identifiers (``obj["metadata"]["x-y"]``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from .errors import InvalidInput


class ApiObject(dict):  # type: ignore[type-arg]
    """A Kubernetes object (or any JSON object inside one) with attribute access."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None
        return _wrap_in_place(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy (no ApiObject inside), for libraries that check exact types."""
        return json.loads(json.dumps(self))

    def to_json(self, **kwargs: Any) -> str:
        """The object as JSON text."""
        return json.dumps(self, **kwargs)

    def to_yaml(self) -> str:
        """The object as YAML text (keys in their original order)."""
        import yaml  # not at import time: `import dynkube` stays cheap

        return yaml.dump(self.to_dict(), Dumper=_safe_dumper(yaml), sort_keys=False, default_flow_style=False)

    def __repr__(self) -> str:
        kind = self.get("kind")
        metadata = self.get("metadata")
        if isinstance(kind, str) and isinstance(metadata, dict):
            where = f"{metadata.get('namespace')}/" if metadata.get("namespace") else ""
            return f"<{kind} {where}{metadata.get('name', '?')}>"
        return f"ApiObject({dict.__repr__(self)})"


def _safe_dumper(yaml: Any) -> Any:
    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


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
        return self.metadata.get("resourceVersion", "")

    @property
    def continue_token(self) -> str:
        return self.metadata.get("continue", "")

    def __iter__(self) -> Iterator[ApiObject]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        """The list as the server's JSON shape (plain dicts)."""
        return json.loads(json.dumps({"kind": self.kind, "apiVersion": self.api_version,
                                      "metadata": self.metadata, "items": self.items}))

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
