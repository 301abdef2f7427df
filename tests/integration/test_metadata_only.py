"""Metadata-only reads (client-go's metadata client): PartialObjectMetadata for any kind, no spec/data."""

from __future__ import annotations

from typing import Any

import time

import pytest

import dynkube

SECRET_VALUE = "c2VjcmV0LXZhbHVl"  # base64 of "secret-value"


def test_list_of_secrets_carries_no_data(each_client: Any, namespace: str) -> None:
    secrets = each_client.resource("secrets")
    secrets.create({"metadata": {"name": "s1", "labels": {"a": "b"}}, "data": {"k": SECRET_VALUE}}, namespace)
    items = list(secrets.list(namespace, metadata_only=True))
    assert [(i.kind, i.apiVersion) for i in items] == [("PartialObjectMetadata", "meta.k8s.io/v1")]
    assert items[0].metadata.labels == {"a": "b"} and items[0].metadata.resourceVersion
    assert "data" not in items[0].to_dict() and SECRET_VALUE not in str(items[0].to_dict())


def test_list_page_of_configmaps_is_a_partial_object_metadata_list(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    cms.create({"metadata": {"name": "c1"}, "data": {"big": "x" * 1000}}, namespace)
    page = cms.list_page(namespace, field_selector="metadata.name=c1", metadata_only=True)
    assert page.kind == "PartialObjectMetadataList"
    assert [(i.metadata.name, sorted(i.to_dict())) for i in page.items] == [("c1", ["apiVersion", "kind", "metadata"])]


def test_get_of_a_custom_resource_has_no_spec(each_client: Any, namespace: str, gizmo_crds: None) -> None:
    gizmos = each_client.resource("gizmos")
    gizmos.create({"metadata": {"name": "g1"}, "spec": {"size": "small", "replicas": 2}}, namespace)
    partial = gizmos.get("g1", namespace, metadata_only=True)
    assert partial.kind == "PartialObjectMetadata" and partial.metadata.name == "g1"
    assert "spec" not in partial.to_dict() and "status" not in partial.to_dict()


def test_cluster_scoped_list_across_pages(each_client: Any) -> None:
    names = [n.metadata.name for n in each_client.resource("namespaces").list(limit=1, metadata_only=True)]
    assert "default" in names and len(names) == len(set(names))


def test_table_and_metadata_only_together_are_refused(each_client: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="not both"):
        each_client.resource("configmaps").list_page("default", as_table=True, metadata_only=True)


def test_watch_sends_partial_objects(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    cms.create({"metadata": {"name": "before"}, "data": {"k": "v"}}, namespace)
    with cms.watch(namespace, resume=True, metadata_only=True) as watch:
        seen = []
        for event in watch:
            seen.append((event.type, event.object.kind, event.object.metadata.name, "data" in event.object))
            if event.object.metadata.name == "before":
                cms.create({"metadata": {"name": "after"}, "data": {"k": "v"}}, namespace)
            if event.object.metadata.name == "after":
                break
    assert ("ADDED", "PartialObjectMetadata", "before", False) in seen
    assert seen[-1] == ("ADDED", "PartialObjectMetadata", "after", False)


def test_informer_over_metadata_only(each_client: Any, each_tools: Any, namespace: str, gizmo_crds: None) -> None:
    gizmos = each_client.resource("gizmos")
    gizmos.create({"metadata": {"name": "g1", "labels": {"a": "b"}}, "spec": {"size": "small"}}, namespace)
    informer = each_tools.Informer(gizmos, namespace, metadata_only=True).start()
    try:
        assert informer.wait_for_sync(timeout=30)
        gizmos.create({"metadata": {"name": "g2"}, "spec": {"size": "large"}}, namespace)
        deadline = time.monotonic() + 30
        while len(informer.store) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        objects = sorted(informer.store.list(), key=lambda o: o.metadata.name)
        assert [(o.kind, o.metadata.name) for o in objects] == [("PartialObjectMetadata", "g1"),
                                                                ("PartialObjectMetadata", "g2")]
        assert all("spec" not in o for o in objects) and objects[0].metadata.labels == {"a": "b"}
    finally:
        informer.stop()
