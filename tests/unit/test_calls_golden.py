"""Golden requests: every verb's exact request (method, path, query, headers, body), without a server.

As client-go's ``dynamic/golden_test.go``: each case builds one call with ``dynkube.core.calls`` and
pins the whole ``Request`` it holds. A change to any verb's wire form fails here first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from dynkube import errors
from dynkube.core import calls
from dynkube.core.calls import TABLE_ACCEPT, TableList
from dynkube.core.http import Headers, Request, Response
from dynkube.objects import ApiList, ApiObject
from dynkube.resources import Resource, Subresource

ALL = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"})
CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps", "configmap", True, ALL, ("cm",))
DEPLOYMENTS = Resource("apps", "v1", "Deployment", "deployments", "deployment", True, ALL, ("deploy",),
                       subresources=(Subresource("status", "Deployment", "apps", "v1", frozenset({"get", "patch",
                                                                                                   "update"})),
                                     Subresource("scale", "Scale", "autoscaling", "v1",
                                                 frozenset({"get", "patch", "update"}))))
PODS = Resource("", "v1", "Pod", "pods", "pod", True, ALL,
                subresources=(Subresource("eviction", "Eviction", "policy", "v1", frozenset({"create"})),))
LOGGED_PODS = Resource("", "v1", "Pod", "pods", "pod", True, ALL, ("po",),
                       subresources=(Subresource("log", "Pod", "", "v1", frozenset({"get"})),))
NAMESPACES = Resource("", "v1", "Namespace", "namespaces", "namespace", False, ALL - {"deletecollection"}, ("ns",))
WIDGETS = Resource("example.com", "v1alpha1", "Widget", "widgets", "widget", True, frozenset({"get", "list"}))

JSON = {"Content-Type": "application/json"}
CM = {"metadata": {"name": "cm", "namespace": "ns1"}, "data": {"a": "1"}}
TYPED_CM = {"apiVersion": "v1", "kind": "ConfigMap", **CM}


def body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def delete_options(**options: Any) -> bytes:
    return body({"kind": "DeleteOptions", "apiVersion": "v1", **options})


P = "/api/v1/namespaces/ns1/configmaps"
D = "/apis/apps/v1/namespaces/ns1/deployments"
L = "/api/v1/namespaces/ns1/pods"

CASES: dict[str, tuple[Callable[[], Any], Request]] = {
    # ---- get
    "get": (lambda: calls.get(CONFIGMAPS, "cm", "ns1"), Request("GET", f"{P}/cm")),
    "get default namespace": (lambda: calls.get(CONFIGMAPS, "cm", default_namespace="dflt"),
                              Request("GET", "/api/v1/namespaces/dflt/configmaps/cm")),
    "get cluster-scoped": (lambda: calls.get(NAMESPACES, "ns1", default_namespace="dflt"),
                           Request("GET", "/api/v1/namespaces/ns1")),
    "get resourceVersion": (lambda: calls.get(CONFIGMAPS, "cm", "ns1", resource_version="0"),
                            Request("GET", f"{P}/cm", {"resourceVersion": "0"})),
    "get subresource": (lambda: calls.get(DEPLOYMENTS, "web", "ns1", subresource="scale"),
                        Request("GET", f"{D}/web/scale")),
    "get as table": (lambda: calls.get(CONFIGMAPS, "cm", "ns1", as_table=True),
                     Request("GET", f"{P}/cm", headers={"Accept": TABLE_ACCEPT})),
    "get custom resource": (lambda: calls.get(WIDGETS, "w", "ns1"),
                            Request("GET", "/apis/example.com/v1alpha1/namespaces/ns1/widgets/w")),
    "get name escaped": (lambda: calls.get(CONFIGMAPS, "a:b", "ns1"), Request("GET", f"{P}/a%3Ab")),
    # ---- list
    "list": (lambda: calls.list_page(CONFIGMAPS, "ns1"), Request("GET", P)),
    "list all namespaces": (lambda: calls.list_page(CONFIGMAPS, all_namespaces=True, default_namespace="dflt"),
                            Request("GET", "/api/v1/configmaps")),
    "list cluster-scoped": (lambda: calls.list_page(NAMESPACES), Request("GET", "/api/v1/namespaces")),
    "list selectors": (lambda: calls.list_page(CONFIGMAPS, "ns1", label_selector={"app": "web", "tier": "front"},
                                               field_selector="metadata.name=cm"),
                       Request("GET", P, {"labelSelector": "app=web,tier=front", "fieldSelector": "metadata.name=cm"})),
    "list page": (lambda: calls.list_page(CONFIGMAPS, "ns1", limit=500, continue_token="tok"),
                  Request("GET", P, {"limit": 500, "continue": "tok"})),
    "list limit 0 is no limit": (lambda: calls.list_page(CONFIGMAPS, "ns1", limit=0), Request("GET", P)),
    "list resourceVersionMatch": (lambda: calls.list_page(CONFIGMAPS, "ns1", resource_version="123",
                                                          resource_version_match="NotOlderThan"),
                                  Request("GET", P, {"resourceVersion": "123",
                                                     "resourceVersionMatch": "NotOlderThan"})),
    "list as table": (lambda: calls.list_page(CONFIGMAPS, "ns1", as_table=True, limit=10),
                      Request("GET", P, {"limit": 10}, {"Accept": TABLE_ACCEPT})),
    # ---- watch
    "watch": (lambda: calls.watch(CONFIGMAPS, "ns1"),
              Request("GET", P, {"watch": "true", "allowWatchBookmarks": "true"}, stream=True)),
    "watch no bookmarks, from a version": (
        lambda: calls.watch(CONFIGMAPS, "ns1", allow_bookmarks=False, resource_version="42", timeout_seconds=30),
        Request("GET", P, {"resourceVersion": "42", "watch": "true", "timeoutSeconds": 30}, stream=True)),
    "watch selectors, all namespaces": (
        lambda: calls.watch(CONFIGMAPS, all_namespaces=True, label_selector="a=b", field_selector={"x": "y"}),
        Request("GET", "/api/v1/configmaps", {"labelSelector": "a=b", "fieldSelector": "x=y", "watch": "true",
                                              "allowWatchBookmarks": "true"}, stream=True)),
    "watch sendInitialEvents": (
        lambda: calls.watch(CONFIGMAPS, "ns1", send_initial_events=True),
        Request("GET", P, {"watch": "true", "allowWatchBookmarks": "true", "sendInitialEvents": "true",
                           "resourceVersionMatch": "NotOlderThan"}, stream=True)),
    # ---- create
    "create": (lambda: calls.create(CONFIGMAPS, CM), Request("POST", P, {}, JSON, body(TYPED_CM))),
    "create typed body kept": (lambda: calls.create(CONFIGMAPS, TYPED_CM, "ns1"),
                               Request("POST", P, {}, JSON, body(TYPED_CM))),
    "create options": (lambda: calls.create(CONFIGMAPS, CM, dry_run=True, field_manager="me",
                                            field_validation="strict"),
                       Request("POST", P, {"dryRun": "All", "fieldManager": "me", "fieldValidation": "Strict"}, JSON,
                               body(TYPED_CM))),
    "create cluster-scoped": (lambda: calls.create(NAMESPACES, {"metadata": {"name": "n"}}, default_namespace="d"),
                              Request("POST", "/api/v1/namespaces", {}, JSON,
                                      body({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}))),
    "create subresource (eviction)": (
        lambda: calls.create(PODS, {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}},
                             "ns1", subresource="eviction", name="p"),
        Request("POST", "/api/v1/namespaces/ns1/pods/p/eviction", {}, JSON,
                body({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}}))),
    # ---- replace
    "replace": (lambda: calls.replace(CONFIGMAPS, CM), Request("PUT", f"{P}/cm", {}, JSON, body(TYPED_CM))),
    "replace name given, validation warn": (
        lambda: calls.replace(CONFIGMAPS, {"data": {}}, "ns1", name="other", field_validation="Warn"),
        Request("PUT", f"{P}/other", {"fieldValidation": "Warn"}, JSON,
                body({"apiVersion": "v1", "kind": "ConfigMap", "data": {}}))),
    "replace status": (lambda: calls.replace(DEPLOYMENTS, {"metadata": {"name": "web"}, "status": {}}, "ns1",
                                             subresource="status"),
                       Request("PUT", f"{D}/web/status", {}, JSON, body({"metadata": {"name": "web"}, "status": {}}))),
    # ---- patch, each type
    "patch merge (a dict)": (lambda: calls.patch(CONFIGMAPS, "cm", {"data": {"a": "2"}}, "ns1"),
                             Request("PATCH", f"{P}/cm", {}, {"Content-Type": "application/merge-patch+json"},
                                     body({"data": {"a": "2"}}))),
    "patch json (a list)": (lambda: calls.patch(CONFIGMAPS, "cm", [{"op": "remove", "path": "/data/a"}], "ns1"),
                            Request("PATCH", f"{P}/cm", {}, {"Content-Type": "application/json-patch+json"},
                                    body([{"op": "remove", "path": "/data/a"}]))),
    "patch strategic": (lambda: calls.patch(DEPLOYMENTS, "web", {"spec": {}}, "ns1", patch_type="strategic",
                                            field_manager="me", dry_run=True),
                        Request("PATCH", f"{D}/web", {"dryRun": "All", "fieldManager": "me"},
                                {"Content-Type": "application/strategic-merge-patch+json"}, body({"spec": {}}))),
    "patch apply type": (lambda: calls.patch(CONFIGMAPS, "cm", TYPED_CM, "ns1", patch_type="apply", force=True),
                         Request("PATCH", f"{P}/cm", {"fieldManager": "dynkube", "force": "true"},
                                 {"Content-Type": "application/apply-patch+yaml"}, body(TYPED_CM))),
    "patch scale subresource": (
        lambda: calls.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 3}}, "ns1", subresource="scale",
                            field_validation="Ignore"),
        Request("PATCH", f"{D}/web/scale", {"fieldValidation": "Ignore"},
                {"Content-Type": "application/merge-patch+json"}, body({"spec": {"replicas": 3}}))),
    # ---- apply
    "apply": (lambda: calls.apply(CONFIGMAPS, CM),
              Request("PATCH", f"{P}/cm", {"fieldManager": "dynkube"}, {"Content-Type": "application/apply-patch+yaml"},
                      body(TYPED_CM))),
    "apply forced, own manager, managedFields left out": (
        lambda: calls.apply(CONFIGMAPS, {**CM, "metadata": {**CM["metadata"], "managedFields": [{}]}},
                            field_manager="ci", force=True, dry_run=True, field_validation="strict"),
        Request("PATCH", f"{P}/cm", {"dryRun": "All", "fieldManager": "ci", "fieldValidation": "Strict",
                                     "force": "true"}, {"Content-Type": "application/apply-patch+yaml"},
                body(TYPED_CM))),
    "apply to scale": (
        lambda: calls.apply(DEPLOYMENTS, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                                          "metadata": {"name": "web"}, "spec": {"replicas": 2}},
                            "ns1", subresource="scale"),
        Request("PATCH", f"{D}/web/scale", {"fieldManager": "dynkube"},
                {"Content-Type": "application/apply-patch+yaml"},
                body({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"},
                      "spec": {"replicas": 2}}))),
    # ---- delete
    "delete": (lambda: calls.delete(CONFIGMAPS, "cm", "ns1"),
               Request("DELETE", f"{P}/cm", {}, JSON, delete_options())),
    "delete options": (
        lambda: calls.delete(CONFIGMAPS, "cm", "ns1", propagation_policy="foreground", grace_period_seconds=0,
                             preconditions={"uid": "u1", "resourceVersion": "7"}, dry_run=True),
        Request("DELETE", f"{P}/cm", {}, JSON,
                delete_options(propagationPolicy="Foreground", gracePeriodSeconds=0,
                               preconditions={"uid": "u1", "resourceVersion": "7"}, dryRun=["All"]))),
    "delete orphan, cluster-scoped": (lambda: calls.delete(NAMESPACES, "n", propagation_policy="Orphan"),
                                      Request("DELETE", "/api/v1/namespaces/n", {}, JSON,
                                              delete_options(propagationPolicy="Orphan"))),
    # ---- delete_collection
    "delete_collection": (lambda: calls.delete_collection(CONFIGMAPS, "ns1", label_selector={"a": "b"},
                                                          propagation_policy="background", dry_run=True),
                          Request("DELETE", P, {"labelSelector": "a=b"}, JSON,
                                  delete_options(propagationPolicy="Background", dryRun=["All"]))),
    "delete_collection all namespaces": (
        lambda: calls.delete_collection(CONFIGMAPS, all_namespaces=True, field_selector="metadata.name=x",
                                        grace_period_seconds=5),
        Request("DELETE", "/api/v1/configmaps", {"fieldSelector": "metadata.name=x"}, JSON,
                delete_options(gracePeriodSeconds=5))),
    # ---- pod_logs
    "logs": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1"), Request("GET", f"{L}/web-1/log")),
    "logs default namespace": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", default_namespace="dflt"),
                               Request("GET", "/api/v1/namespaces/dflt/pods/web-1/log")),
    "logs container": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", container="app"),
                       Request("GET", f"{L}/web-1/log", {"container": "app"})),
    "logs follow is streamed": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", follow=True),
                                Request("GET", f"{L}/web-1/log", {"follow": "true"}, stream=True)),
    "logs previous": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", previous=True),
                      Request("GET", f"{L}/web-1/log", {"previous": "true"})),
    "logs timestamps": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", timestamps=True),
                        Request("GET", f"{L}/web-1/log", {"timestamps": "true"})),
    "logs tail": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", tail_lines=10),
                  Request("GET", f"{L}/web-1/log", {"tailLines": 10})),
    "logs tail 0": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", tail_lines=0),
                    Request("GET", f"{L}/web-1/log", {"tailLines": 0})),
    "logs since seconds": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", since_seconds=3600),
                           Request("GET", f"{L}/web-1/log", {"sinceSeconds": 3600})),
    "logs since seconds rounded": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", since_seconds=1.6),
                                   Request("GET", f"{L}/web-1/log", {"sinceSeconds": 2})),
    "logs since seconds at least 1": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", since_seconds=0.2),
                                      Request("GET", f"{L}/web-1/log", {"sinceSeconds": 1})),
    "logs since time string": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", since_time="2024-05-01T12:00:00Z"),
                               Request("GET", f"{L}/web-1/log", {"sinceTime": "2024-05-01T12:00:00Z"})),
    "logs since time datetime in UTC": (
        lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", since_time=dt.datetime(
            2024, 5, 1, 14, 0, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
        Request("GET", f"{L}/web-1/log", {"sinceTime": "2024-05-01T12:00:00.250000Z"})),
    "logs limit bytes": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", limit_bytes=1024),
                         Request("GET", f"{L}/web-1/log", {"limitBytes": 1024})),
    "logs insecure backend": (lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1",
                                                     insecure_skip_tls_verify_backend=True),
                              Request("GET", f"{L}/web-1/log", {"insecureSkipTLSVerifyBackend": "true"})),
    "logs every option": (
        lambda: calls.pod_logs(LOGGED_PODS, "web-1", "ns1", container="app", follow=True, previous=True,
                               timestamps=True, tail_lines=5, since_seconds=60, limit_bytes=100),
        Request("GET", f"{L}/web-1/log", {"container": "app", "follow": "true", "previous": "true",
                                          "timestamps": "true", "tailLines": 5, "sinceSeconds": 60,
                                          "limitBytes": 100}, stream=True)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_golden_request(case: str) -> None:
    build, expected = CASES[case]
    built = build()
    request = built if isinstance(built, Request) else built.request
    assert request == expected


REFUSED: dict[str, tuple[Callable[[], Any], str]] = {
    "get without a name": (lambda: calls.get(CONFIGMAPS, "", "ns1"), "needs the object's name"),
    "delete with name None": (lambda: calls.delete(CONFIGMAPS, None, "ns1"), "needs the object's name"),  # type: ignore[arg-type]
    "namespaced without a namespace": (lambda: calls.get(CONFIGMAPS, "cm"), "namespaced and no namespace"),
    "cluster-scoped with a namespace": (lambda: calls.get(NAMESPACES, "n", "ns1"), "cluster-scoped"),
    "namespace and all_namespaces": (lambda: calls.list_page(CONFIGMAPS, "ns1", all_namespaces=True), "not both"),
    "unsupported verb": (lambda: calls.delete(WIDGETS, "w", "ns1"), "does not support 'delete'"),
    "unsupported subresource verb": (lambda: calls.get(PODS, "p", "ns1", subresource="eviction"),
                                     "does not support 'get'"),
    "unknown subresource": (lambda: calls.get(PODS, "p", "ns1", subresource="nope"), "no subresource 'nope'"),
    "another kind's body": (lambda: calls.create(CONFIGMAPS, {"kind": "Secret", "metadata": {"name": "s"}}, "ns1"),
                            "is a Secret"),
    "body namespaces disagree": (lambda: calls.create(CONFIGMAPS, CM, "other"), "does not match"),
    "a body that is not a dict": (lambda: calls.create(CONFIGMAPS, ["x"], "ns1"), "must be a dict"),  # type: ignore[arg-type]
    "replace without a name": (lambda: calls.replace(CONFIGMAPS, {"data": {}}, "ns1"), "has no metadata.name"),
    "body not JSON": (lambda: calls.create(CONFIGMAPS, {"metadata": {"name": "x"}, "data": {"a": b"1"}}, "ns1"),
                      "cannot be sent as JSON"),
    "patch not a dict or list": (lambda: calls.patch(CONFIGMAPS, "cm", "x", "ns1"), "must be a dict or a list"),  # type: ignore[arg-type]
    "force without apply": (lambda: calls.patch(CONFIGMAPS, "cm", {}, "ns1", force=True), "force=True"),
    "unknown patch type": (lambda: calls.patch(CONFIGMAPS, "cm", {}, "ns1", patch_type="yaml"), "unknown patch type"),
    "unknown field validation": (lambda: calls.create(CONFIGMAPS, CM, field_validation="loud"),
                                 "unknown field validation"),
    "apply to a subresource without kind": (
        lambda: calls.apply(DEPLOYMENTS, {"metadata": {"name": "web"}}, "ns1", subresource="scale"),
        "needs 'apiVersion'"),
    "bad selector type": (lambda: calls.list_page(CONFIGMAPS, "ns1", label_selector=3), "label_selector"),  # type: ignore[arg-type]
    "bad limit": (lambda: calls.list_page(CONFIGMAPS, "ns1", limit=-1), "limit must be"),
    "bad resource_version": (lambda: calls.list_page(CONFIGMAPS, "ns1", resource_version=5), "must be a string"),  # type: ignore[arg-type]
    "bad grace period": (lambda: calls.delete(CONFIGMAPS, "cm", "ns1", grace_period_seconds=1.5), "integer"),  # type: ignore[arg-type]
    "unknown precondition": (lambda: calls.delete(CONFIGMAPS, "cm", "ns1", preconditions={"name": "x"}),
                             "unknown delete precondition"),
    "unknown propagation policy": (lambda: calls.delete(CONFIGMAPS, "cm", "ns1", propagation_policy="cascade"),
                                   "unknown propagation policy"),
    "watch timeout not an int": (lambda: calls.watch(CONFIGMAPS, "ns1", timeout_seconds=1.5), "timeout_seconds"),  # type: ignore[arg-type]
    "initial events without bookmarks": (
        lambda: calls.watch(CONFIGMAPS, "ns1", send_initial_events=True, allow_bookmarks=False), "allow_bookmarks"),
    "logs of another resource": (lambda: calls.pod_logs(CONFIGMAPS, "cm", "ns1"), "read from pods"),
    "logs without the log subresource": (lambda: calls.pod_logs(PODS, "p", "ns1"), "no subresource 'log'"),
    "logs without a name": (lambda: calls.pod_logs(LOGGED_PODS, "", "ns1"), "needs the object's name"),
    "logs empty container": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", container=""), "container must be"),
    "logs negative tail": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", tail_lines=-1), "tail_lines must be"),
    "logs tail not an int": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", tail_lines="5"), "tail_lines must be"),  # type: ignore[arg-type]
    "logs since 0": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_seconds=0), "since_seconds must be"),
    "logs since negative": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_seconds=-5), "since_seconds must be"),
    "logs since infinite": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_seconds=float("inf")),
                            "since_seconds must be"),
    "logs since and since_time": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_seconds=5,
                                                         since_time="2024-05-01T12:00:00Z"), "not both"),
    "logs since_time not RFC 3339": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_time="yesterday"),
                                     "RFC 3339"),
    "logs since_time with a trailing newline": (
        lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_time="2024-05-01T12:00:00Z\n"), "RFC 3339"),
    "logs since_time naive": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", since_time=dt.datetime(2024, 5, 1)),
                              "timezone-aware"),
    "logs limit 0": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", limit_bytes=0), "limit_bytes must be"),
    "logs follow not a bool": (lambda: calls.pod_logs(LOGGED_PODS, "p", "ns1", follow="yes"), "follow must be"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_bad_input_is_refused_before_any_request(case: str) -> None:
    build, words = REFUSED[case]
    with pytest.raises((errors.InvalidInput, errors.ResourceNotFound), match=words):
        build()


def answer(document: Any, status: int = 200) -> Response:
    return Response(status, Headers({"Content-Type": "application/json"}), json.dumps(document).encode(),
                    url="https://server/api/v1/namespaces/ns1/configmaps?limit=5")


def test_log_calls_read_the_text() -> None:
    call = calls.pod_logs(LOGGED_PODS, "web-1", "ns1")
    assert call.parse(Response(200, Headers({"Content-Type": "text/plain"}), "a\nünï\n".encode())) == "a\nünï\n"


def test_object_calls_read_an_api_object() -> None:
    result = calls.get(CONFIGMAPS, "cm", "ns1").parse(answer(TYPED_CM))
    assert isinstance(result, ApiObject) and result.to_dict() == TYPED_CM


def test_list_calls_read_a_page_and_tables_their_rows() -> None:
    page = calls.list_page(CONFIGMAPS, "ns1").parse(answer({"kind": "ConfigMapList", "items": [TYPED_CM],
                                                            "metadata": {"continue": "t"}}))
    assert isinstance(page, ApiList) and page.continue_token == "t" and len(page.items) == 1
    table = calls.list_page(CONFIGMAPS, "ns1", as_table=True).parse(
        answer({"kind": "Table", "columnDefinitions": [{"name": "Name"}], "rows": [{"cells": ["cm"]}]}))
    assert isinstance(table, TableList) and table.columns == [{"name": "Name"}] and table.rows[0]["cells"] == ["cm"]


def test_an_answer_that_is_not_an_object_names_the_url_without_its_query() -> None:
    with pytest.raises(errors.MalformedResponse) as caught:
        calls.list_page(CONFIGMAPS, "ns1").parse(answer([1, 2]))
    assert caught.value.url == "https://server/api/v1/namespaces/ns1/configmaps"
    assert "is JSON but not an object (a list)" in str(caught.value)


def page(continue_token: str = "") -> ApiList:
    return ApiList({"kind": "ConfigMapList", "metadata": {"continue": continue_token, "resourceVersion": "9"},
                    "items": []})


def test_the_pager_asks_for_the_next_page_with_the_token_and_without_the_first_pages_version() -> None:
    first = calls.list_page(CONFIGMAPS, "ns1", label_selector="a=b", limit=2, resource_version="5",
                            resource_version_match="NotOlderThan", as_table=True).request
    assert calls.next_page(first, page("t1")) == Request(
        "GET", P, {"labelSelector": "a=b", "limit": 2, "continue": "t1"}, {"Accept": TABLE_ACCEPT})
    second = calls.next_page(first, page("t1"))
    assert second is not None and calls.next_page(second, page("t2")) == Request(
        "GET", P, {"labelSelector": "a=b", "limit": 2, "continue": "t2"}, {"Accept": TABLE_ACCEPT})


def test_the_pager_stops_after_the_last_page() -> None:
    assert calls.next_page(calls.list_page(CONFIGMAPS, "ns1").request, page("")) is None


# ---- streams into a pod: the WebSocket upgrade requests ---------------------------------------

STREAM_GOLDEN: list[tuple[str, Callable[[], Request], Request]] = [
    ("exec, stdout and stderr", lambda: calls.exec_request("ns1", "p", ["sh", "-c", "echo hi"]),
     Request("GET", "/api/v1/namespaces/ns1/pods/p/exec",
             {"command": ["sh", "-c", "echo hi"], "stdout": "true", "stderr": "true"})),
    ("exec with stdin in a container", lambda: calls.exec_request("ns1", "p", ["cat"], container="c", stdin=True),
     Request("GET", "/api/v1/namespaces/ns1/pods/p/exec",
             {"command": ["cat"], "container": "c", "stdin": "true", "stdout": "true", "stderr": "true"})),
    ("exec with a tty: no stderr, as kubectl", lambda: calls.exec_request("ns1", "p", ["sh"], stdin=True, tty=True),
     Request("GET", "/api/v1/namespaces/ns1/pods/p/exec",
             {"command": ["sh"], "stdin": "true", "stdout": "true", "tty": "true"})),
    ("attach", lambda: calls.attach_request("ns1", "p", container="c", stderr=False),
     Request("GET", "/api/v1/namespaces/ns1/pods/p/attach", {"container": "c", "stdout": "true"})),
    ("port-forward", lambda: calls.port_forward_request("ns1", "p", 8080),
     Request("GET", "/api/v1/namespaces/ns1/pods/p/portforward", {"ports": "8080"})),
]


@pytest.mark.parametrize("build, expected", [case[1:] for case in STREAM_GOLDEN], ids=[c[0] for c in STREAM_GOLDEN])
def test_stream_upgrade_requests(build: Callable[[], Request], expected: Request) -> None:
    assert build() == expected


@pytest.mark.parametrize("command", [[], "echo hi", None, ["echo", 1]])
def test_exec_refuses_a_command_that_is_not_a_non_empty_argv(command: Any) -> None:
    with pytest.raises(errors.InvalidInput, match="command"):
        calls.exec_request("ns1", "p", command)


@pytest.mark.parametrize("namespace, pod, container, match", [
    ("ns1", "", None, "pod name"), ("", "p", None, "namespace"), ("ns1", "a/b", None, "pod name"),
    ("ns1", "p", "", "container name")])
def test_stream_requests_refuse_bad_names(namespace: str, pod: str, container: str | None, match: str) -> None:
    with pytest.raises(errors.InvalidInput, match=match):
        calls.exec_request(namespace, pod, ["true"], container=container)


def test_a_tty_needs_stdin() -> None:
    # kubectl never sends tty=true without stdin; a kwok node crashes on it (a nil stdin in its pty tunnel)
    with pytest.raises(errors.InvalidInput, match="a tty needs stdin"):
        calls.exec_request("ns1", "p", ["tty"], tty=True)
    with pytest.raises(errors.InvalidInput, match="a tty needs stdin"):
        calls.attach_request("ns1", "p", tty=True)


def test_a_stream_needs_at_least_one_of_its_standard_streams() -> None:
    with pytest.raises(errors.InvalidInput, match="at least one of stdin, stdout and stderr"):
        calls.attach_request("ns1", "p", stdout=False, stderr=False)


@pytest.mark.parametrize("spec, pairs", [
    ("8080:80", [(8080, 80)]), (":80", [(0, 80)]), ("0:80", [(0, 80)]), ("80", [(80, 80)]), (80, [(80, 80)]),
    ((0, 7), [(0, 7)]), (["1:2", 3], [(1, 2), (3, 3)])])
def test_port_forward_specs_read_as_kubectl(spec: Any, pairs: list[tuple[int, int]]) -> None:
    assert calls.port_pairs(spec) == pairs


@pytest.mark.parametrize("spec", ["80:", "a:80", "70000", 0, True, [], "8080:0", (1, 2, 3)])
def test_port_forward_refuses_bad_specs(spec: Any) -> None:
    with pytest.raises(errors.InvalidInput, match="port"):
        calls.port_pairs(spec)
