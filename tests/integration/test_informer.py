"""Informers against the real server: sync, handlers, indexes, resync, sharing, concurrent writers.

Each test that takes ``each_tools`` runs twice: with the sync ``dynkube.informer.Informer`` over the
sync client, then with ``dynkube.aio.Informer`` over an asyncio client (through the bridge). The
shared-informer factory and the informer's threads are the sync informer's only.
Informers select the test label, so objects the control plane adds to a fresh namespace
(kube-root-ca.crt) do not race with the assertions."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.informer import Informer, SharedInformerFactory

from ..support.bridge import BridgedTools, SyncTools
from ..faults.watchkit import (SELECTOR, Recorder, assert_seen_once_each, converged, labelled, run_writers,
                               server_state, store_state, wait_for)


@pytest.fixture
def configmaps(client: dynkube.Client) -> dynkube.ResourceClient:
    return client.resource("configmaps")


@pytest.fixture
def each_configmaps(each_client: Any) -> Any:
    """Config maps of each client in turn (sync, then asyncio through the bridge)."""
    return each_client.resource("configmaps")


Tools = SyncTools | BridgedTools


def informer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("dynkube-")]


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "list-then-watch"])
def test_store_follows_the_server_and_handlers_see_each_change(each_configmaps: Any, each_tools: Tools,
                                                               namespace: str, watch_list: bool) -> None:
    configmaps = each_configmaps
    for i in range(3):
        configmaps.create(labelled(f"before-{i}"), namespace=namespace)
    recorder = Recorder()
    informer = each_tools.Informer(configmaps, namespace, label_selector=SELECTOR, use_watch_list=watch_list)
    informer.add_handler(**recorder.handlers())
    with informer:
        assert informer.wait_for_sync(20)
        assert store_state(informer) == server_state(configmaps, namespace)
        initial = recorder.entries("add")
        assert sorted(key for _, key, _, _ in initial) == [f"{namespace}/before-{i}" for i in range(3)]
        assert all(is_initial for *_, is_initial in initial)

        created = configmaps.create(labelled("later"), namespace=namespace)
        updated = configmaps.patch("later", {"data": {"k": "v"}}, namespace=namespace)
        configmaps.delete("later", namespace=namespace)
        deleted = ("delete", f"{namespace}/later", None, False)  # the end state equals the start: wait for the event
        wait_for(lambda: deleted in recorder.entries() and converged(informer, recorder, configmaps, namespace),
                 what="the informer to catch up")
    assert informer.uses_watch_list is watch_list
    later = [entry for entry in recorder.entries() if entry[1] == f"{namespace}/later"]
    assert later == [("add", f"{namespace}/later", created.metadata.resourceVersion, False),
                     ("update", f"{namespace}/later", updated.metadata.resourceVersion, False),
                     ("delete", f"{namespace}/later", None, False)]


def test_auto_mode_uses_streaming_lists_on_a_current_server(each_configmaps: Any, each_tools: Tools,
                                                            namespace: str) -> None:
    with each_tools.Informer(each_configmaps, namespace) as informer:
        assert informer.wait_for_sync(20)
        assert informer.uses_watch_list is True


def test_bad_arguments_are_refused_before_any_request(each_configmaps: Any, each_tools: Tools) -> None:
    with pytest.raises(dynkube.InvalidInput, match="resync_period"):
        each_tools.Informer(each_configmaps, resync_period=-1)
    with pytest.raises(dynkube.InvalidInput, match="selector"):
        each_tools.Informer(each_configmaps, label_selector=42)
    with pytest.raises(dynkube.InvalidInput, match="on_update must be callable"):
        each_tools.Informer(each_configmaps).add_handler(on_update="print")
    with pytest.raises(dynkube.InvalidInput, match="transform must be callable"):
        each_tools.Informer(each_configmaps, transform="strip")


@pytest.mark.parametrize("watch_list", [True, False], ids=["streaming-list", "list-then-watch"])
def test_a_transform_strips_managed_fields_from_the_store_and_the_handlers(each_configmaps: Any, each_tools: Tools,
                                                                           namespace: str, watch_list: bool) -> None:
    made = each_configmaps.create(labelled("listed"), namespace=namespace)
    assert made.metadata.managedFields  # what the server keeps, and the transform takes out
    updates: list[dynkube.ApiObject] = []
    informer = each_tools.Informer(each_configmaps, namespace, label_selector=SELECTOR, use_watch_list=watch_list,
                                   transform=dynkube.strip_managed_fields)
    informer.add_handler(on_update=lambda old, new: updates.append(new))
    with informer:
        assert informer.wait_for_sync(20)
        changed = each_configmaps.patch("listed", {"data": {"k": "v"}}, namespace=namespace)
        wait_for(lambda: any(u.metadata.resourceVersion == changed.metadata.resourceVersion for u in updates),
                 what="the update's event")
        stored = informer.get("listed", namespace)
    assert stored is not None and stored.data.k == "v" and stored.metadata.uid == made.metadata.uid
    assert "managedFields" not in stored.metadata and not any("managedFields" in u.metadata for u in updates)


def test_custom_and_namespace_indexes(each_configmaps: Any, each_tools: Tools, namespace: str) -> None:
    configmaps = each_configmaps

    def by_tier(obj: dynkube.ApiObject) -> list[str]:
        return [obj.metadata.labels.get("tier", "none")]

    def tiered(name: str, tier: str) -> dict[str, object]:
        body = labelled(name)
        body["metadata"]["labels"]["tier"] = tier  # type: ignore[index]
        return body

    configmaps.create({"metadata": {"name": "unlabelled", "labels": {"tier": "web"}}}, namespace=namespace)
    with each_tools.Informer(configmaps, all_namespaces=True, label_selector=SELECTOR, indexers={"tier": by_tier},
                             field_selector={"metadata.namespace": namespace}) as informer:  # a shared cluster
        configmaps.create(tiered("b", "web"), namespace=namespace)
        configmaps.create(tiered("c", "db"), namespace=namespace)
        assert informer.wait_for_sync(20)
        wait_for(lambda: len(informer.store.by_index("namespace", namespace)) == 2, what="both objects")
        assert [o.metadata.name for o in informer.store.by_index("tier", "web")] == ["b"]
        configmaps.patch("b", {"metadata": {"labels": {"tier": "db"}}}, namespace=namespace)
        wait_for(lambda: not informer.store.by_index("tier", "web"), what="the index to follow the update")
        assert sorted(o.metadata.name for o in informer.store.by_index("tier", "db")) == ["b", "c"]
        stored = informer.get("b", namespace)
        assert stored is not None and stored.metadata.labels.tier == "db"


def test_handler_added_after_sync_first_gets_every_stored_object(each_configmaps: Any, each_tools: Tools,
                                                                 namespace: str) -> None:
    for i in range(4):
        each_configmaps.create(labelled(f"cm-{i}"), namespace=namespace)
    with each_tools.Informer(each_configmaps, namespace, label_selector=SELECTOR) as informer:
        assert informer.wait_for_sync(20)
        late = Recorder()
        registration = informer.add_handler(**late.handlers())
        wait_for(registration.has_synced, what="the late handler to sync")
        assert late.model() == store_state(informer) and len(late.model()) == 4
        assert all(entry[0] == "add" and entry[3] for entry in late.entries())


def test_failing_handler_is_logged_and_later_events_still_arrive(each_configmaps: Any, each_tools: Tools,
                                                                 namespace: str,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    configmaps = each_configmaps
    updates: list[str] = []

    def broken_add(obj: dynkube.ApiObject, is_initial: bool) -> None:
        raise RuntimeError(f"boom on {obj.metadata.name}")

    informer = each_tools.Informer(configmaps, namespace, label_selector=SELECTOR)
    informer.add_handler(on_add=broken_add, on_update=lambda old, new: updates.append(new.metadata.name))
    with caplog.at_level(logging.ERROR, logger="dynkube"), informer:  # dynkube.informer, dynkube.aio.informer
        assert informer.wait_for_sync(20)
        configmaps.create(labelled("cm"), namespace=namespace)
        configmaps.patch("cm", {"data": {"a": "1"}}, namespace=namespace)
        wait_for(lambda: updates == ["cm"], what="the update after a failing add")
    assert "boom on cm" in caplog.text and "add handler" in caplog.text


def test_resync_redelivers_every_object_as_an_update(each_configmaps: Any, each_tools: Tools,
                                                     namespace: str) -> None:
    each_configmaps.create(labelled("cm"), namespace=namespace)
    recorder = Recorder()
    informer = each_tools.Informer(each_configmaps, namespace, label_selector=SELECTOR, resync_period=0.3)
    informer.add_handler(**recorder.handlers())
    with informer:
        wait_for(lambda: any(key == f"{namespace}/cm" and resync for _, key, _, resync in recorder.entries("update")),
                 what="a resync of cm")


def test_factory_shares_one_informer_among_handlers(client: dynkube.Client, configmaps: dynkube.ResourceClient,
                                                    namespace: str) -> None:
    first, second = Recorder(), Recorder()
    with SharedInformerFactory(client) as factory:
        informer = factory.informer("configmaps", namespace, label_selector=SELECTOR)
        assert factory.informer("cm", namespace, label_selector={"dynkube-test": "watch"}) is informer
        assert factory.informer(configmaps, namespace) is not informer
        informer.add_handler(**first.handlers())
        factory.start()
        informer.add_handler(**second.handlers())
        assert factory.wait_for_sync(20)
        configmaps.create(labelled("shared"), namespace=namespace)
        wait_for(lambda: first.model() == second.model() == server_state(configmaps, namespace) != {},
                 what="both handlers")
        assert len([t for t in informer_threads() if t.name == "dynkube-informer-configmaps"]) == 2  # 2 informers
    assert not informer_threads(), "stop() left threads behind"


def test_the_factory_gives_its_transform_to_every_informer(client: dynkube.Client, configmaps: dynkube.ResourceClient,
                                                           namespace: str) -> None:
    configmaps.create(labelled("one"), namespace=namespace)
    with SharedInformerFactory(client, transform=dynkube.strip_managed_fields) as factory:
        informers = [factory.informer("configmaps", namespace, label_selector=SELECTOR),
                     factory.informer("configmaps", namespace, field_selector="metadata.name=one")]
        factory.start()
        assert factory.wait_for_sync(20)
        stored = [informer.get("one", namespace) for informer in informers]
    assert all(obj is not None and "managedFields" not in obj.metadata for obj in stored)


def test_stop_joins_every_thread(configmaps: dynkube.ResourceClient, namespace: str) -> None:
    informer = Informer(configmaps, namespace, resync_period=5)
    informer.add_handler(on_add=lambda obj, initial: None)
    informer.start()
    assert informer.wait_for_sync(20)
    assert informer_threads()
    informer.stop()
    assert not informer_threads()


@pytest.fixture
def fast_writer(kubeconfig_path: Path) -> Iterator[dynkube.Client]:
    """A client without client-side rate limiting, for the write load."""
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=False, qps=None) as writer:
        yield writer


def test_eight_writers_two_thousand_changes(fast_writer: dynkube.Client, configmaps: dynkube.ResourceClient,
                                            each_configmaps: Any, each_tools: Tools, namespace: str) -> None:
    recorder = Recorder()
    informer = each_tools.Informer(each_configmaps, namespace, label_selector=SELECTOR)
    informer.add_handler(**recorder.handlers())
    with informer:
        assert informer.wait_for_sync(20)
        done = run_writers(fast_writer.resource("configmaps"), namespace, writers=8, changes_each=250)
        wait_for(lambda: converged(informer, recorder, configmaps, namespace), timeout=60,
                 what="the store and the handlers to converge")
    assert len(done) == 2000
    assert_seen_once_each(recorder, done)
