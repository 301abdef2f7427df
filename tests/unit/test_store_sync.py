"""What an informer does to its store for each list and watch event, and what it tells its handlers
(dynkube.core.store.StoreSync): no server, no threads."""

from __future__ import annotations

import dynkube
from dynkube.core.store import DeletedFinalStateUnknown, Note, Notice, StoreSync, strip_managed_fields
from dynkube.core.watchstream import INITIAL_EVENTS_END, EventType, WatchEvent
from dynkube.informer import Store


def cm(name: str, version: str = "1", uid: str | None = None) -> dynkube.ApiObject:
    return dynkube.ApiObject({"metadata": {"name": name, "namespace": "ns", "resourceVersion": version,
                                           "uid": uid or f"uid-{name}"}})


def end_of_initial_events() -> WatchEvent:
    return WatchEvent(EventType.BOOKMARK, dynkube.ApiObject({"metadata": {
        "resourceVersion": "9", "annotations": {INITIAL_EVENTS_END: "true"}}}))


def synced(*objects: dynkube.ApiObject) -> StoreSync:
    sync = StoreSync(Store())
    sync.listed({f"ns/{o.metadata.name}": o for o in objects})
    return sync


def test_the_first_list_is_all_initial_adds_then_synced() -> None:
    a, b = cm("a"), cm("b")
    sync = StoreSync(Store())
    assert not sync.synced
    assert sync.listed({"ns/a": a, "ns/b": b}) == [Notice(Note.ADD, (a, True)), Notice(Note.ADD, (b, True)),
                                                   Notice(Note.SYNCED)]
    assert sync.synced and sorted(sync.store.keys()) == ["ns/a", "ns/b"]


def test_a_relist_notifies_only_the_differences() -> None:
    kept, changed, gone, recreated = cm("kept"), cm("changed"), cm("gone"), cm("recreated")
    sync = synced(kept, changed, gone, recreated)
    changed2, recreated2, new = cm("changed", "2"), cm("recreated", "3", uid="other"), cm("new")
    notices = sync.listed({"ns/kept": cm("kept"), "ns/changed": changed2, "ns/recreated": recreated2, "ns/new": new})
    assert notices == [
        Notice(Note.DELETE, (DeletedFinalStateUnknown("ns/gone", gone),)),
        Notice(Note.UPDATE, (changed, changed2)),
        Notice(Note.DELETE, (DeletedFinalStateUnknown("ns/recreated", recreated),)),
        Notice(Note.ADD, (recreated2, False)),
        Notice(Note.ADD, (new, False)),
    ]
    assert sorted(sync.store.keys()) == ["ns/changed", "ns/kept", "ns/new", "ns/recreated"]


def test_watch_events_add_update_and_delete() -> None:
    sync = synced()
    a, a2 = cm("a"), cm("a", "2")
    assert sync.event(WatchEvent(EventType.ADDED, a)) == [Notice(Note.ADD, (a, False))]
    assert sync.event(WatchEvent(EventType.MODIFIED, a2)) == [Notice(Note.UPDATE, (a, a2))]
    assert sync.event(WatchEvent(EventType.DELETED, a2)) == [Notice(Note.DELETE, (a2,))]
    assert sync.store.keys() == []


def test_a_delete_of_an_unknown_object_and_a_bookmark_notify_nothing() -> None:
    sync = synced(cm("a"))
    assert sync.event(WatchEvent(EventType.DELETED, cm("never-seen"))) == []
    assert sync.event(WatchEvent(EventType.BOOKMARK, dynkube.ApiObject({"metadata": {"resourceVersion": "5"}}))) == []
    assert sync.store.keys() == ["ns/a"]


def test_a_streaming_lists_initial_events_are_applied_as_one_list_at_their_end() -> None:
    stale, a, b = cm("stale"), cm("a"), cm("b")
    sync = synced(stale)
    sync.stream_started()
    assert sync.event(WatchEvent(EventType.ADDED, a)) == []
    assert sync.event(WatchEvent(EventType.ADDED, b)) == []
    assert sync.store.keys() == ["ns/stale"] and sync.listing  # nothing applied before their end
    assert sync.event(end_of_initial_events()) == [
        Notice(Note.DELETE, (DeletedFinalStateUnknown("ns/stale", stale),)),
        Notice(Note.ADD, (a, False)), Notice(Note.ADD, (b, False))]
    a2 = cm("a", "2")
    assert sync.event(WatchEvent(EventType.MODIFIED, a2)) == [Notice(Note.UPDATE, (a, a2))]


def test_the_first_streaming_list_syncs() -> None:
    a = cm("a")
    sync = StoreSync(Store())
    sync.stream_started()
    sync.event(WatchEvent(EventType.ADDED, a))
    assert sync.event(end_of_initial_events()) == [Notice(Note.ADD, (a, True)), Notice(Note.SYNCED)]
    assert sync.synced


def test_a_resync_updates_every_object_with_itself_once_synced() -> None:
    unsynced = StoreSync(Store())
    unsynced.apply(EventType.ADDED, cm("early"))
    assert unsynced.resync() == []
    a, b = cm("a"), cm("b")
    assert synced(a, b).resync() == [Notice(Note.UPDATE, (a, a)), Notice(Note.UPDATE, (b, b))]


def test_a_full_list_ends_a_streaming_list_left_unfinished() -> None:
    sync = synced()
    sync.stream_started()  # the server refused the streaming list: the informer lists instead
    assert sync.listing
    sync.listed({})
    a = cm("a")
    assert not sync.listing and sync.event(WatchEvent(EventType.ADDED, a)) == [Notice(Note.ADD, (a, False))]


def test_a_relist_keeps_the_stored_object_of_what_did_not_change() -> None:
    kept, changed = cm("kept"), cm("changed")
    sync = synced(kept, changed)
    kept_again, changed2 = cm("kept"), cm("changed", "2")
    assert sync.unchanged("ns/kept", kept_again) is kept
    assert sync.unchanged("ns/changed", changed2) is changed2
    sync.stream_started()
    for obj in (kept_again, changed2):
        assert sync.event(WatchEvent(EventType.ADDED, obj)) == []
    assert sync.event(end_of_initial_events()) == [Notice(Note.UPDATE, (changed, changed2))]
    assert sync.store.get("ns/kept") is kept and sync.store.get("ns/changed") is changed2


def test_an_object_recreated_under_its_name_is_not_unchanged() -> None:
    sync = synced(cm("a", "5"))
    recreated = cm("a", "5", uid="other")  # the same resourceVersion cannot happen; the uid is checked anyway
    assert sync.unchanged("ns/a", recreated) is recreated
    assert sync.unchanged("ns/b", cm("b")).metadata.name == "b"


def managed(name: str, version: str = "1") -> dynkube.ApiObject:
    obj = cm(name, version)
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply"}]
    return obj


def test_a_transform_changes_what_is_stored_and_told_from_lists_and_events() -> None:
    sync = StoreSync(Store(), transform=strip_managed_fields)
    listed = sync.unchanged("ns/a", managed("a"))
    assert "managedFields" not in listed.metadata
    sync.listed({"ns/a": listed})
    added, modified = sync.event(WatchEvent(EventType.ADDED, managed("b"))), \
        sync.event(WatchEvent(EventType.MODIFIED, managed("a", "2")))
    deleted = sync.event(WatchEvent(EventType.DELETED, managed("b", "3")))
    told = [added[0].args[0], modified[0].args[1], deleted[0].args[0]]
    assert [o.metadata.name for o in told] == ["b", "a", "b"]
    assert not any("managedFields" in o.metadata for o in told + sync.store.list())


def test_what_did_not_change_is_not_transformed_again() -> None:
    calls: list[str] = []

    def counting(obj: dynkube.ApiObject) -> dict[str, object]:
        calls.append(obj.metadata.name)
        return dict(obj)  # a plain mapping is kept as an ApiObject

    sync = StoreSync(Store(), transform=counting)
    first = sync.unchanged("ns/a", cm("a"))
    sync.listed({"ns/a": first})
    assert type(first) is dynkube.ApiObject and sync.unchanged("ns/a", cm("a")) is first
    assert calls == ["a"]


def test_strip_managed_fields_keeps_the_rest_of_the_object() -> None:
    obj = managed("a")
    assert strip_managed_fields(obj) is obj
    assert obj == cm("a")
    assert strip_managed_fields(dynkube.ApiObject({"kind": "Status"})) == {"kind": "Status"}  # no metadata
