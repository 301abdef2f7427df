"""Informers: a local copy of one resource's objects, kept current by list + watch, with indexes,
event handlers and periodic resync (client-go's tools/cache, with threads).

One reflector thread lists (a streaming list when the server supports it, else a paginated list)
and then watches with resume, applying each change to the ``Store`` and queueing one notification
per handler. Each handler has its own thread, so a slow or failing handler delays nobody else. On
410 Gone the informer lists again and notifies only the differences; objects that vanished
meanwhile are announced as deleted with a ``DeletedFinalStateUnknown`` tombstone.
"""

from __future__ import annotations

import builtins
import collections
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .core import calls
from .core.store import DeletedFinalStateUnknown as DeletedFinalStateUnknown  # the name users import from here
from .core.store import Note, Notice, StoreSync, Transform, object_key
from .errors import BadRequest, DynkubeError, Gone, Invalid, InvalidInput
from .objects import ApiObject
from .transport import CancelScope
from . import verbs
from .watch import DEFAULT_BACKOFF, IDLE_TIMEOUT, Backoff, Watch, WatchEvent

if TYPE_CHECKING:
    from .client import Client, ResourceClient

log = logging.getLogger(__name__)

NAMESPACE_INDEX = "namespace"
WATCH_LIST_SINCE = (1, 34)  # streaming lists are on by default from this server version
PAGE_SIZE = 500

IndexFunc = Callable[[ApiObject], Iterable[str]]
AddHandler = Callable[[ApiObject, bool], Any]
UpdateHandler = Callable[[ApiObject, ApiObject], Any]
DeleteHandler = Callable[[Any], Any]


def _namespace_index(obj: ApiObject) -> list[str]:
    namespace = obj["metadata"].get("namespace")
    return [namespace] if namespace else []


class Store:
    """Objects by key, with named indexes; safe to read from any thread. Objects are shared with
    the handlers: treat them as read-only (copy before changing)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, ApiObject] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: _namespace_index}
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        for name, func in (indexers or {}).items():
            self.add_indexer(name, func)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __repr__(self) -> str:
        return f"<Store of {len(self._items)} objects, indexes {sorted(self._indexers)}>"

    def get(self, key: str) -> ApiObject | None:
        """The object under ``key`` (see ``object_key``), or None."""
        return self._items.get(key)

    def keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def list(self) -> list[ApiObject]:
        with self._lock:
            return list(self._items.values())

    def by_index(self, index: str, value: str) -> builtins.list[ApiObject]:
        """The objects whose index function returned ``value`` for ``index``."""
        with self._lock:
            keys = self._index(index).get(value, ())
            return [self._items[k] for k in keys]

    def index_values(self, index: str) -> builtins.list[str]:
        """Every value ``index`` currently holds objects under."""
        with self._lock:
            return [value for value, keys in self._index(index).items() if keys]

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        """Add an index (objects already stored are indexed at once)."""
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"an index name must be a non-empty string, not {name!r}")
        if not callable(func):
            raise InvalidInput(f"the index function for {name!r} must be callable, not {type(func).__name__}")
        with self._lock:
            if name in self._indexers:
                raise InvalidInput(f"the store already has an index named {name!r}")
            self._indexers[name] = func
            self._indices[name] = {}
            for key, obj in self._items.items():
                self._index_one(name, key, obj)

    def put(self, key: str, obj: ApiObject) -> ApiObject | None:
        """Store ``obj``; returns the object it replaced."""
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._unindex(key, old)
            self._items[key] = obj
            for name in self._indexers:
                self._index_one(name, key, obj)
            return old

    def remove(self, key: str) -> ApiObject | None:
        """Forget ``key``; returns the object it held."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            return old

    def _index(self, name: str) -> dict[str, set[str]]:
        try:
            return self._indices[name]
        except KeyError:
            raise InvalidInput(f"no index named {name!r} (indexes: {', '.join(sorted(self._indices))})") from None

    def _index_values(self, name: str, obj: ApiObject) -> Iterable[str]:
        try:
            return self._indexers[name](obj)
        except Exception:
            log.exception("index function %r failed on %s; the object is left out of that index", name,
                          object_key(obj))
            return ()

    def _index_one(self, name: str, key: str, obj: ApiObject) -> None:
        index = self._indices[name]
        for value in self._index_values(name, obj):
            index.setdefault(value, set()).add(key)

    def _unindex(self, key: str, obj: ApiObject) -> None:
        for name, index in self._indices.items():
            for value in self._index_values(name, obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]


class HandlerRegistration:
    """One set of handlers on an informer, with its own queue and thread. ``has_synced()`` is True
    once the handlers have been called for every object of the initial list."""

    def __init__(self, on_add: AddHandler | None, on_update: UpdateHandler | None,
                 on_delete: DeleteHandler | None, name: str) -> None:
        for what, func in (("on_add", on_add), ("on_update", on_update), ("on_delete", on_delete)):
            if func is not None and not callable(func):
                raise InvalidInput(f"{what} must be callable, not {type(func).__name__}")
        self._handlers = {Note.ADD: on_add, Note.UPDATE: on_update, Note.DELETE: on_delete}
        self._queue: collections.deque[tuple[Note, tuple[Any, ...]]] = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._closed = False
        self._synced = threading.Event()
        self._thread = threading.Thread(target=self._dispatch, name=name, daemon=True)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def push(self, note: Note, *args: Any) -> None:
        with self._ready:
            self._queue.append((note, args))
            self._ready.notify()

    def start(self) -> None:
        if not self._thread.is_alive() and not self._closed:
            self._thread.start()

    def close(self) -> None:
        """Stop delivering (undelivered notifications are dropped) and join the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _dispatch(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return
                note, args = self._queue.popleft()
            self._deliver(note, args)

    def _deliver(self, note: Note, args: tuple[Any, ...]) -> None:
        if note is Note.SYNCED:
            self._synced.set()
            return
        handler = self._handlers[note]
        if handler is None:
            return
        try:
            handler(*args)
        except Exception:
            log.exception("%s handler %r failed; the informer goes on", note.name.lower(), handler)


class Informer:
    """A local, current copy of one resource's objects (in one namespace, or all of them with
    ``all_namespaces=True``; ``namespace=None`` means the client's default namespace, as for
    ``list``), with handlers notified of every change.

    ``use_watch_list``: None asks the server's version (streaming lists from 1.34) and falls back to
    list + watch if the server refuses; True or False forces the choice. ``resync_period`` (seconds)
    re-delivers ``on_update(obj, obj)`` for every object periodically. ``indexers`` adds named
    indexes to the built-in ``namespace`` one. ``timeout_seconds`` is the server-side timeout of each
    watch connection (default: random in 5-10 minutes, as client-go); the watch resumes after it.
    ``idle_timeout``: a watch connection silent this long (the server sends a bookmark about every
    minute) counts as dead and is resumed on a new one. ``backoff`` paces retries after failures
    (of lists, and of watch reconnects).
    ``metadata_only=True`` lists and watches PartialObjectMetadata only (client-go's metadata
    informer): the store holds every object's metadata, and no spec, status or data is transferred.
    ``transform`` (client-go's ``SetTransform``) changes each object before it is stored and handed
    to handlers, e.g. ``strip_managed_fields``; an exception it raises fails that list or watch
    (logged, retried with backoff).
    """

    def __init__(self, resource: ResourceClient, namespace: str | None = None, *, all_namespaces: bool = False,
                 label_selector: str | Mapping[str, str] | None = None,
                 field_selector: str | Mapping[str, str] | None = None, resync_period: float | None = None,
                 use_watch_list: bool | None = None, indexers: Mapping[str, IndexFunc] | None = None,
                 timeout_seconds: int | None = None, backoff: Backoff = DEFAULT_BACKOFF,
                 idle_timeout: float | None = IDLE_TIMEOUT, metadata_only: bool = False,
                 transform: Transform | None = None) -> None:
        check_informer_arguments(resource, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                 field_selector=field_selector, resync_period=resync_period,
                                 use_watch_list=use_watch_list, timeout_seconds=timeout_seconds,
                                 idle_timeout=idle_timeout, transform=transform)
        self.resource = resource
        self.store = Store(indexers)
        self.last_error: Exception | None = None
        self._selection: dict[str, Any] = {"namespace": namespace, "all_namespaces": all_namespaces,
                                           "label_selector": label_selector, "field_selector": field_selector,
                                           "metadata_only": metadata_only}
        self._timeout_seconds = timeout_seconds
        self._idle_timeout = idle_timeout
        self._resync_period = resync_period
        self._watch_list = use_watch_list  # None until the server's version has been asked
        self._watch_list_forced = use_watch_list is not None
        self._backoff = backoff
        self._sync = StoreSync(self.store, transform)
        self._progressed = False
        self._lock = threading.RLock()  # store changes and their fan-out to handlers are atomic
        self._registrations: list[HandlerRegistration] = []
        self._synced = threading.Event()
        self._stopping = threading.Event()
        self._requests = CancelScope()  # stop() ends the reflector's request in flight, whatever it waits for
        self._watch: Watch | None = None
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        where = "all namespaces" if self._selection["all_namespaces"] else self._selection["namespace"] or "default ns"
        return f"<Informer {self.resource.resource.group_resource} ({where}) {len(self.store)} objects>"

    def __enter__(self) -> Informer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- public API ----------------------------------------------------------------------

    def add_handler(self, on_add: AddHandler | None = None, on_update: UpdateHandler | None = None,
                    on_delete: DeleteHandler | None = None) -> HandlerRegistration:
        """Register handlers: ``on_add(obj, is_initial)``, ``on_update(old, new)``, ``on_delete(obj)``
        (``obj`` may be a ``DeletedFinalStateUnknown``). Added after the first sync, they first get
        ``on_add(obj, True)`` for every stored object. Exceptions they raise are logged."""
        registration = HandlerRegistration(on_add, on_update, on_delete,
                                           name=f"dynkube-handler-{self.resource.plural}")
        with self._lock:
            if self._synced.is_set():
                for obj in self.store.list():
                    registration.push(Note.ADD, obj, True)
                registration.push(Note.SYNCED)
            self._registrations.append(registration)
        if self.started:
            registration.start()
        return registration

    def remove_handler(self, registration: HandlerRegistration) -> None:
        """Stop calling these handlers."""
        with self._lock:
            self._registrations.remove(registration)
        registration.close()

    @property
    def uses_watch_list(self) -> bool | None:
        """Whether the informer lists by streaming (None until it has asked the server)."""
        return self._watch_list

    @property
    def started(self) -> bool:
        """True once ``start()`` was called (an informer runs once: start, then stop)."""
        return bool(self._threads)

    def start(self) -> Informer:
        """Start the reflector (and resync) threads; returns self."""
        if self._threads:
            raise InvalidInput(f"{self!r} was already started")
        name = f"dynkube-informer-{self.resource.plural}"
        self._threads.append(threading.Thread(target=self._reflect, name=name, daemon=True))
        if self._resync_period:
            self._threads.append(threading.Thread(target=self._resync_loop, args=(self._resync_period,),
                                                  name=f"{name}-resync", daemon=True))
        with self._lock:
            registrations = list(self._registrations)
        for registration in registrations:
            registration.start()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and delivering, and join every thread of this informer."""
        self._stopping.set()
        self._requests.cancel()
        with self._lock:
            current, registrations = self._watch, list(self._registrations)
        if current is not None:
            current.stop()
        for thread in self._threads:
            thread.join()
        for registration in registrations:
            registration.close()

    def has_synced(self) -> bool:
        """True once the store holds the initial list and every handler has been told of it."""
        with self._lock:
            registrations = list(self._registrations)
        return self._synced.is_set() and all(r.has_synced() for r in registrations)

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until ``has_synced()``; False if ``timeout`` seconds pass first (see ``last_error``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            events = [self._synced] + [r._synced for r in self._registrations]
        for event in events:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not event.wait(remaining):
                return False
        return True

    def get(self, name: str, namespace: str | None = None) -> ApiObject | None:
        """The stored object ``name`` (in ``namespace``, default: the informer's namespace)."""
        if self.resource.resource.namespaced:
            namespace = namespace or self._selection["namespace"] or self.resource.client.namespace
            return self.store.get(f"{namespace}/{name}")
        return self.store.get(name)

    def list(self) -> list[ApiObject]:
        """Every stored object."""
        return self.store.list()

    # ---- reflector -----------------------------------------------------------------------

    def _reflect(self) -> None:
        """List and watch until stopped: relist at once after 410, back off after failures."""
        with self._requests:
            self._reflect_loop()

    def _reflect_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._progressed = False
            try:
                self._list_and_watch()
            except Gone as exc:
                log.info("%r: %s; listing again", self, exc)
            except Exception as exc:
                if self._stopping.is_set():
                    return
                self.last_error = exc
                log.log(logging.WARNING if isinstance(exc, DynkubeError) else logging.ERROR,
                        "%r: %s", self, exc, exc_info=not isinstance(exc, DynkubeError))
            failures = 0 if self._progressed else failures + 1
            if failures:
                self._stopping.wait(self._backoff.delay(failures))

    def _list_and_watch(self) -> None:
        if self._watch_list is None:
            self._watch_list = server_version(self.resource.client) >= WATCH_LIST_SINCE
        if self._watch_list:
            try:
                self._stream_list_and_watch()
                return
            except (Invalid, BadRequest) as exc:
                if self._watch_list_forced:
                    raise
                log.info("%r: the server refused a streaming list (%s); using list + watch", self, exc)
                self._watch_list = False
        self._list_then_watch()

    def _stream_list_and_watch(self) -> None:
        self._sync.stream_started()
        for event in self._open_watch(resource_version=None, send_initial_events=True):
            self._on_event(event)

    def _list_then_watch(self) -> None:
        version, objects = self._list()
        with self._lock:
            self._notify(self._sync.listed(objects))
        self._listed()
        for event in self._open_watch(resource_version=version, send_initial_events=False):
            self._on_event(event)

    def _open_watch(self, *, resource_version: str | None, send_initial_events: bool) -> Watch:
        opened = self.resource.watch(**self._selection, resource_version=resource_version, resume=True,
                                     send_initial_events=send_initial_events, timeout_seconds=self._timeout_seconds,
                                     backoff=self._backoff, idle_timeout=self._idle_timeout)
        with self._lock:
            self._watch = opened
        if self._stopping.is_set():
            opened.stop()
        return opened

    def _list(self) -> tuple[str, dict[str, ApiObject]]:
        """Every object (paginated; one unpaginated list if a continue token expires) and the list's RV."""
        try:
            return self._list_pages(PAGE_SIZE)
        except Gone:
            log.info("%r: a continue token expired; listing in one request", self)
            return self._list_pages(None)

    def _list_pages(self, limit: int | None) -> tuple[str, dict[str, ApiObject]]:
        objects: dict[str, ApiObject] = {}
        version = ""
        for page in self.resource.list_pages(**self._selection, limit=limit):
            version = version or page.resource_version
            for obj in page.items:
                key = object_key(obj)
                objects[key] = self._sync.unchanged(key, obj)
        return version, objects

    # ---- applying changes (decided by core.store.StoreSync) ----------------------------------

    def _on_event(self, event: WatchEvent) -> None:
        with self._lock:
            listing = self._sync.listing
            notices = self._sync.event(event)
            self._notify(notices)
        if listing and not self._sync.listing:  # the end of a streaming list's initial events
            self._listed()
        elif any(notice.note in (Note.ADD, Note.UPDATE) for notice in notices):
            self._progressed = True

    def _listed(self) -> None:
        self.last_error = None
        self._progressed = True
        log.debug("%r: store replaced from a list", self)

    def _notify(self, notices: builtins.list[Notice]) -> None:
        """Queue each notice for every handler; called under the lock, in the order of the changes."""
        for notice in notices:
            for registration in self._registrations:
                registration.push(notice.note, *notice.args)
            if notice.note is Note.SYNCED:
                self._synced.set()

    def _resync_loop(self, period: float) -> None:
        while not self._stopping.wait(period):
            with self._lock:
                self._notify(self._sync.resync())


def check_informer_arguments(resource: verbs.Target, namespace: str | None, *, all_namespaces: bool,
                             label_selector: Any, field_selector: Any, resync_period: Any, use_watch_list: Any,
                             timeout_seconds: Any, idle_timeout: Any, transform: Any = None) -> None:
    """InvalidInput for the first unusable argument of an informer (sync or asyncio), before any request."""
    calls.require_verb(resource.resource, "list")
    verbs.watch(resource, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                field_selector=field_selector, timeout_seconds=timeout_seconds,
                idle_timeout=idle_timeout)  # validates; sends nothing
    if resync_period is not None and (isinstance(resync_period, bool) or not isinstance(resync_period, (int, float))
                                      or resync_period <= 0):
        raise InvalidInput(f"resync_period must be a positive number of seconds, not {resync_period!r}")
    if use_watch_list not in (None, True, False):
        raise InvalidInput(f"use_watch_list must be None, True or False, not {use_watch_list!r}")
    if transform is not None and not callable(transform):
        raise InvalidInput(f"transform must be callable (an object in, the object to keep out), not {transform!r}")


def server_version(client: Client) -> tuple[int, int]:
    """The server's (major, minor) from /version (``"34+"`` counts as 34); (0, 0) if unreadable."""
    return version_numbers(client.version())


def version_numbers(document: Mapping[str, Any]) -> tuple[int, int]:
    """(major, minor) of a /version document (``"34+"`` counts as 34); (0, 0) if unreadable."""
    try:
        return int(document["major"]), int(re.match(r"\d+", document["minor"]).group())  # type: ignore[union-attr]
    except (KeyError, TypeError, ValueError, AttributeError):
        return (0, 0)


class SharedInformerFactory:
    """One informer per resource and selection, shared by every caller that asks for it, so many
    handlers on one resource cost one list and one watch. ``transform`` is every informer's
    (client-go's ``WithTransform``).

        factory = SharedInformerFactory(client)
        pods = factory.informer("pods", all_namespaces=True)
        pods.add_handler(on_add=...)
        factory.start(); factory.wait_for_sync(30)
    """

    def __init__(self, client: Client, *, resync_period: float | None = None,
                 use_watch_list: bool | None = None, transform: Transform | None = None) -> None:
        self.client = client
        self._resync_period = resync_period
        self._use_watch_list = use_watch_list
        self._transform = transform
        self._informers: dict[tuple[Any, ...], Informer] = {}
        self._started = False
        self._lock = threading.Lock()

    def __enter__(self) -> SharedInformerFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def informer(self, resource: str | ResourceClient, namespace: str | None = None, *,
                 all_namespaces: bool = False, label_selector: str | Mapping[str, str] | None = None,
                 field_selector: str | Mapping[str, str] | None = None) -> Informer:
        """The shared informer for this selection (created on first request; started at once if the
        factory already was)."""
        rc = self.client.resource(resource) if isinstance(resource, str) else resource
        scope = None if all_namespaces else calls.namespace_for(rc.resource, namespace, rc.client.namespace)
        selectors = tuple(sorted(calls.list_params(label_selector, field_selector, None, None, None, None).items()))
        key = (rc.resource, all_namespaces, scope, selectors)
        with self._lock:
            informer = self._informers.get(key)
            if informer is None:
                informer = Informer(rc, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                    field_selector=field_selector, resync_period=self._resync_period,
                                    use_watch_list=self._use_watch_list, transform=self._transform)
                self._informers[key] = informer
                if self._started:
                    informer.start()
            return informer

    def start(self) -> None:
        """Start every informer not yet started (and those asked for later)."""
        with self._lock:
            self._started = True
            for informer in self._informers.values():
                if not informer.started:
                    informer.start()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until every informer has synced; False after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            informers = list(self._informers.values())
        for informer in informers:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not informer.wait_for_sync(remaining):
                return False
        return True

    def stop(self) -> None:
        """Stop every informer (joining their threads)."""
        with self._lock:
            informers = list(self._informers.values())
            self._started = False
        for informer in informers:
            informer.stop()
