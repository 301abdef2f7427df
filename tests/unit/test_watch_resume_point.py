"""The resume point of a watch, without a server: which request each connection sends, and how
events move it (dynkube.core.watchstream.ResumePoint)."""

from __future__ import annotations

from typing import Any

import pytest

from dynkube import errors
from dynkube.core import calls
from dynkube.core.http import Request
from dynkube.core.watchstream import INITIAL_EVENTS_END, EventType, ResumePoint, WatchEvent
from dynkube.objects import ApiObject
from dynkube.resources import Resource

CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps", "configmap", True, frozenset({"list", "watch"}))
P = "/api/v1/namespaces/ns1/configmaps"
URL = "https://server" + P


def event(kind: EventType, version: str, **annotations: str) -> WatchEvent:
    metadata: dict[str, Any] = {"name": "cm", "resourceVersion": version}
    if annotations:
        metadata["annotations"] = annotations
    return WatchEvent(kind, ApiObject({"kind": "ConfigMap", "metadata": metadata}))


def test_each_connection_starts_where_the_last_event_left_off() -> None:
    watch = calls.watch(CONFIGMAPS, "ns1", label_selector="a=b", resource_version="10", timeout_seconds=5)
    point = ResumePoint("10", send_initial_events=False)
    assert point.request(watch, 5) == watch
    point.advance(event(EventType.MODIFIED, "11"), URL)
    point.advance(event(EventType.BOOKMARK, "15"), URL)
    assert point.request(watch, 300) == Request("GET", P, {"labelSelector": "a=b", "watch": "true",
                                                           "allowWatchBookmarks": "true", "resourceVersion": "15",
                                                           "timeoutSeconds": 300}, stream=True)


def test_a_watch_without_a_version_sends_none_and_no_timeout_when_not_given() -> None:
    watch = calls.watch(CONFIGMAPS, "ns1")
    assert ResumePoint(None, False).request(watch, None) == watch


def test_initial_events_keep_the_point_until_their_end_bookmark() -> None:
    watch = calls.watch(CONFIGMAPS, "ns1", send_initial_events=True)
    point = ResumePoint(None, send_initial_events=True)
    assert point.request(watch, None) == watch  # sendInitialEvents and resourceVersionMatch=NotOlderThan
    assert point.resumable
    point.advance(event(EventType.ADDED, "3"), URL)
    assert point.resource_version is None and not point.resumable  # a reconnect would replay them
    point.advance(event(EventType.BOOKMARK, "7", **{INITIAL_EVENTS_END: "true"}), URL)
    assert point.resource_version == "7" and point.resumable
    assert point.request(watch, None) == Request("GET", P, {"watch": "true", "allowWatchBookmarks": "true",
                                                            "resourceVersion": "7"}, stream=True)


def test_an_error_event_is_raised_as_its_typed_error() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
              "message": "too old resource version: 1 (5)"}
    point = ResumePoint("1", False)
    with pytest.raises(errors.Gone, match="too old resource version"):
        point.advance(WatchEvent(EventType.ERROR, ApiObject(status)), URL)
    assert point.resource_version == "1"
