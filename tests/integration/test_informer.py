"""Informers against the real server: sync, handlers, indexes, resync, sharing, concurrent writers."""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.informer import DeletedFinalStateUnknown, Informer, SharedInformerFactory, object_key


def wait_for(condition: Callable[[], object], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Recorder:
    """Handlers that log every notification and replay them into a model of the collection."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def on_add(self, obj: dynkube.ApiObject, is_initial: bool) -> None:
        with self._lock:
            self.log.append(("add", object_key(obj), obj.metadata.resourceVersion, is_initial))

    def on_update(self, old: dynkube.ApiObject, new: dynkube.ApiObject) -> None:
        with self._lock:
            self.log.append(("update", object_key(new), new.metadata.resourceVersion, old is new))

    def on_delete(self, obj: Any) -> None:
        tombstone = isinstance(obj, DeletedFinalStateUnknown)
        with self._lock:
            self.log.append(("delete", obj.key if tombstone else object_key(obj), None, tombstone))

    def handlers(self) -> dict[str, Callable[..., None]]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}

    def model(self) -> dict[str, str]:
        state: dict[str, str] = {}
        with self._lock:
            for kind, key, version, _ in self.log:
                if kind == "delete":
                    state.pop(key, None)
                else:
                    state[key] = version
        return state


def server_state(resource: dynkube.ResourceClient, namespace: str) -> dict[str, str]:
    return {object_key(o): o.metadata.resourceVersion for o in resource.list(namespace)}


def store_state(informer: Informer) -> dict[str, str]:
    return {object_key(o): o.metadata.resourceVersion for o in informer.list()}


@pytest.fixture
def configmaps(client: dynkube.Client) -> dynkube.ResourceClient:
    return client.resource("configmaps")


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "list-then-watch"])
def test_store_follows_the_server_and_handlers_see_each_change(configmaps: dynkube.ResourceClient, namespace: str,
                                                               watch_list: bool) -> None:
    for i in range(3):
        configmaps.create({"metadata": {"name": f"before-{i}"}}, namespace=namespace)
    recorder = Recorder()
    informer = Informer(configmaps, namespace, use_watch_list=watch_list)
    informer.add_handler(**recorder.handlers())
    with informer:
        assert informer.wait_for_sync(20)
        assert store_state(informer) == server_state(configmaps, namespace)
        initial = [entry for entry in recorder.log if entry[0] == "add"]
        assert {f"{namespace}/before-{i}" for i in range(3)} <= {key for _, key, _, _ in initial}
        assert all(is_initial for *_, is_initial in initial)

        created = configmaps.create({"metadata": {"name": "later"}}, namespace=namespace)
        updated = configmaps.patch("later", {"data": {"k": "v"}}, namespace=namespace)
        configmaps.delete("later", namespace=namespace)
        wait_for(lambda: recorder.model() == server_state(configmaps, namespace), what="handlers to catch up")
        assert store_state(informer) == server_state(configmaps, namespace)
    assert informer.uses_watch_list is watch_list
    later = [entry for entry in recorder.log if entry[1] == f"{namespace}/later"]
    assert later == [("add", f"{namespace}/later", created.metadata.resourceVersion, False),
                     ("update", f"{namespace}/later", updated.metadata.resourceVersion, False),
                     ("delete", f"{namespace}/later", None, False)]


def test_auto_mode_uses_streaming_lists_on_a_current_server(configmaps: dynkube.ResourceClient,
                                                            namespace: str) -> None:
    with Informer(configmaps, namespace) as informer:
        assert informer.wait_for_sync(20)
        assert informer.uses_watch_list is True


def test_custom_and_namespace_indexes(client: dynkube.Client, configmaps: dynkube.ResourceClient,
                                      namespace: str) -> None:
    def by_tier(obj: dynkube.ApiObject) -> list[str]:
        return [obj.metadata.get("labels", {}).get("tier", "none")]

    configmaps.create({"metadata": {"name": "a", "labels": {"tier": "web"}}}, namespace=namespace)
    with Informer(configmaps, all_namespaces=True, label_selector={"indexed": "yes"},
                  indexers={"tier": by_tier}) as informer:
        configmaps.create({"metadata": {"name": "b", "labels": {"tier": "web", "indexed": "yes"}}}, namespace=namespace)
        configmaps.create({"metadata": {"name": "c", "labels": {"tier": "db", "indexed": "yes"}}}, namespace=namespace)
        assert informer.wait_for_sync(20)
        wait_for(lambda: len(informer.store.by_index("namespace", namespace)) == 2, what="both objects")
        assert [o.metadata.name for o in informer.store.by_index("tier", "web")] == ["b"]
        configmaps.patch("b", {"metadata": {"labels": {"tier": "db"}}}, namespace=namespace)
        wait_for(lambda: not informer.store.by_index("tier", "web"), what="the index to follow the update")
        assert sorted(o.metadata.name for o in informer.store.by_index("tier", "db")) == ["b", "c"]
        assert informer.get("b", namespace).metadata.labels.tier == "db"


def test_handler_added_after_sync_first_gets_every_stored_object(configmaps: dynkube.ResourceClient,
                                                                 namespace: str) -> None:
    for i in range(4):
        configmaps.create({"metadata": {"name": f"cm-{i}"}}, namespace=namespace)
    with Informer(configmaps, namespace) as informer:
        assert informer.wait_for_sync(20)
        late = Recorder()
        registration = informer.add_handler(**late.handlers())
        wait_for(registration.has_synced, what="the late handler to sync")
        assert late.model() == store_state(informer)
        assert all(entry[0] == "add" and entry[3] for entry in late.log)


def test_failing_handler_is_logged_and_later_events_still_arrive(configmaps: dynkube.ResourceClient,
                                                                 namespace: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    updates: list[str] = []

    def broken_add(obj: dynkube.ApiObject, is_initial: bool) -> None:
        raise RuntimeError(f"boom on {obj.metadata.name}")

    informer = Informer(configmaps, namespace)
    informer.add_handler(on_add=broken_add, on_update=lambda old, new: updates.append(new.metadata.name))
    with caplog.at_level(logging.ERROR, logger="dynkube.informer"), informer:
        assert informer.wait_for_sync(20)
        configmaps.create({"metadata": {"name": "cm"}}, namespace=namespace)
        configmaps.patch("cm", {"data": {"a": "1"}}, namespace=namespace)
        wait_for(lambda: updates == ["cm"], what="the update after a failing add")
    assert "boom on cm" in caplog.text and "add handler" in caplog.text


def test_resync_redelivers_every_object_as_an_update(configmaps: dynkube.ResourceClient, namespace: str) -> None:
    configmaps.create({"metadata": {"name": "cm"}}, namespace=namespace)
    recorder = Recorder()
    informer = Informer(configmaps, namespace, resync_period=0.3)
    informer.add_handler(**recorder.handlers())
    with informer:
        wait_for(lambda: ("update", f"{namespace}/cm") in {(e[0], e[1]) for e in recorder.log if e[3]},
                 what="a resync of cm")


def test_factory_shares_one_informer_among_handlers(client: dynkube.Client, configmaps: dynkube.ResourceClient,
                                                    namespace: str) -> None:
    first, second = Recorder(), Recorder()
    with SharedInformerFactory(client) as factory:
        informer = factory.informer("configmaps", namespace)
        assert factory.informer("cm", namespace) is informer
        assert factory.informer(configmaps, namespace, label_selector="a=b") is not informer
        informer.add_handler(**first.handlers())
        factory.start()
        informer.add_handler(**second.handlers())
        assert factory.wait_for_sync(20)
        configmaps.create({"metadata": {"name": "shared"}}, namespace=namespace)
        expected = server_state(configmaps, namespace)
        wait_for(lambda: first.model() == expected and second.model() == expected, what="both handlers")
    assert not [t for t in threading.enumerate() if t.name.startswith("dynkube-")], "stop() left threads behind"


def test_stop_joins_every_thread(configmaps: dynkube.ResourceClient, namespace: str) -> None:
    informer = Informer(configmaps, namespace, resync_period=5)
    informer.add_handler(on_add=lambda obj, initial: None)
    informer.start()
    assert informer.wait_for_sync(20)
    informer.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("dynkube-")]


@pytest.fixture
def fast_writer(kubeconfig_path: Path) -> Iterator[dynkube.Client]:
    """A client without client-side rate limiting, for the write load."""
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=False, qps=None) as writer:
        yield writer


def random_changes(resource: dynkube.ResourceClient, namespace: str, writer_id: int, changes: int,
                   done: list[tuple[str, str | None]]) -> None:
    """Create, update and delete objects of this writer's own names, ``changes`` times; append
    (key, resourceVersion written) to ``done`` (None for a delete)."""
    rng = random.Random(writer_id)
    alive: set[str] = set()
    for step in range(changes):
        name = f"w{writer_id}-{rng.randrange(12)}"
        if name not in alive:
            obj = resource.create({"metadata": {"name": name}, "data": {"step": str(step)}}, namespace=namespace)
            alive.add(name)
        elif rng.random() < 0.25:
            resource.delete(name, namespace=namespace)
            alive.discard(name)
            done.append((f"{namespace}/{name}", None))
            continue
        else:
            obj = resource.patch(name, {"data": {"step": str(step)}}, namespace=namespace)
        done.append((f"{namespace}/{name}", obj.metadata.resourceVersion))


def seen_once_each(recorder: Recorder, done: list[tuple[str, str | None]]) -> None:
    """Every write was notified exactly once: adds/updates by resourceVersion, deletes by count."""
    notified = collections.Counter((key, version) for kind, key, version, _ in recorder.log if kind != "delete")
    written = [(key, version) for key, version in done if version is not None]
    assert all(notified[w] == 1 for w in written), "a change was missed or delivered twice"
    deletes = collections.Counter(key for kind, key, _, _ in recorder.log if kind == "delete")
    assert deletes == collections.Counter(key for key, version in done if version is None)


def test_eight_writers_two_thousand_changes(fast_writer: dynkube.Client, configmaps: dynkube.ResourceClient,
                                            namespace: str) -> None:
    recorder = Recorder()
    informer = Informer(configmaps, namespace)
    informer.add_handler(**recorder.handlers())
    resource = fast_writer.resource("configmaps")
    done: list[tuple[str, str | None]] = []
    with informer:
        assert informer.wait_for_sync(20)
        writers = [threading.Thread(target=random_changes, args=(resource, namespace, i, 250, done))
                   for i in range(8)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        expected = server_state(configmaps, namespace)
        wait_for(lambda: store_state(informer) == expected and recorder.model() == expected, timeout=60,
                 what="the store and the handlers to converge")
    assert len(done) == 2000
    seen_once_each(recorder, done)
