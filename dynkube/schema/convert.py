"""OpenAPI v3 -> JSON Schema (Draft 2020-12): a kind's model made self-contained, with the Kubernetes
extensions (int-or-string, preserve-unknown-fields, list types, embedded resources, nullable) translated
into keywords the validator knows, and secret-holding fields marked."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .. import errors
from .formats import format_for
from .models import DEFS_REF, ref_name, schemas_of

log = logging.getLogger(__name__)

CLOSED = "x-dynkube-closed"  # dynkube's own keyword: report properties the schema does not declare
GO_INTEGER = "x-dynkube-go-integer"  # dynkube's own keyword: a float such as 3.0 is not an integer (Go decoding)
UNIQUE = "x-dynkube-unique"  # dynkube's own keyword: list-type set (true) or map (its keys) in a CRD's schema
SECRET = "x-dynkube-secret"  # dynkube's own mark: values here are never quoted in messages (a Secret, a password)
_SECRET_MODELS = frozenset({"io.k8s.api.core.v1.Secret"})
_SECRET_FORMATS = frozenset({"password", "creditcard", "ssn"})  # OpenAPI's and strfmt's secret-like formats
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def to_json_schema(document: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A self-contained Draft 2020-12 schema for one model of an OpenAPI v3 document.

    Components become ``$defs`` (so recursive models such as JSONSchemaProps stay finite), Kubernetes
    extensions are translated, and objects that declare their properties carry the private keyword
    ``x-dynkube-closed`` that the validator uses to report unknown fields. In a CRD's document the kind's own
    schema follows the CRD rules (strfmt formats, list-type uniqueness); the components it refers to
    (ObjectMeta, Time) and every built-in model follow Go decoding (see ``dynkube.schema.formats``).
    """
    return _Converter(schemas_of(document), model if _is_crd_document(document) else None).root(model)


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
        inline = {DEFS_REF + _escape_pointer(k): v for k, v in self.defs.items() if k not in recursive}
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
        return {"$ref": DEFS_REF + _escape_pointer(name)}

    def node(self, s: Any, *, branch: bool = False, model: str = "") -> Any:
        """Convert one schema object; ``branch`` is true inside allOf/anyOf/oneOf/not (never closed)."""
        if not isinstance(s, Mapping):
            return bool(s) if isinstance(s, bool) else True
        out: dict[str, Any] = {}
        ref = ref_name(s)
        if ref is not None:
            out.update(self.ref(ref))
        elif "$ref" in s:
            log.debug("ignoring unsupported $ref %r", s["$ref"])
        self._types(s, out, model)
        if model in _SECRET_MODELS or s.get("format") in _SECRET_FORMATS:
            out[SECRET] = True
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
                out[GO_INTEGER] = True  # Go decoding rejects 3.0 for an integer field; CRD validation takes it
            if fmt in _INT_RANGES and "integer" in types:
                low, high = _INT_RANGES[fmt]
                out.setdefault("minimum", low)
                out.setdefault("maximum", high)
                return
        if types is None or "string" in types:
            private = format_for(fmt, model, self.crd)
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
            out[UNIQUE] = True
        elif self.crd and list_type == "map" and isinstance(s.get("x-kubernetes-list-map-keys"), list):
            out[UNIQUE] = [k for k in s["x-kubernetes-list-map-keys"] if isinstance(k, str)]
        if s.get("x-kubernetes-embedded-resource") is True:
            self._embedded(out, required)
        if required:
            out["required"] = required
        preserve = s.get("x-kubernetes-preserve-unknown-fields") is True
        if "properties" in out and additional is None and not preserve and not branch:
            out[CLOSED] = True

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
        if isinstance(ref, str) and ref.startswith(DEFS_REF):
            yield ref[len(DEFS_REF):].replace("~1", "/").replace("~0", "~")
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
