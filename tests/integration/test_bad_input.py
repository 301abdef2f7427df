"""Bad arguments to the verbs are refused with InvalidInput before any request, and nothing on the
real server changes: the same errors from both clients (each test runs with each)."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pytest

import dynkube


@pytest.fixture
def configmaps(each_client: Any, namespace: str) -> Any:
    """Config maps of each client in turn, with two kept ones the bad calls must leave alone."""
    cms = each_client.resource("configmaps")
    for name in ("keep-a", "keep-b"):
        cms.create({"metadata": {"name": name}, "data": {"k": "v"}}, namespace)
    return cms


def _names(cms: dynkube.ResourceClient, namespace: str) -> set[str]:
    return {o.metadata.name for o in cms.list(namespace)} - {"kube-root-ca.crt"}


@pytest.mark.parametrize("name", [None, ""])
@pytest.mark.parametrize(("verb", "call"), [
    ("delete", lambda cms, name, ns: cms.delete(name, ns)),
    ("get", lambda cms, name, ns: cms.get(name, ns)),
    ("patch", lambda cms, name, ns: cms.client.resource("deployments").patch(name, {"spec": {"replicas": 0}}, ns,
                                                                            subresource="scale")),
    ("patch", lambda cms, name, ns: cms.patch(name, {"data": {"k": "changed"}}, ns)),
    ("update", lambda cms, name, ns: cms.replace({"data": {"k": "changed"}}, ns, name=name)),
])
def test_single_object_verbs_refuse_a_missing_name(configmaps: dynkube.ResourceClient, namespace: str,
                                                   verb: str, call: Any, name: str | None) -> None:
    with pytest.raises(dynkube.InvalidInput, match=f"{verb} of [a-z.]+ needs the object's name|no metadata.name"):
        call(configmaps, name, namespace)
    assert _names(configmaps, namespace) == {"keep-a", "keep-b"}
    assert {o.data["k"] for o in configmaps.list(namespace) if o.metadata.name.startswith("keep-")} == {"v"}


def test_delete_of_no_name_on_a_cluster_scoped_kind_deletes_nothing(each_client: Any, namespace: str) -> None:
    namespaces = each_client.resource("namespaces")
    with pytest.raises(dynkube.InvalidInput, match="needs the object's name"):
        namespaces.delete(None)  # type: ignore[arg-type]
    assert namespaces.get(namespace).metadata.name == namespace


def test_delete_collection_still_deletes_many(configmaps: dynkube.ResourceClient, namespace: str) -> None:
    configmaps.delete_collection(namespace, field_selector={"metadata.name": "keep-a"})
    assert _names(configmaps, namespace) == {"keep-b"}


def test_apply_fills_in_api_version_and_kind(each_client: Any, namespace: str) -> None:
    applied = each_client.resource("configmaps").apply({"metadata": {"name": "untyped"}, "data": {"a": "1"}}, namespace)
    assert (applied.apiVersion, applied.kind, applied.data) == ("v1", "ConfigMap", {"a": "1"})


def test_apply_of_another_kind_is_refused(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match="is a Secret"):
        each_client.resource("configmaps").apply({"kind": "Secret", "metadata": {"name": "x"}}, namespace)


@pytest.mark.parametrize(("call", "named"), [
    (lambda cms, ns: cms.create({"metadata": {"name": "dated"}, "data": {"d": datetime.date(2024, 1, 1)}}, ns),
     "the body of ConfigMap 'dated'"),
    (lambda cms, ns: cms.apply({"metadata": {"name": "nan"}, "data": {"n": math.nan}}, ns),
     "the body of ConfigMap 'nan'"),
    (lambda cms, ns: cms.patch("keep-a", {"data": {"k": b"bytes"}}, ns), "the patch for configmaps 'keep-a'"),
    (lambda cms, ns: cms.replace({"metadata": {"name": "keep-a"}, "data": {"k": {"a", "b"}}}, ns),
     "the body of ConfigMap 'keep-a'"),
])
def test_bodies_that_are_not_json_are_refused(configmaps: dynkube.ResourceClient, namespace: str, call: Any,
                                              named: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match=f"^{named} cannot be sent as JSON"):
        call(configmaps, namespace)
    assert _names(configmaps, namespace) == {"keep-a", "keep-b"}
    assert configmaps.get("keep-a", namespace).data == {"k": "v"}


@pytest.mark.parametrize("grace", ["abc", 1.5, True])
def test_grace_period_must_be_an_integer(configmaps: dynkube.ResourceClient, namespace: str, grace: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="^grace_period_seconds must be an integer"):
        configmaps.delete("keep-a", namespace, grace_period_seconds=grace)
    assert _names(configmaps, namespace) == {"keep-a", "keep-b"}


@pytest.mark.parametrize("source", [12345, b"apiVersion: v1\n", None])
def test_apply_manifests_refuses_what_is_not_manifests(each_client: Any, each_tools: Any, source: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="^manifests must be YAML text, a path, a URL"):
        each_tools.apply_manifests(each_client, source)
