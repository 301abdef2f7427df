"""OpenAPI v3 → JSON Schema (Draft 2020-12): references, recursion and the Kubernetes extensions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynkube import errors
from dynkube.schema import find_model, gv_path, to_json_schema

from .test_schema_support import builtin_store, document

GO_INTEGER = "x-dynkube-go-integer"
JSP = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"


def convert(schemas: dict[str, Any], model: str = "M") -> dict[str, Any]:
    return to_json_schema({"components": {"schemas": schemas}}, model)


def test_gv_path():
    assert gv_path("", "v1") == "api/v1"
    assert gv_path("apps", "v1") == "apis/apps/v1"


def test_find_model_by_group_version_kind():
    assert find_model(document("apis/apps/v1"), "apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert find_model(document("api/v1"), "", "v1", "ConfigMap") == "io.k8s.api.core.v1.ConfigMap"


def test_find_model_of_a_missing_kind():
    with pytest.raises(errors.SchemaUnavailable, match="no schema for kind 'Pod'"):
        find_model(document("apis/apps/v1"), "apps", "v1", "Pod")


def test_recursive_model_stays_finite_with_one_definition():
    result = to_json_schema(document("apis/apiextensions.k8s.io/v1"),
                            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition")
    assert list(result["$defs"]) == [JSP]
    assert len(json.dumps(result)) < 50_000


def test_deeply_nested_crd_schema_validates_through_the_recursive_definition():
    leaf: dict[str, Any] = {"type": "string"}
    for i in range(40):
        leaf = {"type": "object", "properties": {f"p{i}": leaf}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "as.b.c"},
           "spec": {"group": "b.c", "scope": "Namespaced", "names": {"kind": "A", "plural": "as"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": leaf}}]}}
    assert builtin_store().validate_object(crd, strict=True) == []


def test_non_recursive_references_are_inlined():
    result = to_json_schema(document("apis/apps/v1"), "io.k8s.api.apps.v1.Deployment")
    assert result["$defs"] == {}
    assert "$ref" not in json.dumps(result)
    assert result["properties"]["spec"]["required"] == ["selector", "template"]


def test_all_of_reference_wrapper_is_resolved():
    result = convert({"M": {"type": "object", "properties": {"x": {"allOf": [{"$ref": "#/components/schemas/N"}],
                                                                   "default": {}, "description": "d"}}},
                      "N": {"type": "integer"}})
    assert result["properties"]["x"] == {"type": "integer", GO_INTEGER: True}


def test_nullable_adds_null_to_the_type_and_enum():
    result = convert({"M": {"type": "string", "nullable": True, "enum": ["a"]}})
    assert result["type"] == ["string", "null"]
    assert result["enum"] == ["a", None]


def test_int_or_string_forms_become_a_type_list():
    result = convert({"M": {"type": "object", "properties": {
        "a": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "b": {"allOf": [{"$ref": "#/components/schemas/IntOrString"}]}}},
        "IntOrString": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}})
    assert result["properties"]["a"] == {"type": ["integer", "string"], GO_INTEGER: True}
    assert result["properties"]["b"] == {"type": ["integer", "string"], GO_INTEGER: True}


def test_integer_formats_become_bounds_and_unknown_formats_are_dropped():
    result = convert({"M": {"type": "object", "properties": {
        "i": {"type": "integer", "format": "int32"}, "e": {"type": "string", "format": "email"},
        "t": {"type": "string", "format": "date-time"}}}})
    assert result["properties"]["i"] == {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1,
                                         GO_INTEGER: True}
    assert result["properties"]["e"] == {"type": "string"}
    assert result["properties"]["t"] == {"type": "string", "format": "go:date-time"}  # Go's time.Parse rules


def test_a_crd_documents_own_schema_gets_the_crd_rules():
    doc = {"info": {"title": "Kubernetes CRD Swagger"}, "components": {"schemas": {"M": {
        "type": "object", "properties": {
            "i": {"type": "integer"}, "e": {"type": "string", "format": "email"},
            "t": {"type": "string", "format": "date-time"}, "q": {"type": "string", "format": "quantity"},
            "s": {"type": "string", "format": "int-or-string"},
            "set": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "map": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"]}}}}}}
    props = to_json_schema(doc, "M")["properties"]
    assert props["i"] == {"type": "integer"}  # 2.0 is an integer to CRD validation
    assert props["e"] == {"type": "string"}  # strfmt's email is not reproduced
    assert props["t"] == {"type": "string", "format": "crd:datetime"}
    assert props["q"] == {"type": "string"}  # the server does not recognise "quantity" on a CRD
    assert props["s"] == {"type": "string"}  # nor "int-or-string"
    assert props["set"]["x-dynkube-unique"] is True
    assert props["map"]["x-dynkube-unique"] == ["name"]


def test_openapi_exclusive_bounds_become_numeric():
    result = convert({"M": {"type": "number", "minimum": 1, "exclusiveMinimum": True, "maximum": 5}})
    assert result["exclusiveMinimum"] == 1 and "minimum" not in result and result["maximum"] == 5


def test_objects_with_properties_are_marked_closed_unless_open_by_declaration():
    result = convert({"M": {"type": "object", "properties": {
        "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
        "preserved": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                      "properties": {"a": {"type": "string"}}},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object"}}}})
    props = result["properties"]
    assert props["closed"].get("x-dynkube-closed") is True
    assert "x-dynkube-closed" not in props["preserved"]
    assert "x-dynkube-closed" not in props["map"]
    assert "x-dynkube-closed" not in props["free"]


def test_embedded_resource_declares_and_requires_type_meta():
    result = convert({"M": {"type": "object", "x-kubernetes-embedded-resource": True,
                            "x-kubernetes-preserve-unknown-fields": True}})
    assert set(result["properties"]) == {"apiVersion", "kind", "metadata"}
    assert result["required"] == ["apiVersion", "kind"]


def test_cel_rules_and_annotations_are_not_carried_over():
    result = convert({"M": {"type": "string", "description": "d", "default": "x", "example": "y",
                            "x-kubernetes-validations": [{"rule": "self.size() > 1"}]}})
    assert result == {"type": "string", "$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {}}


def test_reference_to_a_missing_model_is_schema_unavailable():
    with pytest.raises(errors.SchemaUnavailable, match="no component 'Nope'"):
        convert({"M": {}}, "Nope")


def test_converted_schema_is_plain_json():
    result = to_json_schema(document("api/v1"), "io.k8s.api.core.v1.Pod")
    assert json.loads(json.dumps(result)) == result
