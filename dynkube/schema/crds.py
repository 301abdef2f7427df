"""CRDs: the OpenAPI v3 documents the apiextensions server publishes for a CustomResourceDefinition,
built from the CRD itself (to validate and explain its kinds before the server publishes them)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .. import errors
from .models import COMPONENT_REF, gv_path, schemas_of

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
    meta = _components_closure(schemas_of(base_document), _OBJECT_META)
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
    props["metadata"] = {"allOf": [{"$ref": COMPONENT_REF + _OBJECT_META}], "description": _METADATA_DESCRIPTION}
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
        own = [value["$ref"][len(COMPONENT_REF):]] if str(value.get("$ref", "")).startswith(COMPONENT_REF) else []
        return own + [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []
