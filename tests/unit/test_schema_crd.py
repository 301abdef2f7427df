"""Validation of custom resources: real CRDs (cert-manager, Prometheus operator) and the Kubernetes extensions
(int-or-string, preserve-unknown-fields, embedded resources, nullable) in a small hand-written schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dynkube import errors
from dynkube.schema import crd_documents

from .test_schema_support import builtin_store, crd_manifest, crd_manifest_for, crd_store, document


@pytest.fixture(scope="module")
def store():
    return crd_store(crd_manifest("cert-manager.io_certificates.yaml"),
                     crd_manifest("monitoring.coreos.com_servicemonitors.yaml"))


def certificate(**spec: Any) -> dict[str, Any]:
    obj = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
           "metadata": {"name": "web", "namespace": "default"},
           "spec": {"secretName": "web-tls", "dnsNames": ["example.com"], "duration": "2160h",
                    "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}}}
    obj["spec"].update(spec)
    return obj


def service_monitor(**endpoint: Any) -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "endpoints": [{"port": "metrics", "interval": "30s", **endpoint}]}}


def issues(store, obj, *, strict=False) -> list[str]:
    return [str(i) for i in store.validate_object(obj, strict=strict)]


def test_crd_document_names_the_model_as_the_server_does():
    docs = crd_documents(crd_manifest("cert-manager.io_certificates.yaml"), base_document=document("api/v1"))
    schemas = docs["apis/cert-manager.io/v1"]["components"]["schemas"]
    model = schemas["io.cert-manager.v1.Certificate"]
    assert model["x-kubernetes-group-version-kind"] == [{"group": "cert-manager.io", "kind": "Certificate",
                                                        "version": "v1"}]
    assert model["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry" in schemas  # ObjectMeta's dependencies


def test_valid_certificate(store):
    assert issues(store, certificate(), strict=True) == []


def test_certificate_enum_required_and_type_errors(store):
    obj = certificate(duration=90)
    obj["spec"]["privateKey"]["algorithm"] = "DSA"
    del obj["spec"]["issuerRef"]
    assert issues(store, obj) == [
        "spec.duration: 90 is not of type 'string'",
        "spec.issuerRef: Required value",
        "spec.privateKey.algorithm: 'DSA' is not one of ['RSA', 'ECDSA', 'Ed25519']",
    ]


def test_certificate_metadata_is_checked_as_object_meta(store):
    obj = certificate()
    obj["metadata"]["labels"] = {"a": 1}
    obj["metadata"]["nmae"] = "typo"
    assert issues(store, obj, strict=True) == [
        "metadata.labels[a]: 1 is not of type 'string'",
        'metadata.nmae: unknown field "nmae"; did you mean "name"?',
    ]


def test_strict_mode_flags_unknown_crd_fields_with_suggestion(store):
    obj = certificate(dnsName=["x"])
    assert issues(store, obj) == []
    assert issues(store, obj, strict=True) == ['spec.dnsName: unknown field "dnsName"; did you mean "dnsNames"?']


@pytest.mark.parametrize("port", [8080, "metrics"])
def test_crd_int_or_string_accepts_both(store, port):
    assert issues(store, service_monitor(targetPort=port), strict=True) == []


def test_crd_int_or_string_rejects_a_float(store):
    assert issues(store, service_monitor(targetPort=80.5)) == [
        "spec.endpoints[0].targetPort: 80.5 is not of type 'integer', 'string'"]


def test_crd_enum_in_array_items(store):
    assert issues(store, service_monitor(scheme="ftp")) == [
        "spec.endpoints[0].scheme: 'ftp' is not one of ['http', 'https', 'HTTP', 'HTTPS']"]


def test_crd_pattern(store):
    assert issues(store, service_monitor(interval="30 seconds")) == [
        "spec.endpoints[0].interval: '30 seconds' does not match "
        "'^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$'"]


# ---- the extensions, in a schema written for them ----------------------------------------------------

WIDGET_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}],
                         "pattern": "^[0-9]+(Mi|Gi)$"},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "anything": {"x-kubernetes-preserve-unknown-fields": True},
                "partial": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                            "properties": {"count": {"type": "integer"},
                                           "nested": {"type": "object", "properties": {"a": {"type": "string"}}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "pod": {"type": "object", "x-kubernetes-embedded-resource": True,
                        "properties": {"spec": {"type": "object", "properties": {"image": {"type": "string"}}}}},
                "note": {"type": "string", "nullable": True},
                "tags": {"type": "array", "items": {"type": "string", "nullable": True}},
                "ports": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
                "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "mode": {"type": "string", "enum": ["a", "b"], "nullable": True},
                "source": {"type": "object",
                           "properties": {"url": {"type": "string"}, "path": {"type": "string"}},
                           "oneOf": [{"required": ["url"]}, {"required": ["path"]}]},
                "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                "name": {"type": "string", "pattern": "^\\p{L}+$"},  # RE2 only: not checked, never a crash
                "email": {"type": "string", "format": "email"},  # format the server does not assert
                "id": {"type": "string", "format": "uuid"},
            },
        },
    },
}


@pytest.fixture(scope="module")
def widgets():
    return crd_store(crd_manifest_for(WIDGET_SCHEMA))


def widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": "10Gi", **spec}}


def test_widget_minimal_is_valid(widgets):
    assert issues(widgets, widget(), strict=True) == []


def test_int_or_string_with_pattern_applies_the_pattern_to_strings_only(widgets):
    assert issues(widgets, widget(size=10)) == []
    assert issues(widgets, widget(size="10GB")) == ["spec.size: '10GB' does not match '^[0-9]+(Mi|Gi)$'"]


def test_preserve_unknown_fields_accepts_anything_below(widgets):
    obj = widget(config={"any": {"deep": [1, {"x": None}]}}, anything=[1, "two"])
    assert issues(widgets, obj, strict=True) == []


def test_preserve_unknown_fields_still_checks_declared_properties(widgets):
    obj = widget(partial={"extra": 1, "count": "many", "nested": {"a": "x", "b": 2}})
    assert issues(widgets, obj, strict=True) == [
        "spec.partial.count: 'many' is not of type 'integer'",
        'spec.partial.nested.b: unknown field "b"',  # nested has no preserve-unknown-fields of its own
    ]


def test_embedded_resource_requires_apiversion_and_kind(widgets):
    assert issues(widgets, widget(template={"metadata": {"name": "x"}, "spec": {}})) == [
        "spec.template.apiVersion: Required value",
        "spec.template.kind: Required value",
    ]


def test_embedded_resource_with_apiversion_and_kind_is_valid(widgets):
    obj = widget(template={"apiVersion": "v1", "kind": "Pod", "spec": {"containers": []}})
    assert issues(widgets, obj, strict=True) == []


def test_embedded_resource_without_preserve_is_closed_in_strict_mode(widgets):
    obj = widget(pod={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"image": "x"},
                      "status": {}})
    assert issues(widgets, obj) == []
    assert issues(widgets, obj, strict=True) == ['spec.pod.status: unknown field "status"']


def test_nullable_allows_null(widgets):
    assert issues(widgets, widget(note=None, tags=["a", None], mode=None)) == []


def test_null_array_item_is_rejected_unless_nullable(widgets):
    assert issues(widgets, widget(ports=[80, None])) == ["spec.ports[1]: None is not of type 'integer'"]


def test_bounds_and_nested_arrays(widgets):
    assert issues(widgets, widget(ports=[0, 70000], matrix=[[1], [2, "3"]])) == [
        "spec.matrix[1][1]: '3' is not of type 'integer'",
        "spec.ports[0]: 0 is less than the minimum of 1",
        "spec.ports[1]: 70000 is greater than the maximum of 65535",
    ]


def test_openapi_boolean_exclusive_minimum_is_translated(widgets):
    assert issues(widgets, widget(ratio=0)) == ["spec.ratio: 0 is less than or equal to the minimum of 0"]
    assert issues(widgets, widget(ratio=0.1)) == []


def test_one_of_branches_are_not_closed(widgets):
    assert issues(widgets, widget(source={"url": "https://x"}), strict=True) == []
    assert len(issues(widgets, widget(source={"url": "https://x", "path": "/y"}))) == 1


def test_map_values_are_typed(widgets):
    assert issues(widgets, widget(labels={"a": "b", "c": 1})) == ["spec.labels[c]: 1 is not of type 'string'"]


def test_go_only_regex_is_skipped_and_unasserted_format_is_ignored(widgets):
    assert issues(widgets, widget(name="名前", email="not an email")) == []


def test_uuid_format_is_asserted_as_the_server_does(widgets):
    assert issues(widgets, widget(id="123e4567-e89b-12d3-a456-426614174000")) == []
    assert issues(widgets, widget(id="nope")) == ["spec.id: 'nope' is not a 'uuid'"]


def test_the_real_crd_manifests_are_valid_customresourcedefinitions():
    for name in ("cert-manager.io_certificates.yaml", "monitoring.coreos.com_servicemonitors.yaml"):
        assert builtin_store().validate_object(crd_manifest(name), strict=True) == []


def test_a_typo_inside_a_crd_schema_is_found_through_the_recursive_model():
    crd = copy.deepcopy(crd_manifest_for(WIDGET_SCHEMA))
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["size"]["x-kubernetes-int-or-strin"] = True
    assert [str(i) for i in builtin_store().validate_object(crd, strict=True)] == [
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].x-kubernetes-int-or-strin: "
        'unknown field "x-kubernetes-int-or-strin"; did you mean "x-kubernetes-int-or-string"?']


def test_not_a_crd_is_invalid_input():
    with pytest.raises(errors.InvalidInput):
        crd_documents({"kind": "ConfigMap"}, base_document=document("api/v1"))
