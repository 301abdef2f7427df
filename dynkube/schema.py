"""Schemas: the server's OpenAPI v3 documents, turned into JSON Schema to validate objects and to explain fields.

``SchemaStore`` fetches the ``/openapi/v3`` index once, then only the group-version documents it is asked
about, keeps them in memory and on disk keyed by the hash the index gives (a document never changes for a
hash). A kind's model is found through ``x-kubernetes-group-version-kind`` and converted once into a
self-contained Draft 2020-12 schema with the Kubernetes extensions translated; its compiled validator is
reused. Everything below the HTTP layer is pure: ``SchemaStore.from_documents`` and the module functions
work on documents alone. ``jsonschema`` is imported only when something is validated.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import functools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeGuard
from urllib.parse import parse_qsl, urlsplit

from cachetools import LRUCache

from . import errors
from ._diskcache import DiskCache, default_cache_root, server_dir_name
from .core import jsondecode
from .core.http import Request, Response

log = logging.getLogger(__name__)

__all__ = [
    "Explanation",
    "FieldInfo",
    "SchemaStore",
    "ValidationIssue",
    "crd_documents",
    "explain_document",
    "find_model",
    "gv_path",
    "openapi_disk_cache",
    "to_json_schema",
]

INDEX_PATH = "/openapi/v3"
_COMPONENT_REF = "#/components/schemas/"
_DEFS_REF = "#/$defs/"
_CLOSED = "x-dynkube-closed"  # private keyword: report properties the schema does not declare
_GO_INTEGER = "x-dynkube-go-integer"  # private keyword: a float such as 3.0 is not an integer (Go decoding)
_UNIQUE = "x-dynkube-unique"  # private keyword: list-type set (true) or map (its keys) in a CRD's schema
_SECRET = "x-dynkube-secret"  # private mark: values here are never quoted in messages (a Secret, a password)
_SECRET_MODELS = frozenset({"io.k8s.api.core.v1.Secret"})
_SECRET_FORMATS = frozenset({"password", "creditcard", "ssn"})  # OpenAPI's and strfmt's secret-like formats
_HIDDEN = "<secret>"  # what a message shows instead of a secret value
_QUANTITY_MODEL = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_INDEX_REFRESH_SECONDS = 1.0  # at most one index refetch per second when a group-version is missing
_DOCUMENTS_IN_MEMORY = 8  # parsed documents kept (the core one is ~2 MB of JSON); the disk cache backs them
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_HEX = re.compile(r"^[0-9A-Fa-f]{16,256}$")


class Transport(Protocol):
    """What SchemaStore needs from dynkube.transport.Transport."""

    def send(self, request: Request) -> Response: ...


# ---- values -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem found in an object.

    ``path`` is a field path as the server writes it (``spec.template.spec.containers[0].image``,
    ``metadata.labels[app.kubernetes.io/name]``; ``""`` for the object itself); ``keyword`` is the JSON
    Schema keyword that failed (``type``, ``required``, ``enum``, ...) or ``unknown-field``.
    """

    path: str
    message: str
    keyword: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A field listed by explain: its name, kubectl-style type (``[]Container``, ``map[string]string``)."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    enum: tuple[Any, ...] = ()
    fields: tuple[FieldInfo, ...] = ()  # nested fields, filled only by a recursive explain


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``explain`` found for a kind or one of its fields; ``render()`` gives kubectl-like text."""

    group: str
    version: str
    kind: str
    path: tuple[str, ...]  # field names below the kind; () for the kind itself
    type: str
    description: str
    required: tuple[str, ...] = ()
    fields: tuple[FieldInfo, ...] = ()
    enum: tuple[Any, ...] = ()
    recursive: bool = False

    @property
    def name(self) -> str:
        """The field's name, or the kind's."""
        return self.path[-1] if self.path else self.kind

    def field(self, name: str) -> FieldInfo:
        """The child field called ``name`` (KeyError if there is none)."""
        for info in self.fields:
            if info.name == name:
                return info
        raise KeyError(name)

    def render(self) -> str:
        """Text laid out as ``kubectl explain`` prints it (``--recursive`` when built recursively)."""
        return _render(self)

    def __str__(self) -> str:
        return self.render()


# ---- group-versions, documents and models -----------------------------------------------------

def gv_path(group: str, version: str) -> str:
    """The OpenAPI v3 index key of a group-version: ``api/v1``, ``apis/apps/v1``."""
    if not version:
        raise errors.InvalidInput("a version is required (e.g. 'v1')")
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _schemas_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    components = document.get("components") if isinstance(document, Mapping) else None
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    if not isinstance(schemas, Mapping):
        raise errors.SchemaUnavailable("the OpenAPI document has no components.schemas")
    return schemas


def _is_document(value: Any) -> TypeGuard[dict[str, Any]]:
    try:
        _schemas_of(value)
    except errors.SchemaUnavailable:
        return False
    return True


def _kind_models(schemas: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    """Map every (group, version, kind) named by ``x-kubernetes-group-version-kind`` to its model."""
    found: dict[tuple[str, str, str], str] = {}
    for name, schema in schemas.items():
        gvks = schema.get("x-kubernetes-group-version-kind") if isinstance(schema, Mapping) else None
        for gvk in gvks if isinstance(gvks, list) else ():
            if isinstance(gvk, Mapping):
                key = (str(gvk.get("group", "")), str(gvk.get("version", "")), str(gvk.get("kind", "")))
                found.setdefault(key, name)
    return found


def find_model(document: Mapping[str, Any], group: str, version: str, kind: str) -> str:
    """The ``components.schemas`` name of a kind's model; SchemaUnavailable (with close kinds) if absent."""
    models = _kind_models(_schemas_of(document))
    return _model_in(models, group, version, kind)


def _model_in(models: Mapping[tuple[str, str, str], str], group: str, version: str, kind: str) -> str:
    name = models.get((group, version, kind))
    if name:
        return name
    kinds = sorted({k for g, v, k in models if (g, v) == (group, version)})
    close = [k for k in kinds if k.lower() == kind.lower()] or _suggest(kind, kinds)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise errors.SchemaUnavailable(
        f"the OpenAPI v3 document for {gv_path(group, version)} has no schema for kind {kind!r}{hint}")


def _suggest(word: str, candidates: Sequence[str]) -> list[str]:
    """Close matches for a misspelt name: the best one and any nearly as close (at most three)."""
    scored = sorted(((difflib.SequenceMatcher(None, word, c).ratio(), c) for c in candidates), reverse=True)
    scored = [(r, c) for r, c in scored if r >= 0.6]
    return [c for r, c in scored[:3] if r >= scored[0][0] - 0.05] if scored else []


def _ref_name(schema: Any) -> str | None:
    """The component a schema points to: ``$ref`` itself, or the ``allOf: [{$ref}]`` wrapper the server writes."""
    if not isinstance(schema, Mapping):
        return None
    ref = schema.get("$ref")
    if ref is None:
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            ref = all_of[0].get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
        return ref[len(_COMPONENT_REF):]
    return None


# ---- OpenAPI v3 -> JSON Schema (Draft 2020-12) --------------------------------------------------

def to_json_schema(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A self-contained Draft 2020-12 schema for one model of an OpenAPI v3 document.

    Components become ``$defs`` (so recursive models such as JSONSchemaProps stay finite), Kubernetes
    extensions are translated, and objects that declare their properties carry the private keyword
    ``x-dynkube-closed`` that the validator uses to report unknown fields. In a CRD's document the kind's own
    schema follows the CRD rules (strfmt formats, list-type uniqueness); the components it refers to
    (ObjectMeta, Time) and every built-in model follow Go decoding (see "formats the server checks").
    """
    return _Converter(_schemas_of(document), model if _is_crd_document(document) else None).root(model)


_CRD_TITLE = "Kubernetes CRD Swagger"  # what the apiextensions server titles the documents it publishes


def _is_crd_document(document: Mapping[str, Any]) -> bool:
    info = document.get("info") if isinstance(document, Mapping) else None
    return isinstance(info, Mapping) and info.get("title") == _CRD_TITLE


class _Converter:
    def __init__(self, schemas: Mapping[str, Any], crd_model: str | None = None) -> None:
        self.schemas = schemas
        self.crd_model = crd_model  # the model whose schema a CRD author wrote (strfmt formats, list rules)
        self.crd = False  # converting crd_model right now
        self.defs: dict[str, Any] = {}
        self.pending: list[str] = []

    def root(self, model: str) -> dict[str, Any]:
        if model not in self.schemas:
            raise errors.SchemaUnavailable(f"the OpenAPI document has no component {model!r}")
        top = {"$schema": "https://json-schema.org/draft/2020-12/schema", **self.ref(model)}
        while self.pending:
            name = self.pending.pop()
            self.crd = name == self.crd_model
            self.defs[name] = self.node(self.schemas.get(name, {}), model=name)
        recursive = _recursive_defs(self.defs)
        inline = {_DEFS_REF + _escape_pointer(k): v for k, v in self.defs.items() if k not in recursive}
        for schema in self.defs.values():
            _inline_refs(schema, inline)
        if model not in recursive:
            top = {**self.defs[model], "$schema": top["$schema"]}
        top["$defs"] = {_escape_pointer(k): self.defs[k] for k in sorted(recursive)}
        return top

    def ref(self, name: str) -> dict[str, Any]:
        if name not in self.defs:
            self.defs[name] = None  # reserved; filled when popped from pending
            self.pending.append(name)
        return {"$ref": _DEFS_REF + _escape_pointer(name)}

    def node(self, s: Any, *, branch: bool = False, model: str = "") -> Any:
        """Convert one schema object; ``branch`` is true inside allOf/anyOf/oneOf/not (never closed)."""
        if not isinstance(s, Mapping):
            return bool(s) if isinstance(s, bool) else True
        out: dict[str, Any] = {}
        ref = _ref_name(s)
        if ref is not None:
            out.update(self.ref(ref))
        elif "$ref" in s:
            log.debug("ignoring unsupported $ref %r", s["$ref"])
        self._types(s, out, model)
        if model in _SECRET_MODELS or s.get("format") in _SECRET_FORMATS:
            out[_SECRET] = True
        self._assertions(s, out)
        self._structure(s, out, branch)
        self._combinators(s, out, ref is not None)
        return out

    def _types(self, s: Mapping[str, Any], out: dict[str, Any], model: str) -> None:
        types = _simple_types(s, crd=self.crd)
        fmt = s.get("format")
        if types is not None:
            if s.get("nullable") is True and "null" not in types:
                types.append("null")
            out["type"] = types[0] if len(types) == 1 else types
            if "integer" in types and not self.crd:
                out[_GO_INTEGER] = True  # Go decoding rejects 3.0 for an integer field; CRD validation takes it
            if fmt in _INT_RANGES and "integer" in types:
                low, high = _INT_RANGES[fmt]
                out.setdefault("minimum", low)
                out.setdefault("maximum", high)
                return
        if types is None or "string" in types:
            private = _format_for(fmt, model, self.crd)
            if private:
                out["format"] = private

    def _assertions(self, s: Mapping[str, Any], out: dict[str, Any]) -> None:
        for key in ("minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "multipleOf",
                    "minProperties", "maxProperties", "const"):
            if key in s:
                out[key] = s[key]
        if isinstance(s.get("enum"), list):
            out["enum"] = list(s["enum"]) + ([None] if s.get("nullable") is True and None not in s["enum"] else [])
        pattern = s.get("pattern")
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
                out["pattern"] = pattern
            except re.error as exc:
                log.debug("pattern %r is not a Python regular expression (%s); not checked", pattern, exc)
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if bound in s:
                out[exclusive if s.get(exclusive) is True else bound] = s[bound]

    def _structure(self, s: Mapping[str, Any], out: dict[str, Any], branch: bool) -> None:
        props = s.get("properties")
        if isinstance(props, Mapping):
            out["properties"] = {k: self.node(v, branch=branch) for k, v in props.items()}
        if "items" in s:
            out["items"] = self.node(s["items"], branch=branch)
        additional = s.get("additionalProperties")
        if isinstance(additional, bool):
            out["additionalProperties"] = additional
        elif isinstance(additional, Mapping):
            out["additionalProperties"] = self.node(additional, branch=branch)
        required = [r for r in s.get("required") or () if isinstance(r, str)]
        list_type = s.get("x-kubernetes-list-type")
        if self.crd and list_type == "set":
            out[_UNIQUE] = True
        elif self.crd and list_type == "map" and isinstance(s.get("x-kubernetes-list-map-keys"), list):
            out[_UNIQUE] = [k for k in s["x-kubernetes-list-map-keys"] if isinstance(k, str)]
        if s.get("x-kubernetes-embedded-resource") is True:
            self._embedded(out, required)
        if required:
            out["required"] = required
        preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
        if "properties" in out and additional is None and not preserve and not branch:
            out[_CLOSED] = True

    @staticmethod
    def _embedded(out: dict[str, Any], required: list[str]) -> None:
        """An embedded object is a full object: apiVersion and kind are required and not empty (metadata is not
        required, as on the server, which also publishes the three properties itself)."""
        props = out.setdefault("properties", {})
        for name in ("apiVersion", "kind"):
            props[name] = {**(props.get(name) or {"type": "string"}), "minLength": 1}
        props.setdefault("metadata", {"type": "object"})
        for name in ("apiVersion", "kind"):
            if name not in required:
                required.append(name)

    def _combinators(self, s: Mapping[str, Any], out: dict[str, Any], ref_consumed: bool) -> None:
        for key in ("allOf", "anyOf", "oneOf"):
            parts = s.get(key)
            if not isinstance(parts, list) or (key == "allOf" and ref_consumed):
                continue
            if key != "allOf" and _types_only(parts):
                continue  # already folded into "type"
            out[key] = [self.node(p, branch=True) for p in parts]
        if isinstance(s.get("not"), Mapping):
            out["not"] = self.node(s["not"], branch=True)


def _refs_to_defs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_REF):
            yield ref[len(_DEFS_REF):].replace("~1", "/").replace("~0", "~")
        for v in value.values():
            yield from _refs_to_defs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs_to_defs(v)


def _recursive_defs(defs: Mapping[str, Any]) -> set[str]:
    """Definitions that can reach themselves through references (JSONSchemaProps, ...)."""
    edges = {name: set(_refs_to_defs(schema)) for name, schema in defs.items()}
    recursive: set[str] = set()
    for start in edges:
        stack, seen = list(edges[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                recursive.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(edges.get(name, ()))
    return recursive


def _inline_refs(value: Any, inline: Mapping[str, Any]) -> None:
    """Replace ``{"$ref": X}`` by X's (shared) schema where X is not recursive: faster validation."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if _plain_ref(child, inline):
            while _plain_ref(child, inline):  # a chain of plain references
                target = inline[child["$ref"]]
                child.clear()
                child.update(target if isinstance(target, dict) else {"allOf": [target]})
        else:
            _inline_refs(child, inline)


def _plain_ref(value: Any, inline: Mapping[str, Any]) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(ref := value.get("$ref"), str) and ref in inline


def _simple_types(s: Mapping[str, Any], *, crd: bool = False) -> list[str] | None:
    """The JSON types a schema allows by itself (int-or-string and ``oneOf: [{type}...]`` folded in).

    ``format: int-or-string`` means IntOrString only in built-in documents; a CRD's server ignores that format.
    """
    if s.get("x-kubernetes-int-or-string") is True or (s.get("format") == "int-or-string" and not crd):
        return ["integer", "string"]
    if isinstance(s.get("type"), str):
        return [s["type"]]
    for key in ("oneOf", "anyOf"):
        parts = s.get(key)
        if isinstance(parts, list) and _types_only(parts):
            return [p["type"] for p in parts]
    return None


def _types_only(parts: list[Any]) -> bool:
    """True for ``[{"type": "string"}, {"type": "number"}]``: alternatives that differ only by type."""
    return bool(parts) and all(
        isinstance(p, Mapping) and set(p) == {"type"} and isinstance(p["type"], str) for p in parts)


def _escape_pointer(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


# ---- formats the server checks --------------------------------------------------------------------------------
#
# Two families, because two different pieces of server code check them:
# - built-in kinds, and the ObjectMeta/Time components inside CRD documents, are decoded by Go: a date-time is a
#   metav1.Time (time.Parse RFC3339), a MicroTime needs exactly six fraction digits, bytes are encoding/json's
#   base64, a Quantity must parse, and an integer field rejects 3.0;
# - a CRD's own schema is validated by kube-openapi's strfmt registry, format by format (names compared without
#   dashes: "date-time" is "datetime"); formats that registry does not know (e.g. "quantity") are not checked.
# Checkers are registered under private names ("go:date-time", "crd:datetime"); messages show the public name.

class _Pattern:
    """A regular expression compiled on first use, so that importing this module stays cheap."""

    __slots__ = ("_source", "_flags", "_compiled")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source, self._flags = source, flags
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:  # fullmatch, match, search, findall
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return getattr(self._compiled, name)


_GO_TIME = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?"
                      r"(?:Z|[+-]([0-9]{2}):([0-9]{2}))")
_STRFMT_TIME = _Pattern(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))")
_DATE = _Pattern(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_QUANTITY = _Pattern(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
_STRFMT_BASE64 = _Pattern(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})")
_UUID_PATTERNS = {
    "uuid": r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
    "uuid3": r"[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}",
    "uuid4": r"[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
    "uuid5": r"[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}",
}
_HEX_DIGITS = _Pattern(r"[0-9A-Fa-f]+")
_HEXCOLOR = _Pattern(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_GO_DURATION = _Pattern(r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+")
_SCALA_DURATION = _Pattern(r"[\t\n\f\r ]*(?:[0-9]+[\t\n\f\r ]*[A-Za-z\u00b5]+[\t\n\f\r ]*)+")
_SCALA_DURATION_PART = _Pattern(r"([0-9]+)[\t\n\f\r ]*([A-Za-z\u00b5]+)")
_DURATION_UNITS = (("ns", "nano"), ("us", "\u00b5s", "micro"), ("ms", "milli"), ("s", "sec"), ("m", "min"),
                   ("h", "hr", "hour"), ("d", "day"), ("w", "wk", "week"))
_URI_SCHEME = _Pattern(r"[A-Za-z][A-Za-z0-9+.-]*:")
_URI_BAD_ESCAPE = _Pattern(r"%(?![0-9A-Fa-f]{2})")
_URI_HOST_BAD = _Pattern(r"[^A-Za-z0-9\-_.~!$&'()*+,;=:\[\]<>\"%\x80-\U0010ffff]")


def _valid_date(year: int, month: int, day: int) -> bool:
    """Go's range checks (year 0000 included, unlike Python's datetime)."""
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _check_date(value: str) -> bool:
    """``time.Parse("2006-01-02", value)``: both the built-in and the CRD rule."""
    match = _DATE.fullmatch(value)
    return bool(match) and _valid_date(*(int(g) for g in match.groups()))


def _check_go_time(value: str, *, micro: bool = False) -> bool:
    """metav1.Time (``time.Parse(RFC3339)``) or, with ``micro``, metav1.MicroTime (six fraction digits).

    As Go's parser: a one-digit hour is accepted, the fraction may follow ``.`` or ``,``, ``T`` and ``Z`` are
    upper case, and an offset may say up to 24 hours and 60 minutes.
    """
    match = _GO_TIME.fullmatch(value)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, tz_hour, tz_minute = match.group(7), match.group(8), match.group(9)
    if micro and (fraction is None or len(fraction) != 6):
        return False
    if tz_hour is not None and (int(tz_hour) > 24 or int(tz_minute) > 60):
        return False
    return _valid_date(year, month, day) and hour < 24 and minute < 60 and second < 60


def _check_go_base64(value: str) -> bool:
    """encoding/json's []byte: standard padded base64, line breaks ignored."""
    try:
        base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_quantity(value: str) -> bool:
    return bool(_QUANTITY.fullmatch(value))


def _check_strfmt_date_time(value: str) -> bool:
    """strfmt.IsDateTime: split on "t" (any case), a valid date, then ``hh:mm:ss[.frac](z|±hh:mm)``."""
    parts = value.lower().split("t")
    if len(value) < 4 or len(parts) < 2 or not _check_date(parts[0]):
        return False
    match = _STRFMT_TIME.fullmatch(parts[1])
    return bool(match) and match.group(1) <= "23" and match.group(2) <= "59" and match.group(3) <= "59"


def _sloppy_ip(value: str) -> int | None:
    """The IP version of ``value`` as k8s.io/utils ParseIPSloppy reads it (IPv4 octets may have leading
    zeros), or None."""
    for char in value:
        if char == ".":
            return 4 if _sloppy_ipv4(value) else None
        if char == ":":
            break
    else:
        return None
    if "%" in value:
        return None
    head, _, tail = value.rpartition(":")
    if "." in tail:  # embedded IPv4: leading zeros allowed there too
        if not _sloppy_ipv4(tail):
            return None
        value = head + ":" + ".".join(str(int(p)) for p in tail.split("."))
    import ipaddress

    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return 6


def _sloppy_ipv4(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts)


def _check_cidr(value: str) -> bool:
    """net.ParseCIDR, sloppy: ``address/prefix`` with a decimal prefix length."""
    address, slash, prefix = value.partition("/")
    version = _sloppy_ip(address) if slash else None
    if version is None or not (prefix.isascii() and prefix.isdigit()):
        return False
    return int(prefix) <= (32 if version == 4 else 128)


def _check_mac(value: str) -> bool:
    """net.ParseMAC: 6, 8 or 20 octets as ``aa:bb:..``, ``aa-bb-..`` or ``aabb.ccdd...``."""
    if len(value) >= 3 and value[2] in ":-":
        groups, size = value.split(value[2]), 2
    elif len(value) >= 5 and value[4] == ".":
        groups, size = value.split("."), 4
    else:
        return False
    octets = len(groups) * size // 2
    return octets in (6, 8, 20) and all(len(g) == size and _HEX_DIGITS.fullmatch(g) for g in groups)


def _check_duration(value: str) -> bool:
    """strfmt.ParseDuration: Go's ``time.ParseDuration``, else Scala-like ``"3 days"`` with a known unit."""
    if value in ("0", "+0", "-0") or _GO_DURATION.fullmatch(value):
        return True
    if not _SCALA_DURATION.fullmatch(value):
        return False
    for _count, unit in _SCALA_DURATION_PART.findall(value):
        unit = unit.lower()
        if any(unit == v or (i == len(vs) - 1 and unit.startswith(v)) for vs in _DURATION_UNITS
               for i, v in enumerate(vs)):
            return True
    return False


def _check_uri(value: str) -> bool:
    """The clear failures of Go's ``url.ParseRequestURI``: empty, control characters, no scheme and no leading
    ``/``, a character not allowed in a host name, a bad ``%`` escape in the path. (Ports, user info and
    escapes in the host are not checked.)"""
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or value.startswith(":"):
        return False
    if value == "*":
        return True
    scheme = _URI_SCHEME.match(value)
    rest = value[scheme.end():] if scheme else value
    path = rest.split("?", 1)[0]
    if not path.startswith("/"):
        return bool(scheme)  # with a scheme, the rest is opaque and not checked further
    if path.startswith("//") and scheme:
        authority, slash, path = path[2:].partition("/")
        if _URI_HOST_BAD.search(authority.rpartition("@")[2]):
            return False
        path = slash + path
    return not _URI_BAD_ESCAPE.search(path)


def _regex_check(pattern: _Pattern) -> Any:
    return lambda value: bool(pattern.fullmatch(value))


# Private format name -> checker. Built-in (Go decoding) and CRD (strfmt) checkers are kept apart.
_FORMAT_CHECKS: dict[str, Any] = {
    "go:date-time": _check_go_time,
    "go:micro-time": functools.partial(_check_go_time, micro=True),
    "go:byte": _check_go_base64,
    "go:quantity": _check_quantity,
    "crd:datetime": _check_strfmt_date_time,
    "crd:date": _check_date,
    "crd:byte": _regex_check(_STRFMT_BASE64),
    "crd:ipv4": lambda v: _sloppy_ip(v) is not None and "." in v,
    "crd:ipv6": lambda v: _sloppy_ip(v) is not None and ":" in v,
    "crd:cidr": _check_cidr,
    "crd:mac": _check_mac,
    "crd:duration": _check_duration,
    "crd:uri": _check_uri,
    "crd:hexcolor": _regex_check(_HEXCOLOR),
    "crd:bsonobjectid": lambda v: len(v) == 24 and bool(_HEX_DIGITS.fullmatch(v)),
    **{f"crd:{name}": _regex_check(_Pattern(pattern, re.IGNORECASE)) for name, pattern in _UUID_PATTERNS.items()},
}
_PUBLIC_FORMAT = {"go:micro-time": "date-time", "go:date-time": "date-time", "crd:datetime": "date-time"}
_GO_MODEL_FORMATS = {
    _QUANTITY_MODEL: "go:quantity",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "go:date-time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "go:micro-time",
}
_GO_FORMATS = {"date-time": "go:date-time", "byte": "go:byte"}


def _format_for(fmt: Any, model: str, crd: bool) -> str | None:
    """The private format name a schema node gets, or None when the server does not check its format."""
    if model in _GO_MODEL_FORMATS:
        return _GO_MODEL_FORMATS[model]
    if not isinstance(fmt, str):
        return None
    if not crd:
        return _GO_FORMATS.get(fmt)
    name = "crd:" + fmt.replace("-", "")
    return name if name in _FORMAT_CHECKS else None


# ---- the validator ----------------------------------------------------------------------------------

@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 with Kubernetes semantics: null = unset, unknown fields reported by ``x-dynkube-closed``."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def properties(validator: Any, props: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        for name, sub in props.items():
            if instance.get(name) is not None:  # the server drops null fields before validating
                yield from validator.descend(instance[name], sub, path=name, schema_path=name)

    def additional(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        names = [k for k in instance if k not in declared]
        if extra is False and names:
            yield ValidationError(f"unexpected properties {', '.join(map(repr, names))}")
        elif isinstance(extra, dict):
            for name in names:
                if instance[name] is not None:
                    yield from validator.descend(instance[name], extra, path=name)

    def required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        for name in names:
            if instance.get(name) is None and not _allows_null(declared.get(name)):
                yield ValidationError("Required value", path=[name])

    def closed(validator: Any, _value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "object"):
            return
        declared = schema.get("properties", {})
        for name in instance:
            if name not in declared:
                yield ValidationError(_unknown_field_message(name, declared), path=[name])

    def go_integer(validator: Any, _value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if isinstance(instance, float) and instance.is_integer():  # other floats already fail "type"
            yield ValidationError(f"{instance!r} is not of type 'integer'")

    def unique(validator: Any, keys: Any, instance: Any, schema: Any) -> Iterator[Any]:
        if not validator.is_type(instance, "array"):
            return
        seen: set[str] = set()
        for index, item in enumerate(instance):
            if keys is True:
                value = item
            elif isinstance(item, Mapping):
                value = {k: item[k] for k in keys if k in item}
            else:
                continue
            key = json.dumps(value, sort_keys=True, separators=(",", ":"))
            if key in seen:
                yield ValidationError(f"Duplicate value: {key}", path=[index])
            seen.add(key)

    return validators.extend(Draft202012Validator, {  # type: ignore[no-untyped-call]
        "properties": properties, "additionalProperties": additional, "required": required, _CLOSED: closed,
        _GO_INTEGER: go_integer, _UNIQUE: unique,
    })


def _allows_null(schema: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _unknown_field_message(name: str, declared: Mapping[str, Any]) -> str:
    close = _suggest(name, list(declared))
    quoted = " or ".join(f'"{c}"' for c in close)
    hint = f"; did you mean {quoted}?" if close else ""
    return f'unknown field "{name}"{hint}'


@functools.cache
def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in _FORMAT_CHECKS.items():
        checker.checks(name)(lambda value, check=check: not isinstance(value, str) or check(value))
    return checker


class _CompiledSchema:
    """One kind's converted schema and its compiled validator; safe to share between threads."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        cls = _validator_class()
        self._validator = cls(schema, format_checker=_format_checker())
        self._secrets = _Secrets(schema) if _holds_secret(schema, schema, set()) else None

    def issues(self, obj: Any, *, strict: bool = False) -> list[ValidationIssue]:
        """Every problem in ``obj``; unknown fields are errors only when ``strict`` (else logged)."""
        found: list[ValidationIssue] = []
        unknown: list[ValidationIssue] = []
        for error in sorted(self._validator.iter_errors(obj), key=_error_order):
            issue = _issue(error, hide=self._secrets is not None and self._secrets.touched_by(error))
            (unknown if issue.keyword == "unknown-field" and not strict else found).append(issue)
        if unknown:
            log.warning("unknown fields (ignored by the server unless fieldValidation=Strict): %s",
                        "; ".join(map(str, unknown)))
        return found


def _error_order(error: Any) -> tuple[tuple[int, int, str], ...]:
    """Sort by field path, array indexes numerically (``[2]`` before ``[10]``)."""
    return tuple((0, step, "") if isinstance(step, int) else (1, 0, str(step)) for step in error.absolute_path)


_KEYWORDS = {_CLOSED: "unknown-field", _GO_INTEGER: "type", _UNIQUE: "x-kubernetes-list-type"}


def _issue(error: Any, *, hide: bool = False) -> ValidationIssue:
    """The issue for a jsonschema error; with ``hide`` its message does not quote the value at fault."""
    keyword = _KEYWORDS.get(error.validator, str(error.validator))
    if hide:
        message = _hidden_message(error)
    elif keyword == "format":
        message = f"{error.instance!r} is not a {_public_format(error)!r}"
    else:
        message = error.message
    return ValidationIssue(_field_path(error), message, keyword)


def _public_format(error: Any) -> str:
    private = str(error.validator_value)
    return _PUBLIC_FORMAT.get(private, private.partition(":")[2] or private)


_VALUE_FREE = frozenset({"required", "additionalProperties", "const", _CLOSED})  # messages that never quote it


def _hidden_message(error: Any) -> str:
    """A message for a failed keyword that shows ``<secret>`` where jsonschema would quote the value."""
    keyword, rule = error.validator, error.validator_value
    if keyword in _VALUE_FREE:
        return str(error.message)
    if keyword == "format":
        return f"{_HIDDEN} is not a {_public_format(error)!r}"
    if keyword in ("type", _GO_INTEGER):
        types = ["integer"] if keyword == _GO_INTEGER else rule if isinstance(rule, list) else [rule]
        return f"{_HIDDEN} is not of type {', '.join(map(repr, types))}"
    texts = {
        "enum": f"is not one of {rule!r}", "pattern": f"does not match {rule!r}",
        "minLength": f"is shorter than {rule} characters", "maxLength": f"is longer than {rule} characters",
        "minimum": f"is less than the minimum of {rule!r}", "maximum": f"is more than the maximum of {rule!r}",
        "exclusiveMinimum": f"is not more than {rule!r}", "exclusiveMaximum": f"is not less than {rule!r}",
        "multipleOf": f"is not a multiple of {rule!r}", _UNIQUE: "is a duplicate value",
        "minItems": f"has fewer than {rule} items", "maxItems": f"has more than {rule} items",
        "minProperties": f"has fewer than {rule} properties", "maxProperties": f"has more than {rule} properties",
    }
    return f"{_HIDDEN} {texts.get(keyword, f'is not valid under {keyword!r}')}"


class _Secrets:
    """Which errors of a schema that marks secrets (``x-dynkube-secret``) must not quote their value."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def touched_by(self, error: Any) -> bool:
        """True when the value at fault is a secret, is inside one, or holds one (a parent object's
        ``anyOf`` or ``maxProperties`` message would quote the whole object)."""
        node: Any = self.root
        for token in error.absolute_schema_path:
            if isinstance(node, dict) and node.get(_SECRET):
                return True
            node = self._step(node, token)
            if node is None:
                break
        return _holds_secret(error.schema, self.root, set())

    def _step(self, node: Any, token: Any) -> Any:
        if token == "$ref" and isinstance(node, dict):
            return _resolve_def(self.root, node.get("$ref"))
        if isinstance(node, dict):
            return node.get(token)
        if isinstance(node, list) and isinstance(token, int) and token < len(node):
            return node[token]
        return None


def _resolve_def(root: Mapping[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith(_DEFS_REF):
        return None
    return root.get("$defs", {}).get(ref[len(_DEFS_REF):])


def _holds_secret(node: Any, root: Mapping[str, Any], seen: set[int]) -> bool:
    """True when a converted schema node, or any node below it (references followed), is marked secret."""
    if isinstance(node, list):
        return any(_holds_secret(child, root, seen) for child in node)
    if not isinstance(node, dict) or id(node) in seen:
        return False
    seen.add(id(node))
    if node.get(_SECRET):
        return True
    if "$ref" in node and _holds_secret(_resolve_def(root, node["$ref"]), root, seen):
        return True
    return any(_holds_secret(child, root, seen) for key, child in node.items() if key != "$defs")


def _field_path(error: Any) -> str:
    """``spec.containers[0].ports[0].containerPort``; map keys as ``labels[key]`` (from the schema path)."""
    steps = list(error.absolute_path)
    keys = _map_key_steps(list(error.absolute_schema_path), len(steps))
    text = ""
    for i, step in enumerate(steps):
        if isinstance(step, int) or i in keys:
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _map_key_steps(schema_path: list[Any], count: int) -> set[int]:
    """Which instance steps were map keys: those entered through additionalProperties/patternProperties."""
    keys: set[int] = set()
    step = 0
    tokens = iter(schema_path)
    for token in tokens:
        if step >= count:
            break
        if token in ("properties", "patternProperties"):
            next(tokens, None)
            if token == "patternProperties":
                keys.add(step)
            step += 1
        elif token == "additionalProperties":
            keys.add(step)
            step += 1
        elif token in ("items", "prefixItems", "contains"):
            step += 1
    return keys


# ---- explain ------------------------------------------------------------------------------------------

def explain_document(document: Mapping[str, Any], group: str, version: str, kind: str,
                     field_path: Sequence[str] | str = (), *, recursive: bool = False) -> Explanation:
    """Explain a kind, or a field below it, from one group-version's OpenAPI v3 document."""
    schemas = _schemas_of(document)
    model = find_model(document, group, version, kind)
    return _Explainer(schemas).explain(group, version, kind, model, _path_parts(field_path), recursive)


def _path_parts(field_path: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(field_path, str):
        parts = field_path.split(".") if field_path else []
    else:
        parts = list(field_path)
    if any(not isinstance(p, str) or not p for p in parts):
        raise errors.InvalidInput(f"field path {field_path!r} has an empty part")
    return tuple(parts)


class _Explainer:
    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas

    def deref(self, s: Any) -> Mapping[str, Any]:
        seen: set[str] = set()
        while (ref := _ref_name(s)) is not None and ref not in seen:
            seen.add(ref)
            s = self.schemas.get(ref, {})
        return s if isinstance(s, Mapping) else {}

    def chain(self, node: Any, *, maps: bool = True) -> Iterator[Mapping[str, Any]]:
        """``node``, then what it stands for: its ``$ref`` target, array items, map values (if ``maps``)."""
        seen: set[str] = set()
        s = node
        while isinstance(s, Mapping):
            yield s
            ref = _ref_name(s)
            if ref is not None:
                if ref in seen:
                    return
                seen.add(ref)
                s = self.schemas.get(ref)
            elif isinstance(s.get("items"), Mapping):
                s = s["items"]
            elif maps and isinstance(s.get("additionalProperties"), Mapping) and "properties" not in s:
                s = s["additionalProperties"]
            else:
                return

    def element(self, node: Any, *, maps: bool = False) -> Mapping[str, Any]:
        """The schema that holds a field's fields: through refs and array items (as kubectl walks)."""
        last: Mapping[str, Any] = {}
        for last in self.chain(node, maps=maps):
            pass
        return last

    def refs(self, node: Any) -> set[str]:
        """Every component a field's type goes through (to stop recursive expansion at a cycle)."""
        return {r for s in self.chain(node) if (r := _ref_name(s)) is not None}

    def explain(self, group: str, version: str, kind: str, model: str, path: tuple[str, ...],
                recursive: bool) -> Explanation:
        node: Any = {"$ref": _COMPONENT_REF + model}
        for depth, name in enumerate(path):
            props = self.element(node, maps=True).get("properties") or {}
            if name not in props:
                raise self._not_found(kind, path[:depth], name, props)
            node = props[name]
        holder = self.element(node, maps=True)
        return Explanation(
            group=group, version=version, kind=kind, path=path,
            type=self.type_name(node) if path else kind,
            description=self.description(node),
            required=tuple(holder.get("required") or ()),
            fields=self.fields(holder, recursive=recursive, visiting=self.refs(node) | {model}),
            enum=tuple(self.deref(node).get("enum") or ()), recursive=recursive,
        )

    @staticmethod
    def _not_found(kind: str, parent: tuple[str, ...], name: str, props: Mapping[str, Any]) -> Exception:
        prefix = ".".join(parent)
        wanted = f"{prefix}.{name}" if prefix else name
        close = tuple(f"{prefix}.{c}" if prefix else c for c in _suggest(name, list(props)))
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        where = f"{kind}.{prefix}" if prefix else kind
        return errors.FieldNotFound(f'field "{name}" does not exist in {where}{hint}',
                                    path=wanted, candidates=close)

    def description(self, node: Any) -> str:
        """The field's own description, then those of its type, array items or map values (as kubectl)."""
        return "\n".join(d for s in self.chain(node) if isinstance(d := s.get("description"), str) and d)

    def type_name(self, s: Any) -> str:
        """kubectl's type label: ``integer``, ``Object``, ``[]Container``, ``map[string]string``, ``IntOrString``.

        As in kubectl, a field without a type (e.g. a CRD's ``x-kubernetes-int-or-string``) shows as ``Object``.
        """
        if not isinstance(s, Mapping):
            return "Object"
        ref = _ref_name(s)
        if ref is not None:
            target_type = self.schemas.get(ref, {}).get("type")
            if isinstance(target_type, str) and target_type not in ("object", "array"):
                return target_type
            return ref.rsplit(".", 1)[-1]
        if isinstance(s.get("items"), Mapping):
            return "[]" + self.type_name(s["items"])
        if isinstance(s.get("additionalProperties"), Mapping):
            return "map[string]" + self.type_name(s["additionalProperties"])
        kind = s.get("type")
        if isinstance(kind, str) and kind != "object":
            return kind
        return "Object"

    def fields(self, holder: Mapping[str, Any], *, recursive: bool, visiting: set[str]) -> tuple[FieldInfo, ...]:
        props = holder.get("properties")
        if not isinstance(props, Mapping):
            return ()
        required = set(holder.get("required") or ())
        return tuple(self.field_info(name, props[name], name in required, recursive, visiting)
                     for name in sorted(props))

    def field_info(self, name: str, node: Any, required: bool, recursive: bool, visiting: set[str]) -> FieldInfo:
        children: tuple[FieldInfo, ...] = ()
        if recursive:
            refs = self.refs(node)
            if not refs & visiting:
                children = self.fields(self.element(node, maps=True), recursive=True, visiting=visiting | refs)
        description = node.get("description", "") if isinstance(node, Mapping) else ""
        return FieldInfo(name=name, type=self.type_name(node), description=description or "",
                         required=required, enum=tuple(self.deref(node).get("enum") or ()), fields=children)


# ---- text rendering (the layout of kubectl explain's plaintext template) ---------------------------------

_WRAP = 76
_ENUM_SHOWN = 4  # kubectl lists this many enum values in FIELDS, then ", ...."


def _render(e: Explanation) -> str:
    lines = [f"GROUP:      {e.group}"] if e.group else []
    lines += [f"KIND:       {e.kind}", f"VERSION:    {e.version}", ""]
    if e.path:
        lines.append(f"FIELD: {e.name} <{e.type}>")
        lines += ["ENUM:", *(f"    {_enum_text(v)}" for v in e.enum), ""] if e.enum else ["", ""]
    lines.append("DESCRIPTION:")
    lines += ["    " + line for line in _wrap(e.description or "<empty>", _WRAP)]
    if e.description:
        lines.append("    ")  # kubectl ends each description with a newline, then indents the empty rest
    if e.fields:
        lines.append("FIELDS:")
        for info in e.fields:
            lines += _field_lines(info, 1, e.recursive)
    return "\n".join(lines) + "\n\n"


def _field_lines(info: FieldInfo, depth: int, recursive: bool) -> list[str]:
    pad = "  " * depth
    out = [f"{pad}{info.name}\t<{info.type}>" + (" -required-" if info.required else "")]
    if info.enum:
        shown = ", ".join(_enum_text(v) for v in info.enum[:_ENUM_SHOWN])
        out.append(f"{pad}enum: {shown}" + (", ...." if len(info.enum) > _ENUM_SHOWN else ""))
    if recursive:
        for child in info.fields:
            out += _field_lines(child, depth + 1, True)
        return out
    out += [f"{pad}  {line}" for line in _wrap(info.description or "<no description>", _WRAP)]
    return out + [""]


def _enum_text(value: Any) -> str:
    """An enum value as kubectl's Go template prints it: ``""`` for the empty string, numbers as float64 ``%v``."""
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    return json.dumps(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (kubectl decodes JSON numbers to float64): ``1``, ``0.5``, ``1e+06``, ``1.5e-05``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    import decimal

    number = decimal.Decimal(repr(value)).normalize()  # the shortest digits that round-trip, as Go's
    _sign, digits, exponent = number.as_tuple()
    exp = len(digits) + int(exponent) - 1
    if -4 <= exp < 6:  # shortest %g: exponent form when exp < -4 or exp >= 6
        return format(number, "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if value < 0 else ''}{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap that keeps runs of spaces and line breaks, like kubectl (go-wordwrap)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out += _wrap_line(paragraph, width)
    return out


def _wrap_line(line: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    spaces = ""
    for word in re.findall(r"\s+|\S+", line):
        if word.isspace():
            spaces += word
            continue
        if current and len(current) + len(spaces) + len(word) > width:
            lines.append(current)
            current, spaces = "", ""
        current += spaces + word
        spaces = ""
    lines.append(current + spaces if not current else current)
    return lines


# ---- CRDs: the model the server publishes for a CustomResourceDefinition --------------------------------------

_API_VERSION_DESCRIPTION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources")
_KIND_DESCRIPTION = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def crd_documents(crd: Mapping[str, Any], *, base_document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """OpenAPI v3 documents, keyed by group-version path, for each served version of a CRD manifest.

    Shaped as the server publishes them: model ``<reversed group>.<version>.<Kind>`` with
    ``apiVersion``/``kind``, ``metadata`` as a reference to ObjectMeta (copied, with what it uses, from
    ``base_document``, e.g. the ``api/v1`` document) and ``x-kubernetes-group-version-kind``. Lets a
    custom resource be validated or explained offline, before its CRD is installed.
    """
    spec = crd.get("spec") if isinstance(crd, Mapping) else None
    if not isinstance(spec, Mapping) or not isinstance(spec.get("names"), Mapping):
        raise errors.InvalidInput("not a CustomResourceDefinition: spec.group/spec.names are missing")
    group, kind = str(spec.get("group", "")), str(spec["names"].get("kind", ""))
    meta = _components_closure(_schemas_of(base_document), _OBJECT_META)
    docs: dict[str, dict[str, Any]] = {}
    for version in spec.get("versions") or ():
        if not isinstance(version, Mapping) or not version.get("served", True):
            continue
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")
                  or (spec.get("validation") or {}).get("openAPIV3Schema") or {"type": "object"})
        name = ".".join(reversed(group.split("."))) + f".{version['name']}.{kind}"
        schemas = dict(meta)
        schemas[name] = _crd_model(schema, group, str(version["name"]), kind)
        docs[gv_path(group, str(version["name"]))] = {
            "openapi": "3.0.0", "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
            "paths": {}, "components": {"schemas": schemas}}
    return docs


def _crd_model(schema: Mapping[str, Any], group: str, version: str, kind: str) -> dict[str, Any]:
    model = copy.deepcopy(dict(schema))
    props = model.setdefault("properties", {})
    props["apiVersion"] = {"description": _API_VERSION_DESCRIPTION, "type": "string"}
    props["kind"] = {"description": _KIND_DESCRIPTION, "type": "string"}
    props["metadata"] = {"allOf": [{"$ref": _COMPONENT_REF + _OBJECT_META}], "description": _METADATA_DESCRIPTION}
    model.setdefault("type", "object")
    model["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": version}]
    return model


def _components_closure(schemas: Mapping[str, Any], root: str) -> dict[str, Any]:
    """``root`` and every component it references, transitively."""
    found: dict[str, Any] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in found or name not in schemas:
            continue
        found[name] = schemas[name]
        pending += _refs_in(schemas[name])
    return found


def _refs_in(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        own = [value["$ref"][len(_COMPONENT_REF):]] if str(value.get("$ref", "")).startswith(_COMPONENT_REF) else []
        return own + [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []


# ---- the store ----------------------------------------------------------------------------------------------------

def openapi_disk_cache(server: str, root: Path | None = None) -> DiskCache:
    """The disk cache for one server's OpenAPI documents: ``<root>/openapi/<host>/`` (no TTL: keyed by hash)."""
    root = root or default_cache_root()
    return DiskCache(root / "openapi" / server_dir_name(server), None, root=root, decode=jsondecode.loads)


class _Entry(NamedTuple):
    """One group-version of the index: its server-relative URL and the document hash in it."""

    url: str
    hash: str


class _State:
    """What a store has learned; guarded by the store's lock."""

    def __init__(self) -> None:
        self.index: dict[str, _Entry] | None = None
        self.fetched_at = 0.0
        self.documents: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=_DOCUMENTS_IN_MEMORY)  # by document id ("<gv>@<hash>")
        self.models: dict[str, dict[tuple[str, str, str], str]] = {}  # by document id
        self.compiled: dict[tuple[str, str], _CompiledSchema] = {}  # by (document id, kind)


class SchemaStore:
    """OpenAPI v3 documents of one server, fetched lazily, with validation and explain on top.

    ``SchemaStore(transport, disk_cache=openapi_disk_cache(server))`` reads from a server;
    ``SchemaStore.from_documents({...})`` works on documents already in hand (no I/O at all).
    Thread-safe. Methods that may fetch are ``document``, ``validate``, ``validate_object``, ``explain``,
    ``json_schema`` and ``group_versions``.
    """

    def __init__(self, transport: Transport | None, *, disk_cache: DiskCache | None = None) -> None:
        self._transport = transport
        self._disk = disk_cache
        self._lock = threading.RLock()
        self._state = _State()
        self._local: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> SchemaStore:
        """A store over documents keyed ``"api/v1"``, ``"apis/apps/v1"``; it never fetches anything."""
        store = cls(None)
        for key, doc in documents.items():
            if not _is_document(doc):
                raise errors.InvalidInput(f"document {key!r} has no components.schemas")
            store._local[key.strip("/")] = dict(doc)
        return store

    def invalidate(self) -> None:
        """Forget the index (so a new CRD's group-version is seen); documents stay cached by hash."""
        with self._lock:
            self._state.index = None
            self._state.fetched_at = 0.0

    def group_versions(self) -> list[str]:
        """Every group-version path the server publishes a document for (fetches the index once)."""
        if self._transport is None:
            return sorted(self._local)
        with self._lock:
            return sorted(k for k in self._index() if k.startswith(("api/", "apis/")))

    def document(self, group: str, version: str) -> dict[str, Any]:
        """The OpenAPI v3 document of a group-version; SchemaUnavailable if the server has none."""
        key = gv_path(group, version)
        with self._lock:
            return self._document(key)[1]

    def json_schema(self, group: str, version: str, kind: str) -> dict[str, Any]:
        """The self-contained JSON Schema used to validate a kind (see ``to_json_schema``)."""
        return self._compiled(group, version, kind).schema

    def validate(self, obj: Mapping[str, Any], group: str, version: str, kind: str, *,
                 strict: bool = False) -> list[ValidationIssue]:
        """Problems in ``obj`` against the kind's schema; ``[]`` when it is valid.

        Unknown fields are errors only with ``strict=True`` (as ``fieldValidation=Strict``); otherwise they
        are logged as warnings, since the server drops them. See docs/schema.md for what is not checked.
        When there are problems, the schema is checked for a newer version first (at most one index request
        a second), so a CRD changed since the schema was fetched is not held against the object.
        """
        if not isinstance(obj, Mapping):
            raise errors.InvalidInput(f"cannot validate a {type(obj).__name__}; expected a mapping")
        issues = self._compiled(group, version, kind).issues(obj, strict=strict)
        if issues and self._republished(gv_path(group, version)):
            issues = self._compiled(group, version, kind).issues(obj, strict=strict)
        return issues

    def validate_object(self, obj: Mapping[str, Any], *, strict: bool = False) -> list[ValidationIssue]:
        """``validate`` with the group, version and kind read from the object's ``apiVersion``/``kind``."""
        if not isinstance(obj, Mapping):
            raise errors.InvalidInput(f"cannot validate a {type(obj).__name__}; expected a mapping")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            raise errors.InvalidInput("the object needs apiVersion and kind to be validated")
        group, version = _split_api_version(api_version)
        return self.validate(obj, group, version, kind, strict=strict)

    def explain(self, group: str, version: str, kind: str, field_path: Sequence[str] | str = (), *,
                recursive: bool = False) -> Explanation:
        """Describe a kind or a field path below it (``["spec", "replicas"]`` or ``"spec.replicas"``).

        Unknown fields raise ``FieldNotFound`` with close matches (after checking for a newer schema).
        """
        parts = _path_parts(field_path)
        try:
            return self._explain(group, version, kind, parts, recursive)
        except errors.FieldNotFound:
            if not self._republished(gv_path(group, version)):
                raise
        return self._explain(group, version, kind, parts, recursive)

    # -- internals --

    def _explain(self, group: str, version: str, kind: str, parts: tuple[str, ...], recursive: bool) -> Explanation:
        with self._lock:
            _doc_id, doc, model = self._locate(group, version, kind)
        return _Explainer(_schemas_of(doc)).explain(group, version, kind, model, parts, recursive)

    def _compiled(self, group: str, version: str, kind: str) -> _CompiledSchema:
        with self._lock:
            doc_id, doc, model = self._locate(group, version, kind)
            compiled = self._state.compiled.get((doc_id, kind))
            if compiled is None:
                compiled = _CompiledSchema(to_json_schema(doc, model))
                self._state.compiled[(doc_id, kind)] = compiled
            return compiled

    def _locate(self, group: str, version: str, kind: str) -> tuple[str, dict[str, Any], str]:
        """(document id, document, model name) of a kind. A kind missing from a cached document refetches the
        index (at most once a second): a CRD added to a group-version changes that group-version's hash."""
        key = gv_path(group, version)
        doc_id, doc = self._document(key)
        models = self._models(doc_id, doc)
        if (group, version, kind) not in models and self._republished(key):
            doc_id, doc = self._document(key)
            models = self._models(doc_id, doc)
        return doc_id, doc, _model_in(models, group, version, kind)

    def _republished(self, key: str) -> bool:
        """Refetch the index (unless fetched less than a second ago); True if ``key`` now has a new hash."""
        if self._transport is None:
            return False
        with self._lock:
            if self._state.index is None or time.monotonic() - self._state.fetched_at < _INDEX_REFRESH_SECONDS:
                return False
            before = self._state.index.get(key)
            after = self._index(refresh=True).get(key)
            return after is not None and after != before

    def _models(self, doc_id: str, doc: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
        models = self._state.models.get(doc_id)
        if models is None:
            models = self._state.models[doc_id] = _kind_models(_schemas_of(doc))
        return models

    def _forget_older(self, key: str, doc_id: str) -> None:
        """Drop what was built from an earlier document of the same group-version."""
        stale = key + "@"
        for old in [k for k in self._state.documents if k.startswith(stale) and k != doc_id]:
            del self._state.documents[old]
        self._state.models = {k: v for k, v in self._state.models.items() if not k.startswith(stale) or k == doc_id}
        self._state.compiled = {k: v for k, v in self._state.compiled.items()
                                if not k[0].startswith(stale) or k[0] == doc_id}

    def _document(self, key: str) -> tuple[str, dict[str, Any]]:
        """(identity, document) for a group-version path; identity changes when the document does."""
        if self._transport is None:
            if key not in self._local:
                raise self._unavailable(key, list(self._local))
            return f"local:{key}", self._local[key]
        entry = self._entry(key)
        doc_id = f"{key}@{entry.hash}"
        doc = self._state.documents.get(doc_id)
        if doc is None:
            doc = self._load(key, entry)
            self._state.documents[doc_id] = doc
            self._forget_older(key, doc_id)
        return doc_id, doc

    def _entry(self, key: str) -> _Entry:
        index = self._index()
        if key not in index and time.monotonic() - self._state.fetched_at >= _INDEX_REFRESH_SECONDS:
            index = self._index(refresh=True)
        if key not in index:
            raise self._unavailable(key, list(index))
        return index[key]

    @staticmethod
    def _unavailable(key: str, known: list[str]) -> errors.SchemaUnavailable:
        close = _suggest(key, known)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return errors.SchemaUnavailable(f"the server publishes no OpenAPI v3 document for {key}{hint}")

    def _index(self, *, refresh: bool = False) -> dict[str, _Entry]:
        if self._state.index is not None and not refresh:
            return self._state.index
        try:
            response = self._get(INDEX_PATH)
        except errors.NotFound:
            raise errors.SchemaUnavailable(
                f"the server does not publish OpenAPI v3 (GET {INDEX_PATH} returned 404); it needs "
                "Kubernetes 1.24+ with the OpenAPIV3 feature on (GA and always on since 1.27)") from None
        self._state.index = parse_index(response.content)
        self._state.fetched_at = time.monotonic()
        return self._state.index

    def _get(self, path: str, params: dict[str, str] | None = None) -> Response:
        if self._transport is None:
            raise errors.SchemaUnavailable(f"this store holds given documents only; it cannot fetch {path}")
        return self._transport.send(Request("GET", path, params or {}, {"Accept": "application/json"}))

    def _load(self, key: str, entry: _Entry) -> dict[str, Any]:
        disk_key = _disk_key(key, entry.hash)
        if self._disk is not None and disk_key:
            cached = self._disk.read(disk_key)
            if _is_document(cached):
                log.debug("OpenAPI v3 %s from the disk cache", key)
                return cached
            if cached is not None:
                log.warning("ignoring malformed cached OpenAPI document %s", disk_key)
        doc, redirected = self._fetch(key, entry)
        if self._disk is not None and disk_key and not redirected:
            self._disk.write(disk_key, doc)
            self._disk.prune(disk_key)  # documents of this group-version for older hashes
        return doc

    def _fetch(self, key: str, entry: _Entry) -> tuple[dict[str, Any], bool]:
        parts = urlsplit(entry.url)
        try:
            response = self._get(parts.path, dict(parse_qsl(parts.query)) or None)
        except errors.NotFound:
            raise errors.SchemaUnavailable(
                f"the OpenAPI v3 document for {key} is gone ({entry.url} returned 404); "
                "its group-version may have just been removed") from None
        doc = parse_document(response.content, entry.url)
        return doc, bool(response.history)


def parse_index(body: bytes) -> dict[str, _Entry]:
    """The ``/openapi/v3`` index as {group-version path: entry}; keys have no leading slash."""
    try:
        data = jsondecode.loads(body)
    except ValueError as exc:
        raise errors.SchemaUnavailable(f"the OpenAPI v3 index at {INDEX_PATH} is not JSON: {exc}") from None
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, dict):
        raise errors.SchemaUnavailable(f"the OpenAPI v3 index at {INDEX_PATH} has no 'paths' object")
    index: dict[str, _Entry] = {}
    for key, value in paths.items():
        url = value.get("serverRelativeURL") if isinstance(value, dict) else None
        if isinstance(url, str):
            index[key.strip("/")] = _Entry(url=url, hash=dict(parse_qsl(urlsplit(url).query)).get("hash", ""))
    return index


def parse_document(body: bytes, url: str) -> dict[str, Any]:
    """A group-version document from response bytes; SchemaUnavailable naming ``url`` if unusable."""
    try:
        doc = jsondecode.loads(body)
    except ValueError as exc:
        raise errors.SchemaUnavailable(f"the OpenAPI v3 document at {url} is not valid JSON: {exc}") from None
    if not _is_document(doc):
        raise errors.SchemaUnavailable(f"the OpenAPI v3 document at {url} has no components.schemas")
    return doc


def _disk_key(key: str, hash_: str) -> str | None:
    """``apis/apps/v1/<HASH>.json``, or None when the path or hash is not safe as a file name."""
    segments = key.split("/")
    if not _HEX.match(hash_) or not all(_KEY_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        return None
    return f"{key}/{hash_}.json"
