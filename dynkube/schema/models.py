"""Group-versions, OpenAPI documents and the models in them: finding a kind's model by
``x-kubernetes-group-version-kind``, ``$ref`` names, close-match suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from .. import errors

COMPONENT_REF = "#/components/schemas/"
DEFS_REF = "#/$defs/"


def gv_path(group: str, version: str) -> str:
    """The OpenAPI v3 index key of a group-version: ``api/v1``, ``apis/apps/v1``."""
    if not version:
        raise errors.InvalidInput("a version is required (e.g. 'v1')")
    return f"apis/{group}/{version}" if group else f"api/{version}"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def schemas_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    components = document.get("components") if isinstance(document, Mapping) else None
    schemas = components.get("schemas") if isinstance(components, Mapping) else None
    if not isinstance(schemas, Mapping):
        raise errors.SchemaUnavailable("the OpenAPI document has no components.schemas")
    return schemas


def is_document(value: Any) -> TypeGuard[dict[str, Any]]:
    try:
        schemas_of(value)
    except errors.SchemaUnavailable:
        return False
    return True


def kind_models(schemas: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
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
    models = kind_models(schemas_of(document))
    return model_in(models, group, version, kind)


def model_in(models: Mapping[tuple[str, str, str], str], group: str, version: str, kind: str) -> str:
    name = models.get((group, version, kind))
    if name:
        return name
    kinds = sorted({k for g, v, k in models if (g, v) == (group, version)})
    close = [k for k in kinds if k.lower() == kind.lower()] or suggest(kind, kinds)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise errors.SchemaUnavailable(
        f"the OpenAPI v3 document for {gv_path(group, version)} has no schema for kind {kind!r}{hint}")


def suggest(word: str, candidates: Sequence[str]) -> list[str]:
    """Close matches for a misspelt name: the best one and any nearly as close (at most three)."""
    scored = sorted(((difflib.SequenceMatcher(None, word, c).ratio(), c) for c in candidates), reverse=True)
    scored = [(r, c) for r, c in scored if r >= 0.6]
    return [c for r, c in scored[:3] if r >= scored[0][0] - 0.05] if scored else []


def ref_name(schema: Any) -> str | None:
    """The component a schema points to: ``$ref`` itself, or the ``allOf: [{$ref}]`` wrapper the server writes."""
    if not isinstance(schema, Mapping):
        return None
    ref = schema.get("$ref")
    if ref is None:
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            ref = all_of[0].get("$ref")
    if isinstance(ref, str) and ref.startswith(COMPONENT_REF):
        return ref[len(COMPONENT_REF):]
    return None
