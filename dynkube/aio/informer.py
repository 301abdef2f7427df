"""The asyncio informer: a local, current copy of one resource's objects, kept by a task.

What each list and watch event does to the store, and what the handlers are told, is decided by
``dynkube.core.store.StoreSync``, as for the sync ``dynkube.informer.Informer``; the store is the
same ``Store`` (with its indexes). Here a task lists and watches (``dynkube.aio`` verbs, resuming
watches), and delivers each notice to the handlers in order; a handler may be a function or a
coroutine function.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..core.store import Note, Notice, StoreSync, Transform, object_key
from ..errors import BadRequest, DynkubeError, Gone, Invalid, InvalidInput
from ..informer import PAGE_SIZE, WATCH_LIST_SINCE, IndexFunc, Store, check_informer_arguments, version_numbers
from ..objects import ApiObject
from ..core.watchplan import DEFAULT_BACKOFF, IDLE_TIMEOUT, Backoff
from .client import ResourceClient

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


class Registration:
    """One set of handlers on an async informer, with its queue of notices (told in order).
    ``has_synced()`` is True once the handlers have been told of every object of the initial list."""

    def __init__(self, on_add: Handler | None, on_update: Handler | None, on_delete: Handler | None) -> None:
        for what, func in (("on_add", on_add), ("on_update", on_update), ("on_delete", on_delete)):
            if func is not None and not callable(func):
                raise InvalidInput(f"{what} must be callable, not {type(func).__name__}")
        self.handlers = {Note.ADD: on_add, Note.UPDATE: on_update, Note.DELETE: on_delete}
        self._synced = asyncio.Event()  # bound to a loop only when awaited
        self.queue: collections.deque[Notice] = collections.deque()
        self._draining = False

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def drain(self) -> None:
        """Tell the handlers every queued notice, in order (one drainer at a time)."""
        if self._draining:
            return
        self._draining = True
        try:
            while self.queue:
                await self._deliver(self.queue.popleft())
        finally:
            self._draining = False

    async def _deliver(self, notice: Notice) -> None:
        if notice.note is Note.SYNCED:
            self._synced.set()
            return
        handler = self.handlers[notice.note]
        if handler is None:
            return
        try:
            result = handler(*notice.args)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("%s handler %r failed; the informer goes on", notice.note.name.lower(), handler)


class Informer:
    """The asyncio form of ``dynkube.informer.Informer`` (the same arguments and meaning):
    ``async with Informer(await client.resource("pods"), "prod") as informer: await informer.wait_for_sync()``.

    Handlers (``on_add(obj, is_initial)``, ``on_update(old, new)``, ``on_delete(obj)``) run in the
    informer's task, one notice at a time, in the order of the changes; a coroutine handler is
    awaited before the next notice. Exceptions they raise are logged.
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
        self._watch_options: dict[str, Any] = {"timeout_seconds": timeout_seconds, "backoff": backoff,
                                               "idle_timeout": idle_timeout}
        self._resync_period = resync_period
        self._watch_list = use_watch_list
        self._watch_list_forced = use_watch_list is not None
        self._backoff = backoff
        self._sync = StoreSync(self.store, transform)
        self._registrations: list[Registration] = []
        self._synced: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._progressed = False

    def __repr__(self) -> str:
        where = "all namespaces" if self._selection["all_namespaces"] else self._selection["namespace"] or "default ns"
        return f"<dynkube.aio Informer {self.resource.resource.group_resource} ({where}) {len(self.store)} objects>"

    async def __aenter__(self) -> Informer:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- public API ----------------------------------------------------------------------

    def add_handler(self, on_add: Handler | None = None, on_update: Handler | None = None,
                    on_delete: Handler | None = None) -> Registration:
        """Register handlers (added after the first sync, they are first told of every stored object)."""
        registration = Registration(on_add, on_update, on_delete)
        if self._sync.synced:
            registration.queue.extend([Notice(Note.ADD, (obj, True)) for obj in self.store.list()])
            registration.queue.append(Notice(Note.SYNCED))
            if self._tasks:
                self._tasks.append(asyncio.ensure_future(registration.drain()))
        self._registrations.append(registration)
        return registration

    def remove_handler(self, registration: Registration) -> None:
        """Stop calling these handlers."""
        if registration in self._registrations:
            self._registrations.remove(registration)

    @property
    def uses_watch_list(self) -> bool | None:
        """Whether the informer lists by streaming (None until it has asked the server)."""
        return self._watch_list

    @property
    def started(self) -> bool:
        """True once ``start()`` was called (an informer runs once: start, then stop)."""
        return bool(self._tasks)

    def start(self) -> Informer:
        """Start the reflector task (and the resync task) in the running loop; returns self."""
        if self._tasks:
            raise InvalidInput(f"{self!r} was already started")
        self._synced = asyncio.Event()
        self._tasks.append(asyncio.ensure_future(self._reflect()))
        if self._resync_period:
            self._tasks.append(asyncio.ensure_future(self._resync_loop(self._resync_period)))
        return self

    async def stop(self) -> None:
        """Stop watching and delivering; every task of this informer has ended when this returns."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def has_synced(self) -> bool:
        """True once the store holds the initial list and every handler has been told of it."""
        return self._sync.synced and all(r.has_synced() for r in self._registrations)

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Wait until ``has_synced()``; False if ``timeout`` seconds pass first (see ``last_error``)."""
        if self._synced is None:
            raise InvalidInput(f"{self!r} was not started")
        events = [self._synced] + [r._synced for r in self._registrations]  # a late handler catches up too
        try:
            async with asyncio.timeout(timeout):
                for event in events:
                    await event.wait()
        except TimeoutError:
            return False
        return True

    def get(self, name: str, namespace: str | None = None) -> ApiObject | None:
        """The stored object ``name`` (in ``namespace``, default: the informer's namespace)."""
        if self.resource.resource.namespaced:
            namespace = namespace or self._selection["namespace"] or self.resource.client.namespace
            return self.store.get(f"{namespace}/{name}")
        return self.store.get(name)

    def list(self) -> builtins.list[ApiObject]:
        """Every stored object."""
        return self.store.list()

    # ---- reflector -----------------------------------------------------------------------

    async def _reflect(self) -> None:
        """List and watch until stopped: relist at once after 410, back off after failures."""
        failures = 0
        while True:
            self._progressed = False
            try:
                await self._list_and_watch()
            except Gone as exc:
                log.info("%r: %s; listing again", self, exc)
            except Exception as exc:
                self.last_error = exc
                log.log(logging.WARNING if isinstance(exc, DynkubeError) else logging.ERROR,
                        "%r: %s", self, exc, exc_info=not isinstance(exc, DynkubeError))
            failures = 0 if self._progressed else failures + 1
            if failures:
                await asyncio.sleep(self._backoff.delay(failures))

    async def _list_and_watch(self) -> None:
        if self._watch_list is None:
            self._watch_list = version_numbers(await self.resource.client.version()) >= WATCH_LIST_SINCE
        if self._watch_list:
            try:
                self._sync.stream_started()
                await self._watch(resource_version=None, send_initial_events=True)
                return
            except (Invalid, BadRequest) as exc:
                if self._watch_list_forced:
                    raise
                log.info("%r: the server refused a streaming list (%s); using list + watch", self, exc)
                self._watch_list = False
        version, objects = await self._list()
        await self._notify(self._sync.listed(objects))
        self._listed()
        await self._watch(resource_version=version, send_initial_events=False)

    async def _watch(self, *, resource_version: str | None, send_initial_events: bool) -> None:
        async with self.resource.watch(**self._selection, resource_version=resource_version, resume=True,
                                       send_initial_events=send_initial_events, **self._watch_options) as events:
            async for event in events:
                listing = self._sync.listing
                notices = self._sync.event(event)
                await self._notify(notices)
                if listing and not self._sync.listing:
                    self._listed()
                elif any(notice.note in (Note.ADD, Note.UPDATE) for notice in notices):
                    self._progressed = True

    async def _list(self) -> tuple[str, dict[str, ApiObject]]:
        """Every object (paginated; one unpaginated list if a continue token expires) and the list's RV."""
        try:
            return await self._list_pages(PAGE_SIZE)
        except Gone:
            log.info("%r: a continue token expired; listing in one request", self)
            return await self._list_pages(None)

    async def _list_pages(self, limit: int | None) -> tuple[str, dict[str, ApiObject]]:
        objects: dict[str, ApiObject] = {}
        version = ""
        async for page in self.resource.list_pages(**self._selection, limit=limit):
            version = version or page.resource_version
            for obj in page.items:
                key = object_key(obj)
                objects[key] = self._sync.unchanged(key, obj)
        return version, objects

    def _listed(self) -> None:
        self.last_error = None
        self._progressed = True

    async def _notify(self, notices: builtins.list[Notice]) -> None:
        """Queue each notice for every handler, then tell them, in the order of the changes."""
        registrations = list(self._registrations)
        for notice in notices:
            for registration in registrations:
                registration.queue.append(notice)
        for registration in registrations:
            await registration.drain()
        if self._synced is not None and any(notice.note is Note.SYNCED for notice in notices):
            self._synced.set()

    async def _resync_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            await self._notify(self._sync.resync())
