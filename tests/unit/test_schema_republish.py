"""A long-lived store and a server whose schemas change: a CRD added to a group-version already fetched, a CRD
whose schema gained a field. The index is refetched only when something is missing or invalid, at most once a
second (see test_schema_store for the transport stand-in)."""

from __future__ import annotations

import json

import pytest

from dynkube import errors, schema
from dynkube.schema import SchemaStore

from .test_schema_support import RecordedTransport, crd_manifest_for, document

GV = "apis/example.com/v1"


def crd_document(**kinds: dict) -> bytes:
    """The example.com/v1 document the server would publish for these kinds (name -> openAPIV3Schema)."""
    schemas: dict = {}
    for kind, body in kinds.items():
        docs = schema.crd_documents(crd_manifest_for(body, kind=kind), base_document=document("api/v1"))
        schemas.update(docs[GV]["components"]["schemas"])
    return json.dumps({"openapi": "3.0.0", "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
                       "paths": {}, "components": {"schemas": schemas}}).encode()


SPEC_N = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"n": {"type": "integer"}}}}}
SPEC_N_M = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    "n": {"type": "integer"}, "m": {"type": "string"}}}}}


def obj(kind: str, **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "x"}, "spec": spec}


@pytest.fixture
def no_rate_limit(monkeypatch):
    monkeypatch.setattr(schema.store, "_INDEX_REFRESH_SECONDS", 0.0)


def test_a_kind_added_to_a_fetched_group_version_is_found(no_rate_limit):
    transport = RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)})
    store = SchemaStore(transport)
    assert store.validate_object(obj("Widget", n=1)) == []
    transport.publish({GV: crd_document(Widget=SPEC_N, Gadget=SPEC_N)})
    assert store.validate_object(obj("Gadget", n=1)) == []
    assert transport.paths.count("/openapi/v3") == 2
    assert [str(i) for i in store.validate_object(obj("Gadget", n="x"))] == ["spec.n: 'x' is not of type 'integer'"]


def test_a_kind_that_is_really_missing_still_fails_with_suggestions(no_rate_limit):
    store = SchemaStore(RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)}))
    with pytest.raises(errors.SchemaUnavailable, match="did you mean Widget"):
        store.validate_object(obj("Widgett"))


def test_an_object_invalid_against_a_stale_schema_is_checked_against_the_new_one(no_rate_limit):
    transport = RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)})
    store = SchemaStore(transport)
    assert [i.keyword for i in store.validate_object(obj("Widget", m="x"), strict=True)] == ["unknown-field"]
    transport.publish({GV: crd_document(Widget=SPEC_N_M)})
    assert store.validate_object(obj("Widget", m="x"), strict=True) == []


def test_explain_of_a_field_added_since_is_found(no_rate_limit):
    transport = RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)})
    store = SchemaStore(transport)
    store.explain("example.com", "v1", "Widget", "spec.n")
    transport.publish({GV: crd_document(Widget=SPEC_N_M)})
    assert store.explain("example.com", "v1", "Widget", "spec.m").type == "string"


def test_valid_objects_never_refetch_the_index(no_rate_limit):
    transport = RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)})
    store = SchemaStore(transport)
    for _ in range(5):
        assert store.validate_object(obj("Widget", n=1)) == []
    assert transport.paths.count("/openapi/v3") == 1


def test_invalid_objects_refetch_the_index_at_most_once_a_second():
    transport = RecordedTransport.serving({GV: crd_document(Widget=SPEC_N)})
    store = SchemaStore(transport)
    for _ in range(20):
        assert store.validate_object(obj("Widget", n="x")) != []
    assert transport.paths.count("/openapi/v3") == 1  # the index is younger than a second
