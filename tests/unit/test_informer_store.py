"""The informer's store and indexes, and informer input checks (no server involved)."""

from __future__ import annotations

import logging

import pytest

import dynkube
from dynkube.informer import NAMESPACE_INDEX, DeletedFinalStateUnknown, Informer, Store, object_key
from dynkube.resources import Resource


def obj(name: str, namespace: str | None = "a", **labels: str) -> dynkube.ApiObject:
    metadata = {"name": name, "labels": labels, "resourceVersion": "1"}
    if namespace:
        metadata["namespace"] = namespace
    return dynkube.ApiObject({"metadata": metadata})


def by_app(o: dynkube.ApiObject) -> list[str]:
    return [o["metadata"]["labels"]["app"]] if "app" in o["metadata"]["labels"] else []


def test_keys_are_namespace_slash_name_or_name() -> None:
    assert object_key(obj("x", "ns")) == "ns/x"
    assert object_key(obj("node-1", None)) == "node-1"


def test_namespace_index_is_built_in() -> None:
    store = Store()
    for o in (obj("x", "a"), obj("y", "a"), obj("z", "b"), obj("n", None)):
        store.put(object_key(o), o)
    assert sorted(o.metadata.name for o in store.by_index(NAMESPACE_INDEX, "a")) == ["x", "y"]
    assert sorted(store.index_values(NAMESPACE_INDEX)) == ["a", "b"]


def test_custom_index_follows_updates_and_removals() -> None:
    store = Store({"app": by_app})
    store.put("a/x", obj("x", app="web"))
    store.put("a/y", obj("y", app="web"))
    store.put("a/x", obj("x", app="db"))
    assert [o.metadata.name for o in store.by_index("app", "web")] == ["y"]
    assert [o.metadata.name for o in store.by_index("app", "db")] == ["x"]
    store.remove("a/y")
    assert store.index_values("app") == ["db"]
    assert store.by_index("app", "web") == []


def test_index_added_later_covers_stored_objects() -> None:
    store = Store()
    store.put("a/x", obj("x", app="web"))
    store.add_indexer("app", by_app)
    assert [o.metadata.name for o in store.by_index("app", "web")] == ["x"]


def test_failing_index_function_leaves_object_out_of_that_index_only(caplog: pytest.LogCaptureFixture) -> None:
    store = Store({"broken": lambda o: [o["spec"]["missing"]]})
    with caplog.at_level(logging.ERROR, logger="dynkube.informer"):
        store.put("a/x", obj("x"))
    assert store.get("a/x") is not None and store.by_index("broken", "anything") == []
    assert "index function 'broken' failed" in caplog.text


def test_put_and_remove_return_what_was_there() -> None:
    store = Store()
    first, second = obj("x"), obj("x")
    assert store.put("a/x", first) is None
    assert store.put("a/x", second) is first
    assert store.remove("a/x") is second
    assert store.remove("a/x") is None and len(store) == 0


@pytest.mark.parametrize("name, func", [("", by_app), ("app", "not callable"), (NAMESPACE_INDEX, by_app)])
def test_bad_indexers_are_refused(name: str, func: object) -> None:
    with pytest.raises(dynkube.InvalidInput):
        Store().add_indexer(name, func)  # type: ignore[arg-type]


def test_unknown_index_names_the_known_ones() -> None:
    with pytest.raises(dynkube.InvalidInput, match="namespace"):
        Store().by_index("nope", "x")


def test_tombstone_carries_key_and_last_known_state() -> None:
    last = obj("x")
    tombstone = DeletedFinalStateUnknown("a/x", last)
    assert tombstone.key == "a/x" and tombstone.obj is last


# ---- informer input checks --------------------------------------------------------------

@pytest.fixture
def configmaps() -> dynkube.ResourceClient:
    client = dynkube.Client(dynkube.Config(server="https://127.0.0.1:9"), cache_dir=False)
    resource = Resource(group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap",
                        namespaced=True, verbs=frozenset({"list", "watch"}))
    return dynkube.ResourceClient(client, resource)


@pytest.mark.parametrize("kwargs", [{"resync_period": 0}, {"resync_period": "1"}, {"use_watch_list": "yes"},
                                    {"label_selector": 3}, {"timeout_seconds": -1}, {"indexers": {"x": 1}}])
def test_bad_informer_arguments_are_refused(configmaps: dynkube.ResourceClient, kwargs: dict[str, object]) -> None:
    with pytest.raises(dynkube.InvalidInput):
        Informer(configmaps, "ns", **kwargs)  # type: ignore[arg-type]


def test_handlers_must_be_callable(configmaps: dynkube.ResourceClient) -> None:
    with pytest.raises(dynkube.InvalidInput, match="on_update must be callable"):
        Informer(configmaps, "ns").add_handler(on_update="print")  # type: ignore[arg-type]


def test_informer_needs_list_and_watch_verbs(configmaps: dynkube.ResourceClient) -> None:
    no_watch = dynkube.ResourceClient(configmaps.client, Resource(
        group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap", namespaced=True,
        verbs=frozenset({"list"})))
    with pytest.raises(dynkube.InvalidInput, match="watch"):
        Informer(no_watch, "ns")
