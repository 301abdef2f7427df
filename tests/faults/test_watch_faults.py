"""Watch and informer through faults: connections cut at random byte offsets by a TCP proxy in
front of the real server, server-side timeouts, and a forced 410 (the watch cache of a CRD is
rebuilt and etcd compacted while the informer is cut off). After each, the informer's store equals
a fresh list, and its handlers saw every change exactly once, or were told of the relist
(deletions missed meanwhile arrive as DeletedFinalStateUnknown). Every test runs against both
clients: the sync watch and informer, then ``dynkube.aio``'s (through the bridge)."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import dynkube
from dynkube.transport import RetryPolicy
from dynkube.watch import Backoff, EventType, WatchEvent

from ..support.bridge import tools_for
from .proxy import FaultProxy
from .watchkit import (SELECTOR, Recorder, assert_seen_once_each, converged, labelled, run_writers, server_state,
                       store_state, wait_for)

ROOT = Path(__file__).resolve().parents[2]
FAST_BACKOFF = Backoff(initial=0.05, cap=0.5)


@pytest.fixture
def proxy(client: dynkube.Client) -> Iterator[FaultProxy]:
    server = urlsplit(client.config.server)
    fault_proxy = FaultProxy((server.hostname or "127.0.0.1", server.port or 443), seed=6)
    yield fault_proxy
    fault_proxy.close()


PROXIED_RETRY = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.5)


@pytest.fixture
def proxied(client: dynkube.Client, proxy: FaultProxy, open_client: Callable[..., Any]) -> Any:
    """A client (sync, then async) of the real server that goes through the proxy (TLS end to end)."""
    return open_client(client.config.replace(server=proxy.url), cache_dir=False, qps=None, retry=PROXIED_RETRY)


@pytest.fixture
def writer(kubeconfig_path: Path) -> Iterator[dynkube.Client]:
    """A direct client (no proxy, no client-side rate limit) for the write load."""
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=False, qps=None) as direct:
        yield direct


def follow(watch: dynkube.watch.Watch) -> tuple[list[WatchEvent], threading.Thread]:
    """Read ``watch`` in a thread into a list (until it is stopped)."""
    events: list[WatchEvent] = []
    reader = threading.Thread(target=lambda: events.extend(e for e in watch if e.type is not EventType.BOOKMARK))
    reader.start()
    return events, reader


def assert_exactly_the_writes(events: list[WatchEvent], done: list[tuple[str, str | None]]) -> None:
    versions = [int(e.resource_version) for e in events]
    assert versions == sorted(set(versions)), "an event was replayed or came out of order"
    seen = [(f"{e.object.metadata.namespace}/{e.object.metadata.name}", e.resource_version)
            for e in events if e.type is not EventType.DELETED]
    assert sorted(seen) == sorted(w for w in done if w[1] is not None)
    assert sum(e.type is EventType.DELETED for e in events) == sum(w[1] is None for w in done)


def test_resumed_watch_survives_cuts_at_random_offsets(proxied: dynkube.Client, writer: dynkube.Client,
                                                       proxy: FaultProxy, namespace: str) -> None:
    cms = proxied.resource("configmaps")
    start = cms.list_page(namespace).resource_version
    proxy.cut_after(4_000, 20_000)
    watch = cms.watch(namespace, label_selector=SELECTOR, resource_version=start, resume=True)
    events, reader = follow(watch)
    try:
        done = run_writers(writer.resource("configmaps"), namespace, writers=4, changes_each=50, payload=1500)
        wait_for(lambda: len(events) == len(done), what="every change to arrive")
    finally:
        watch.stop()
        reader.join()
    assert proxy.cuts >= 5, "the proxy did not cut the watch as often as planned"
    assert_exactly_the_writes(events, done)


def server_ends(caplog: pytest.LogCaptureFixture) -> int:
    """How many times a watch was ended by the server and resumed (from the watch's debug log)."""
    return sum("ended by the server" in r.getMessage() for r in caplog.records)


def test_resumed_watch_survives_server_timeouts(proxied: dynkube.Client, writer: dynkube.Client,
                                                namespace: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dynkube")  # dynkube.watch and dynkube.aio.watch
    cms = proxied.resource("configmaps")
    start = cms.list_page(namespace).resource_version
    watch = cms.watch(namespace, label_selector=SELECTOR, resource_version=start, resume=True, timeout_seconds=1)
    events, reader = follow(watch)
    try:
        done = run_writers(writer.resource("configmaps"), namespace, writers=1, changes_each=150,
                           until=lambda: server_ends(caplog) >= 2)  # the server ends the watch while writes go on
        wait_for(lambda: len(events) == len(done), what="every change to arrive")
        wait_for(lambda: server_ends(caplog) >= 2, what="the server to end the watch twice")  # writes may be quick
    finally:
        watch.stop()
        reader.join()
    assert server_ends(caplog) >= 2, "the server did not end the watch as asked"
    assert_exactly_the_writes(events, done)


def test_stop_ends_a_resuming_watch_during_an_outage(proxied: dynkube.Client, proxy: FaultProxy,
                                                     namespace: str) -> None:
    cms = proxied.resource("configmaps")
    watch = cms.watch(namespace, label_selector=SELECTOR, resource_version=cms.list_page(namespace).resource_version,
                      resume=True)
    _, reader = follow(watch)
    wait_for(lambda: watch._response is not None, what="the watch to connect")
    proxy.outage()
    wait_for(lambda: watch._response is None, what="the watch to lose its connection")
    watch.stop()  # while it retries against a server it cannot reach
    reader.join(timeout=5)
    assert not reader.is_alive(), "stop() did not end a watch that was reconnecting"


def test_watch_without_resume_reports_a_cut(proxied: dynkube.Client, writer: dynkube.Client, proxy: FaultProxy,
                                            namespace: str) -> None:
    cms = proxied.resource("configmaps")
    watch = cms.watch(namespace, label_selector=SELECTOR, resource_version=cms.list_page(namespace).resource_version)
    writer.resource("configmaps").create(labelled("cm"), namespace=namespace)
    assert next(watch).object.metadata.name == "cm"
    proxy.cut_all()
    with pytest.raises(dynkube.TransportError, match="connection lost"):
        next(watch)


@pytest.mark.parametrize("fault", ["random-cuts", "server-timeouts"])
@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "list-then-watch"])
def test_informer_sees_every_change_once_through_faults(proxied: Any, writer: dynkube.Client,
                                                        proxy: FaultProxy, namespace: str, fault: str,
                                                        watch_list: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dynkube")  # dynkube.watch and dynkube.aio.watch
    cms = writer.resource("configmaps")
    for i in range(5):
        cms.create(labelled(f"before-{i}"), namespace=namespace)
    watched = proxied.resource("configmaps")  # discovery before the cuts: its documents are larger than a budget
    if fault == "random-cuts":
        proxy.cut_after(6_000, 30_000)
    recorder = Recorder()
    informer = tools_for(watched).Informer(watched, namespace, label_selector=SELECTOR, use_watch_list=watch_list,
                                           timeout_seconds=1 if fault == "server-timeouts" else None,
                                           backoff=FAST_BACKOFF)
    informer.add_handler(**recorder.handlers())
    with informer:
        assert informer.wait_for_sync(30), informer.last_error
        enough_ends = (lambda: server_ends(caplog) >= 2) if fault == "server-timeouts" else None
        done = run_writers(cms, namespace, writers=4, changes_each=40, payload=1000, until=enough_ends)
        wait_for(lambda: converged(informer, recorder, cms, namespace), what="the informer to converge")
    assert fault != "random-cuts" or proxy.cuts >= 2, f"{proxy.cuts} cuts in {proxy.server_bytes} bytes"
    assert fault != "server-timeouts" or server_ends(caplog) >= 2, "the server did not end the watch as asked"
    assert_seen_once_each(recorder, done)
    assert not [e for e in recorder.entries("delete") if e[3]], "an unexpected relist happened"


# ---- forced 410 -----------------------------------------------------------------------------

@pytest.fixture
def gadgets(client: dynkube.Client) -> Iterator[tuple[dynkube.ResourceClient, str]]:
    """A fresh CRD (kind Gadget) and its name; deleted afterwards."""
    group = f"g{uuid.uuid4().hex[:8]}.example.com"
    name = f"gadgets.{group}"
    crds = client.resource("customresourcedefinitions")
    crds.create({"metadata": {"name": name}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    dynkube.wait_for(crds, name, condition="Established", timeout=30)
    yield client.resource(name), name
    crds.delete(name)


def rebuild_watch_cache(client: dynkube.Client, crd_name: str) -> None:
    """Change the CRD's spec: the server replaces that resource's storage and watch cache, which
    then holds no event older than now."""
    crds = client.resource("customresourcedefinitions")
    crd = crds.get(crd_name)
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [{"name": "Size", "type": "integer",
                                                               "jsonPath": ".spec.size"}]
    crds.replace(crd)


def compact_etcd() -> None:
    """Compact etcd (physically) at its current revision."""
    etcd = json.loads((ROOT / ".envtest" / "run" / "state.json").read_text())["etcd"]

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        request = urllib.request.Request(f"{etcd}{path}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    revision = int(post("/v3/kv/range", {"key": "AA=="})["header"]["revision"])  # type: ignore[index]
    post("/v3/kv/compaction", {"revision": revision, "physical": True})


def gone_for(resource: dynkube.ResourceClient, namespace: str, version: str) -> bool:
    try:
        next(resource.watch(namespace, resource_version=version, timeout_seconds=1), None)
    except dynkube.Gone:
        return True
    return False


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "list-then-watch"])
def test_informer_relists_after_410_and_reports_missed_deletes(client: dynkube.Client, proxied: Any,
                                                               proxy: FaultProxy, namespace: str,
                                                               gadgets: tuple[dynkube.ResourceClient, str],
                                                               watch_list: bool) -> None:
    direct, crd_name = gadgets

    def gadget(name: str) -> dict[str, object]:
        return {"apiVersion": direct.api_version, "kind": "Gadget", "spec": {"size": 1}, **labelled(name)}

    for i in range(6):
        direct.create(gadget(f"g{i}"), namespace=namespace)
    recorder = Recorder()
    watched = proxied.resource(crd_name)
    informer = tools_for(watched).Informer(watched, namespace, label_selector=SELECTOR, use_watch_list=watch_list,
                                           backoff=FAST_BACKOFF)
    informer.add_handler(**recorder.handlers())
    with informer:
        assert informer.wait_for_sync(30), informer.last_error
        unchanged = {key: informer.store.get(key) for key in (f"{namespace}/g{i}" for i in (3, 4, 5))}
        proxy.outage()
        before_outage = direct.list_page(namespace).resource_version
        direct.delete("g0", namespace=namespace)
        direct.delete("g1", namespace=namespace)
        direct.patch("g2", {"spec": {"size": 2}}, namespace=namespace)
        direct.create(gadget("n0"), namespace=namespace)
        rebuild_watch_cache(client, crd_name)
        compact_etcd()
        wait_for(lambda: gone_for(direct, namespace, before_outage), what="the server to answer 410")
        proxy.restore()
        wait_for(lambda: converged(informer, recorder, direct, namespace), what="the informer to relist")
    tombstones = sorted(key for _, key, _, is_tombstone in recorder.entries("delete") if is_tombstone)
    assert tombstones == [f"{namespace}/g0", f"{namespace}/g1"]
    after_sync = [e for e in recorder.entries() if not (e[0] == "add" and e[3])]
    assert sorted((kind, key) for kind, key, _, _ in after_sync) == [
        ("add", f"{namespace}/n0"), ("delete", f"{namespace}/g0"), ("delete", f"{namespace}/g1"),
        ("update", f"{namespace}/g2")]
    assert store_state(informer) == server_state(direct, namespace)
    assert all(informer.store.get(key) is obj for key, obj in unchanged.items())  # held once through the relist
