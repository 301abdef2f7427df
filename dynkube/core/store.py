"""An informer's bookkeeping, without I/O: what each list and watch event does to its store, and what
its handlers are to be told (the decisions of client-go's reflector and shared informer, without threads).

An informer owns the connections and the threads (or tasks); it feeds ``StoreSync`` each full list and
each watch event it receives, under its own lock, and delivers the ``Notice``s it gets back in order.
A ``Transform`` (client-go's ``TransformFunc``) changes each object before it is stored or told:
``strip_managed_fields`` is the common one.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from ..objects import ApiObject
from .watchstream import EventType, WatchEvent


class Note(enum.StrEnum):
    """What a handler is told: ``ADD(obj, is_initial_list)``, ``UPDATE(old, new)``, ``DELETE(obj or
    DeletedFinalStateUnknown)``, or ``SYNCED()`` once the initial list has been told."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"
    SYNCED = "synced"


class Notice(NamedTuple):
    """One notification to deliver to every handler: the note and its arguments."""

    note: Note
    args: tuple[Any, ...] = ()


class DeletedFinalStateUnknown(NamedTuple):
    """Given to ``on_delete`` for an object deleted while the watch was down: ``obj`` is the last
    state the informer knew, not the state at deletion."""

    key: str
    obj: ApiObject


class Objects(Protocol):
    """What ``StoreSync`` needs of a store (``dynkube.informer.Store`` is one)."""

    def keys(self) -> builtins.list[str]: ...

    def get(self, key: str) -> ApiObject | None: ...

    def list(self) -> builtins.list[ApiObject]: ...

    def put(self, key: str, obj: ApiObject) -> ApiObject | None: ...

    def remove(self, key: str) -> ApiObject | None: ...


Transform = Callable[[ApiObject], Mapping[str, Any]]
"""What an informer keeps of each object it receives (it must keep the metadata's name, namespace,
uid and resourceVersion); it may change the object in place and return it."""


def strip_managed_fields(obj: ApiObject) -> ApiObject:
    """A ``Transform`` that drops ``metadata.managedFields`` (the field managers' records, often most
    of an object's metadata), in place, as controller-runtime's ``TransformStripManagedFields``."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj


def object_key(obj: Mapping[str, Any]) -> str:
    """The store key of an object: ``namespace/name``, or ``name`` when cluster-scoped."""
    metadata = obj["metadata"]
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata['name']}" if namespace else metadata["name"]


class StoreSync:
    """Keeps a store equal to the server's objects, list by list and event by event, and returns what
    to notify. Not thread-safe: the caller serialises calls and delivers each answer before the next."""

    def __init__(self, store: Objects, transform: Transform | None = None) -> None:
        self.store = store
        self._transform = transform
        self.synced = False  # True once a full list (or a streaming list's initial events) was applied
        self._initial: dict[str, ApiObject] | None = None  # a streaming list's objects, until its end

    def listed(self, objects: Mapping[str, ApiObject]) -> list[Notice]:
        """Make the store equal a full list (keyed by ``object_key``, each object as ``unchanged``
        gave it): each difference notified, an object that vanished as a ``DeletedFinalStateUnknown``,
        one re-created under its name (another uid) as a delete and an add. The first list is all
        adds, flagged initial, then ``SYNCED``."""
        initial = not self.synced
        self._initial = None  # a full list ends any streaming list begun before
        notices = [Notice(Note.DELETE, (DeletedFinalStateUnknown(key, gone),))
                   for key in [k for k in self.store.keys() if k not in objects]
                   if (gone := self.store.remove(key)) is not None]
        for key, obj in objects.items():
            if self.store.get(key) is obj:  # kept by ``unchanged``: nothing to store or tell
                continue
            old = self.store.put(key, obj)
            if old is None:
                notices.append(Notice(Note.ADD, (obj, initial)))
            elif _uid(old) != _uid(obj):
                notices += [Notice(Note.DELETE, (DeletedFinalStateUnknown(key, old),)), Notice(Note.ADD, (obj, False))]
            elif _version(old) != _version(obj):
                notices.append(Notice(Note.UPDATE, (old, obj)))
        if initial:
            notices.append(Notice(Note.SYNCED))
            self.synced = True
        return notices

    def unchanged(self, key: str, obj: ApiObject) -> ApiObject:
        """The stored object under ``key`` if ``obj`` is the same state of it (same uid and
        resourceVersion), else ``obj`` transformed. An informer keeps a list's objects through this,
        so that what did not change is held once, not twice, until the list is applied (it only
        reads the store: the one thread that changes it may call it without the informer's lock)."""
        old = self.store.get(key)
        if old is not None and _version(old) == _version(obj) and _uid(old) == _uid(obj):
            return old
        return self._admitted(obj)

    def _admitted(self, obj: ApiObject) -> ApiObject:
        """``obj`` as the store keeps it: transformed, when there is a transform."""
        if self._transform is None:
            return obj
        kept = self._transform(obj)
        return kept if type(kept) is ApiObject else ApiObject(kept)

    @property
    def listing(self) -> bool:
        """True while a streaming list's initial events are being gathered."""
        return self._initial is not None

    def stream_started(self) -> None:
        """A streaming list begins: its initial ADDED events are gathered, then applied as one list."""
        self._initial = {}

    def event(self, event: WatchEvent) -> list[Notice]:
        """Apply one watch event; during a streaming list's initial events, gather them instead (the
        bookmark that ends them applies the whole list)."""
        if self._initial is not None:
            if event.is_initial_events_end:
                objects, self._initial = self._initial, None
                return self.listed(objects)
            if event.type is EventType.ADDED:
                key = object_key(event.object)
                self._initial[key] = self.unchanged(key, event.object)
            return []
        return self.apply(event.type, event.object)

    def apply(self, kind: EventType, obj: ApiObject) -> list[Notice]:
        """One change: ADDED or MODIFIED stores the object (an add, or an update of the one it
        replaced), DELETED forgets it (notified only if it was known), BOOKMARK changes nothing."""
        if kind is EventType.BOOKMARK:
            return []
        obj = self._admitted(obj)
        key = object_key(obj)
        if kind is EventType.DELETED:
            return [Notice(Note.DELETE, (obj,))] if self.store.remove(key) is not None else []
        old = self.store.put(key, obj)
        return [Notice(Note.ADD, (obj, False))] if old is None else [Notice(Note.UPDATE, (old, obj))]

    def resync(self) -> list[Notice]:
        """A periodic resync: ``UPDATE(obj, obj)`` for every stored object, once synced."""
        return [Notice(Note.UPDATE, (obj, obj)) for obj in self.store.list()] if self.synced else []


def _uid(obj: ApiObject) -> Any:
    return obj["metadata"].get("uid")


def _version(obj: ApiObject) -> Any:
    return obj["metadata"].get("resourceVersion")
