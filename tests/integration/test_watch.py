"""Watch against the real server: order, resume points, bookmarks, streaming lists, 410, stop."""

from __future__ import annotations

from typing import Any

import threading
import uuid
from collections.abc import Iterator

import pytest

import dynkube
import dynkube.verbs
from dynkube.watch import EventType, WatchEvent

from ..faults.watchkit import LABELS, SELECTOR, labelled, wait_for


@pytest.fixture(scope="module")
def widgets(client: dynkube.Client) -> Iterator[dynkube.ResourceClient]:
    """A fresh namespaced CRD (kind Widget), deleted after the module."""
    group = f"w{uuid.uuid4().hex[:8]}.example.com"
    crds = client.resource("customresourcedefinitions")
    crds.create({"metadata": {"name": f"widgets.{group}"}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    dynkube.wait_for(crds, f"widgets.{group}", condition="Established", timeout=30)
    yield client.resource(f"widgets.{group}")
    crds.delete(f"widgets.{group}")


def changes(resource: dynkube.ResourceClient, namespace: str, body: dict[str, object]) -> list[tuple[str, str]]:
    """Create, update twice and delete one object; the (type, resourceVersion) a watch must report."""
    created = resource.create(body, namespace=namespace)
    name = created.metadata.name
    first = resource.patch(name, {"metadata": {"labels": {"step": "1"}}}, namespace=namespace)
    second = resource.patch(name, {"metadata": {"labels": {"step": "2"}}}, namespace=namespace)
    resource.delete(name, namespace=namespace)
    return [("ADDED", created.metadata.resourceVersion), ("MODIFIED", first.metadata.resourceVersion),
            ("MODIFIED", second.metadata.resourceVersion), ("DELETED", "")]


def collect(watch: dynkube.watch.Watch, count: int) -> list[WatchEvent]:
    events = []
    with watch:
        for event in watch:
            if event.type is not EventType.BOOKMARK:
                events.append(event)
            if len(events) == count:
                break
    return events


def test_configmap_changes_arrive_in_order(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    start = cms.list_page(namespace).resource_version
    expected = changes(cms, namespace, labelled("cm", a="1"))
    events = collect(cms.watch(namespace, resource_version=start, label_selector=SELECTOR, timeout_seconds=10), 4)
    assert [(e.type.value, e.resource_version) for e in events[:3]] == expected[:3]
    assert events[3].type is EventType.DELETED and events[3].object.metadata.name == "cm"
    assert int(events[3].resource_version) > int(expected[2][1])
    assert all(isinstance(e.object, dynkube.ApiObject) and e.object.kind == "ConfigMap" for e in events)


def test_custom_resource_changes_arrive_in_order(widgets: dynkube.ResourceClient, namespace: str) -> None:
    start = widgets.list_page(namespace).resource_version
    body = {"apiVersion": widgets.api_version, "kind": "Widget", "metadata": {"name": "w", "labels": LABELS},
            "spec": {"size": 1}}
    expected = changes(widgets, namespace, body)
    events = collect(widgets.watch(namespace, resource_version=start, timeout_seconds=10), 4)
    assert [e.type.value for e in events] == [t for t, _ in expected]
    assert [e.resource_version for e in events[:3]] == [v for _, v in expected[:3]]
    assert events[0].object.spec.size == 1


def test_resume_from_a_resource_version_gets_exactly_the_later_events(each_client: Any,
                                                                     namespace: str) -> None:
    cms = each_client.resource("configmaps")
    written = [cms.create(labelled(f"cm-{i}"), namespace=namespace) for i in range(5)]
    events = []
    with cms.watch(namespace, resource_version=written[1].metadata.resourceVersion, label_selector=SELECTOR,
                   timeout_seconds=2) as watch:
        events = [e for e in watch if e.type is not EventType.BOOKMARK]  # the server ends it after 2 s
    assert [(e.type, e.object.metadata.name) for e in events] == [(EventType.ADDED, f"cm-{i}") for i in (2, 3, 4)]


@pytest.mark.parametrize("start", [None, "0"])
def test_resuming_without_resource_version_lists_first_then_watches(each_client: Any, namespace: str,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    start: str | None) -> None:
    monkeypatch.setattr(dynkube.verbs, "DEFAULT_PAGE_SIZE", 2)  # several pages
    cms = each_client.resource("configmaps")
    existing = [cms.create(labelled(f"cm-{i}"), namespace=namespace) for i in range(5)]
    with cms.watch(namespace, label_selector=SELECTOR, resume=True, resource_version=start) as watch:
        events = watch_events(watch)
        initial = [next(events) for _ in existing]
        listed_at = watch.resource_version
        later = cms.create(labelled("later"), namespace=namespace)
        changed = cms.patch("cm-0", {"data": {"a": "1"}}, namespace=namespace)
        after = [next(events), next(events)]
    assert [(e.type, e.object.metadata.name, e.resource_version) for e in initial] == [
        ("ADDED", o.metadata.name, o.metadata.resourceVersion) for o in existing]  # as kubectl get --watch
    assert all(e.object.kind == "ConfigMap" for e in initial)
    assert int(listed_at) >= int(existing[-1].metadata.resourceVersion)
    assert [(e.type, e.resource_version) for e in after] == [
        ("ADDED", later.metadata.resourceVersion), ("MODIFIED", changed.metadata.resourceVersion)]


def watch_events(watch: dynkube.watch.Watch) -> Iterator[WatchEvent]:
    return (e for e in watch if e.type is not EventType.BOOKMARK)


def test_without_resource_version_current_objects_come_first_as_added(each_client: Any,
                                                                     namespace: str) -> None:
    cms = each_client.resource("configmaps")
    cms.create({"metadata": {"name": "existing"}}, namespace=namespace)
    with cms.watch(namespace, label_selector={"app": "x"}) as watch:
        cms.create({"metadata": {"name": "labelled", "labels": {"app": "x"}}}, namespace=namespace)
        first = next(e for e in watch if e.type is not EventType.BOOKMARK)
    assert (first.type, first.object.metadata.name) == (EventType.ADDED, "labelled")


def test_bookmarks_advance_the_resume_point(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    start = cms.list_page(namespace).resource_version
    written: list[str] = []
    done = threading.Event()

    def write_unselected() -> None:  # the server sends bookmarks while its resourceVersion moves
        while not done.is_set():
            created = cms.create({"metadata": {"generateName": "x-"}}, namespace=namespace)
            written.append(created.metadata.resourceVersion)
            done.wait(0.2)

    writer = threading.Thread(target=write_unselected)
    writer.start()
    try:
        wait_for(lambda: written, what="a first unselected write")  # before the watch, however slow the machine
        with cms.watch(namespace, resource_version=start, label_selector="app=none", timeout_seconds=3) as watch:
            events = list(watch)  # before its timeout the server sends a bookmark
    finally:
        done.set()
        writer.join()
    assert events and all(e.type is EventType.BOOKMARK for e in events)
    assert int(events[-1].resource_version) >= int(written[0]) > int(start)
    assert watch.resource_version == events[-1].resource_version


def test_streaming_list_ends_initial_events_with_a_bookmark(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    names = {cms.create({"metadata": {"name": f"cm-{i}"}}, namespace=namespace).metadata.name for i in range(3)}
    initial: list[WatchEvent] = []
    with cms.watch(namespace, send_initial_events=True) as watch:
        for event in watch:
            if event.is_initial_events_end:
                end = event
                break
            initial.append(event)
        assert watch.resource_version == end.resource_version
    assert {e.object.metadata.name for e in initial} >= names  # plus kube-root-ca.crt if published already
    assert all(e.type is EventType.ADDED for e in initial)


def test_too_old_resource_version_raises_gone(widgets: dynkube.ResourceClient, namespace: str) -> None:
    # A CRD's watch cache starts when the CRD is established, so RV "1" is older than all it holds.
    with pytest.raises(dynkube.Gone) as caught:
        list(widgets.watch(namespace, resource_version="1", timeout_seconds=5))
    assert caught.value.code == 410 and "too old" in caught.value.message


def test_resume_mode_raises_gone_too(widgets: dynkube.ResourceClient, namespace: str) -> None:
    with pytest.raises(dynkube.Gone):
        next(widgets.watch(namespace, resource_version="1", resume=True))


def test_stop_from_another_thread_ends_an_idle_watch(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    watch = cms.watch(namespace, resource_version=cms.list_page(namespace).resource_version, label_selector="a=b")
    results: list[WatchEvent] = []
    reader = threading.Thread(target=lambda: results.extend(watch))
    reader.start()
    wait_for(lambda: watch._response is not None, what="the watch to connect")
    watch.stop()
    reader.join(timeout=5)
    assert not reader.is_alive(), "stop() did not end the blocked read"
    assert watch.stopped and all(e.type is EventType.BOOKMARK for e in results)


def test_leaving_the_with_block_closes_the_connection(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    cms.create({"metadata": {"name": "cm"}}, namespace=namespace)
    with cms.watch(namespace) as watch:
        next(watch)
        response = watch._response
    assert response is not None and response.closed
    assert list(watch) == []


def test_invalid_label_selector_gets_the_server_message(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.BadRequest, match="unable to parse requirement"):
        next(each_client.resource("configmaps").watch(namespace, label_selector="a b c="))


def test_resource_without_watch_is_refused_before_any_request(each_client: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="does not support 'watch'"):
        each_client.resource("tokenreviews").watch()
