"""Events of any object: ``events_for(client, obj)``, listing and watching, as ``kubectl events``.

Events are read from ``events.k8s.io/v1`` when the server serves it, else from core ``v1``; both
APIs are views of the same stored objects, so reading one of them sees every event. Both shapes
are understood (``regarding``/``note`` and ``involvedObject``/``message``) and become one ``Event``.
An object's events are matched by its uid (a field selector), so the events of an earlier object of
the same name are not shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, ResourceNotFound
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client, ResourceClient

EVENT_TYPES = ("Normal", "Warning")
_EPOCH = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True, slots=True)
class Event:
    """One event, whichever API it was read from. Times are aware datetimes (None when unset)."""

    namespace: str
    name: str
    type: str
    reason: str
    message: str
    object_kind: str
    object_name: str
    object_namespace: str
    object_uid: str
    count: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    source: str
    raw: ApiObject = field(compare=False, repr=False)

    @property
    def object(self) -> str:
        """``Kind/name`` of the object the event is about, as kubectl events' OBJECT column."""
        return f"{self.object_kind}/{self.object_name}"


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 timestamp of the API (``2024-01-02T03:04:05Z``, with or without micro-seconds)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def event_from(document: Mapping[str, Any]) -> Event:
    """An ``Event`` from an events.k8s.io/v1 or a core v1 Event document."""
    doc = ApiObject(document) if not isinstance(document, ApiObject) else document
    new = str(doc.get("apiVersion", "")).startswith("events.k8s.io/")
    about = (doc.get("regarding") if new else doc.get("involvedObject")) or {}
    metadata = doc.get("metadata") or {}
    series = doc.get("series") or {}
    prefix = "deprecated" if new else ""
    first = _key(prefix, "firstTimestamp")
    last = _key(prefix, "lastTimestamp")
    count = series.get("count") or doc.get(_key(prefix, "count")) or 1
    source = doc.get("reportingController") or (doc.get(_key(prefix, "source")) or {}).get("component") or ""
    event_time = parse_time(doc.get("eventTime"))
    last_seen = parse_time(series.get("lastObservedTime")) or parse_time(doc.get(last)) or event_time \
        or parse_time(metadata.get("creationTimestamp"))
    return Event(namespace=str(metadata.get("namespace") or ""), name=str(metadata.get("name") or ""),
                 type=str(doc.get("type") or ""), reason=str(doc.get("reason") or ""),
                 message=str((doc.get("note") if new else doc.get("message")) or "").strip(),
                 object_kind=str(about.get("kind") or ""), object_name=str(about.get("name") or ""),
                 object_namespace=str(about.get("namespace") or ""), object_uid=str(about.get("uid") or ""),
                 count=int(count), first_seen=parse_time(doc.get(first)) or event_time or last_seen,
                 last_seen=last_seen, source=str(source or doc.get("reportingComponent") or ""), raw=doc)


def _key(prefix: str, name: str) -> str:
    return prefix + name[0].upper() + name[1:] if prefix else name


def events_resource(client: Client) -> ResourceClient:
    """The resource events are read from: events.k8s.io/v1 if served, else core v1 events."""
    try:
        return client.resource("events.v1.events.k8s.io")
    except ResourceNotFound:
        return client.resource("v1", "Event")


def check_types(types: Iterable[str] | None) -> tuple[str, ...]:
    """Event types as kubectl events --types takes them (any case), checked before any request."""
    if types is None:
        return ()
    if isinstance(types, str):
        types = [types]
    out = []
    for value in types:
        match = next((t for t in EVENT_TYPES if isinstance(value, str) and t.lower() == value.lower()), None)
        if match is None:
            raise InvalidInput(f"unknown event type {value!r}; expected one of: {', '.join(EVENT_TYPES)}")
        out.append(match)
    return tuple(out)


def _about(obj: Mapping[str, Any]) -> tuple[str, str | None]:
    """The uid and namespace (None: every namespace, e.g. for a Node) of the object events are for."""
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    uid = metadata.get("uid") if isinstance(metadata, Mapping) else None
    if not isinstance(uid, str) or not uid:
        raise InvalidInput(f"events of {obj.get('kind', '?') if isinstance(obj, Mapping) else obj!r}: the object "
                           "has no metadata.uid (read it from the server first)")
    return uid, metadata.get("namespace") or None  # type: ignore[union-attr]


def list_events(client: Client, namespace: str | None = None, *, all_namespaces: bool = False,
                for_object: Mapping[str, Any] | None = None, types: Iterable[str] | None = None) -> list[Event]:
    """Events of a namespace (or every namespace), oldest first by their last time seen, as kubectl events.

    ``for_object``: only the events about this object (matched by uid; in its namespace, or in every
    namespace for a cluster-scoped object). ``types``: only these types (``"Warning"``, ``"Normal"``).
    """
    wanted = check_types(types)
    rc = events_resource(client)
    selector, namespace, all_namespaces = _scope(rc, for_object, namespace, all_namespaces)
    events = [event_from(item) for item in rc.list(namespace, all_namespaces=all_namespaces,
                                                    field_selector=selector)]
    return sort_events(e for e in events if not wanted or e.type in wanted)


def events_for(client: Client, obj: Mapping[str, Any], *, types: Iterable[str] | None = None) -> list[Event]:
    """The events about ``obj`` (any kind; matched by its uid), oldest first."""
    return list_events(client, for_object=obj, types=types)


def watch_events(client: Client, namespace: str | None = None, *, all_namespaces: bool = False,
                 for_object: Mapping[str, Any] | None = None, types: Iterable[str] | None = None) -> Iterator[Event]:
    """Follow events as they are added or updated (resuming after drops), as ``kubectl events --watch``:
    first the current ones, then each new or repeated one. Stops when the caller stops iterating."""
    wanted = check_types(types)
    rc = events_resource(client)
    selector, namespace, all_namespaces = _scope(rc, for_object, namespace, all_namespaces)
    with rc.watch(namespace, all_namespaces=all_namespaces, field_selector=selector, resume=True) as watch:
        for change in watch:
            if change.type not in ("ADDED", "MODIFIED"):
                continue
            event = event_from(change.object)
            if not wanted or event.type in wanted:
                yield event


def _scope(rc: ResourceClient, for_object: Mapping[str, Any] | None, namespace: str | None,
           all_namespaces: bool) -> tuple[str | None, str | None, bool]:
    """The field selector and namespace of a read of events (about one object: by its uid)."""
    if for_object is None:
        return None, namespace, all_namespaces
    uid, object_namespace = _about(for_object)
    about = "regarding" if rc.group == "events.k8s.io" else "involvedObject"
    return f"{about}.uid={uid}", object_namespace, object_namespace is None


def sort_events(events: Iterable[Event]) -> list[Event]:
    """Oldest first by last time seen (kubectl events' order), then by name."""
    return sorted(events, key=lambda e: (e.last_seen or _EPOCH, e.name))
