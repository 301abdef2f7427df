"""Watch: follow changes to a collection as a stream of typed events, resuming across disconnects.

The server answers a watch with a chunked stream of JSON objects ``{"type": ..., "object": ...}``.
They are decoded incrementally as bytes arrive: an HTTP chunk may hold part of an event or many.
With ``resume=True`` a dropped connection, a server-side timeout or a connection silent for
longer than ``idle_timeout`` (dead without a word, as after a NAT forgot it) is followed by a new
request from the last resourceVersion seen (events and bookmarks), so no event is replayed or
skipped; when the server no longer has that point (410), ``Gone`` is raised and the caller must relist.
A resuming watch given no resourceVersion lists first (ADDED for each listed object, as
``kubectl get --watch`` and informers do) and watches from the list's resourceVersion.
"""

from __future__ import annotations

import codecs
import enum
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from .core import calls
from .core.calls import DEFAULT_PAGE_SIZE
from .core.http import Request
from .errors import (InvalidInput, ServerError, ServerTimeout, TooManyRequests, TransportError, WatchError,
                     api_error_from_status)
from .objects import ApiList, ApiObject
from .transport import NO_RETRIES, CancelScope, Stream

if TYPE_CHECKING:
    from .client import ResourceClient

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20  # bytes asked per read; chunked responses still yield each HTTP chunk as it comes
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
RESUME_TIMEOUT_SECONDS = (300, 600)  # per-connection timeoutSeconds when resuming (client-go's reflector)
READ_TIMEOUT_MARGIN = 30.0  # seconds of silence past timeoutSeconds before the connection counts as dead
BOOKMARK_INTERVAL = 60.0  # the server sends a resuming watch a bookmark about once a minute, even when quiet
IDLE_TIMEOUT = 1.5 * BOOKMARK_INTERVAL  # silence after which a resuming watch's connection counts as dead
HEALTHY_SECONDS = 1.0  # a connection that ends sooner without an event counts as a failure (backoff)
_WHITESPACE = " \t\r\n"


class EventType(enum.StrEnum):
    """The type of a watch event. ``ERROR`` events are raised as exceptions, never yielded."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


_EVENT_TYPES = {t.value: t for t in EventType}


class WatchEvent(NamedTuple):
    """One change. ``object`` is the new state (the last state for DELETED); a BOOKMARK's object
    holds only ``kind``, ``apiVersion`` and ``metadata.resourceVersion`` (and annotations).

    A NamedTuple rather than a dataclass: it is built once per event on the hot path.
    """

    type: EventType
    object: ApiObject

    @property
    def resource_version(self) -> str:
        """The object's ``metadata.resourceVersion`` ("" when absent)."""
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")

    @property
    def is_initial_events_end(self) -> bool:
        """True for the bookmark that ends the initial events of a streaming list."""
        if self.type is not EventType.BOOKMARK:
            return False
        annotations = (self.object.get("metadata") or {}).get("annotations") or {}
        return annotations.get(INITIAL_EVENTS_END) == "true"


class JSONStreamDecoder:
    """Incremental decoder of concatenated JSON objects (whitespace between them), fed bytes.

    The complete lines of a piece are parsed in one call, as one JSON array (the parser then
    shares dict-key strings among them, as it does within a list page: a third less memory for
    objects kept, at the same speed); if they do not form one (blank lines, values spread over
    lines, garbage), values are parsed one by one. A value cut by a chunk boundary waits for the
    next ``feed``. Parsing is not even tried while
    no newline follows the value's start and the buffer does not end with ``}``: it cannot succeed,
    and a failed attempt costs a parse (the server ends each event with a newline, so this only
    delays, in streams without newlines, an object followed by a partial one). A value that fails
    to parse while a newline follows the failure point is malformed (an incomplete value never
    holds a raw newline at or after the point where parsing stops) and raises ``WatchError``.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._pending = ""
        self._scan = json.JSONDecoder().raw_decode

    def feed(self, data: bytes) -> Iterator[Any]:
        """The values completed by ``data``, in order (a generator)."""
        text = self._utf8.decode(data)
        if self._pending:
            text = self._pending + text
        scan = self._scan
        pos, end = 0, len(text)
        try:
            cut = text.rfind("\n")
            if cut > 0 and text.find("\n", 0, cut) != -1:  # several lines: try them as one array
                lines = self._lines(text[:cut])
                if lines is not None:
                    pos = cut + 1
                    yield from lines
            while True:
                while pos < end and text[pos] in _WHITESPACE:
                    pos += 1
                if pos == end or (text.find("\n", pos) == -1 and text.rstrip()[-1:] != "}"):
                    break
                try:
                    value, pos = scan(text, pos)
                except json.JSONDecodeError as exc:
                    if text.find("\n", exc.pos) != -1:
                        raise WatchError(f"the watch stream is not valid JSON: {exc.msg} near "
                                         f"{text[exc.pos:exc.pos + 40]!r}") from None
                    break
                yield value
        finally:
            self._pending = text[pos:] if pos < end else ""

    def _lines(self, text: str) -> list[Any] | None:
        """The values of newline-separated lines, parsed as one array; None if they are not that."""
        try:
            values, end = self._scan("[" + text.replace("\n", ",") + "]")
        except json.JSONDecodeError:
            return None
        return values if end == len(text) + 2 else None

    @property
    def incomplete(self) -> bool:
        """True when part of a value (or of a UTF-8 character) is buffered."""
        return bool(self._pending) or bool(self._utf8.getstate()[0])


def decode_event(document: Any) -> WatchEvent:
    """The WatchEvent of one decoded stream value; WatchError when it is not one."""
    try:
        kind = _EVENT_TYPES[document["type"]]
        obj = document["object"]
    except (KeyError, TypeError):
        raise WatchError(f"not a watch event: {str(document)[:200]!r}") from None
    if type(obj) is not dict:
        raise WatchError(f"watch event {kind.value} carries no object: {str(document)[:200]!r}")
    return WatchEvent(kind, ApiObject(obj))


@dataclass(frozen=True)
class Backoff:
    """Waits between failed reconnects: ``initial`` seconds doubling up to ``cap``, jittered ±50%."""

    initial: float = 0.8
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` (>= 1) consecutive failed attempts."""
        return min(self.cap, self.initial * 2 ** (failures - 1)) * random.uniform(0.5, 1.5)


DEFAULT_BACKOFF = Backoff()


class _Dropped(Exception):
    """The connection ended abnormally (reset, cut mid-event, read timeout)."""


_RECONNECTABLE = (TransportError, TooManyRequests, ServerError, ServerTimeout)


class Watch:
    """A running watch: iterate it for ``WatchEvent``s. ``stop()`` (from any thread) or leaving a
    ``with`` block ends the iteration promptly by shutting the connection down.

    The first request is sent on the first ``next()``. ``resource_version`` is the resume point:
    the resourceVersion of the last event or bookmark (not advanced by the initial events of a
    streaming list until their end bookmark). With ``list_first`` (a function giving the list page
    after a continue token) the watch first yields ADDED for every listed object, then watches
    from the list's resourceVersion. With ``resume``, a connection silent for
    ``idle_timeout`` seconds is dropped and resumed on a new one.
    """

    def __init__(self, resource: ResourceClient, request: Request, *,
                 resource_version: str | None, timeout_seconds: int | None, resume: bool,
                 send_initial_events: bool, backoff: Backoff = DEFAULT_BACKOFF,
                 list_first: Callable[[str | None], ApiList] | None = None,
                 idle_timeout: float | None = IDLE_TIMEOUT) -> None:
        self.resource = resource
        self.resource_version = resource_version
        self._list_first = list_first
        self._transport = resource.client.transport
        self._path = request.path
        self._params = {k: v for k, v in request.params.items() if k not in calls.WATCH_RESUME_PARAMS}
        self._timeout_seconds = timeout_seconds
        self._resume = resume
        self._initial_pending = send_initial_events
        self._initial_delivered = False
        self._backoff = backoff
        self._idle_timeout = idle_timeout if resume else None
        self._stopped = threading.Event()
        self._connecting = CancelScope()  # ends a connection attempt when stop() is called
        self._lock = threading.Lock()
        self._response: Stream | None = None
        self._events = self._run()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped.is_set() else "running"
        return f"<Watch {self._path} resourceVersion={self.resource_version!r} {state}>"

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> WatchEvent:
        if self._stopped.is_set():  # events already decoded are not handed out after stop()
            self._events.close()
            raise StopIteration
        return next(self._events)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stopped.is_set()

    def stop(self) -> None:
        """End the watch: the iteration (in any thread) stops at once, without an error."""
        self._stopped.set()
        self._connecting.cancel()
        with self._lock:
            response = self._response
        if response is not None:
            response.abort()

    # ---- the connection loop -----------------------------------------------------------

    def _initial_list(self, list_page: Callable[[str | None], ApiList]) -> Iterator[WatchEvent]:
        """ADDED for every object of a paged list; the resume point becomes the list's resourceVersion."""
        token: str | None = None
        while not self._stopped.is_set():
            page = list_page(token)
            if token is None:
                self.resource_version = page.resource_version
            for item in page.items:
                yield WatchEvent(EventType.ADDED, item)
            token = page.continue_token or None
            if token is None:
                return

    def _run(self) -> Generator[WatchEvent, None, None]:
        if self._list_first is not None:
            yield from self._initial_list(self._list_first)
        failures = 0
        while not self._stopped.is_set():
            started, delivered = time.monotonic(), 0
            try:
                for event in self._stream():
                    delivered += 1
                    yield event
                if not self._resume:
                    return
                log.debug("watch %s ended by the server; resuming from %s", self._path, self.resource_version)
            except _Dropped as exc:
                if self._stopped.is_set():
                    return
                if not (self._resume and self._resumable()):
                    raise TransportError(f"watch {self._path}: connection lost ({exc})",
                                         url=self._transport.url(self._path)) from None
                log.info("watch %s: connection lost (%s); resuming from %s", self._path, exc, self.resource_version)
            except _RECONNECTABLE as exc:
                if self._stopped.is_set():
                    return
                if not self._resume or not self._resumable():
                    raise
                log.warning("watch %s: %s; resuming from %s", self._path, exc, self.resource_version)
            healthy = delivered > 0 or time.monotonic() - started >= HEALTHY_SECONDS
            failures = 0 if healthy else failures + 1
            if failures:
                self._stopped.wait(self._backoff.delay(failures))

    def _resumable(self) -> bool:
        """False once initial events of a streaming list were delivered but their end was not."""
        return not (self._initial_pending and self._initial_delivered)

    def _stream(self) -> Iterator[WatchEvent]:
        """The events of one connection; ends at a clean end of stream, raises _Dropped otherwise."""
        response = self._connect()
        if response is None:
            return
        decoder = JSONStreamDecoder()
        try:
            for chunk in response.chunks(READ_CHUNK):
                for document in decoder.feed(chunk):
                    event = decode_event(document)
                    self._advance(event)
                    yield event
        except Exception as exc:
            if self._stopped.is_set():
                return
            if isinstance(exc, OSError):  # requests' connection and chunked-encoding errors are OSErrors
                raise _Dropped(_describe(exc)) from None
            raise
        finally:
            self._release(response)
        if decoder.incomplete and not self._stopped.is_set():
            raise _Dropped("the stream ended inside an event")

    def _advance(self, event: WatchEvent) -> None:
        """Raise ERROR events; move the resume point past the event."""
        if event.type is EventType.ERROR:
            raise api_error_from_status(dict(event.object), method="WATCH", url=self._transport.url(self._path))
        if self._initial_pending:
            if event.is_initial_events_end:
                self._initial_pending = False
            else:
                self._initial_delivered = True
                return
        version = (event.object.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = version

    def _connect(self) -> Stream | None:
        params = dict(self._params)
        if self.resource_version is not None:
            params["resourceVersion"] = self.resource_version
        if self._initial_pending:
            params["sendInitialEvents"] = "true"
            params["resourceVersionMatch"] = "NotOlderThan"
        timeout_seconds = self._timeout_seconds or (random.randint(*RESUME_TIMEOUT_SECONDS) if self._resume else None)
        if timeout_seconds:
            params["timeoutSeconds"] = timeout_seconds
        timeout = (self._connect_timeout(), self._read_timeout(timeout_seconds))
        with self._connecting:
            response = self._transport.stream(Request("GET", self._path, params, stream=True), rate_limited=False,
                                              timeout=timeout,  # type: ignore[arg-type]
                                              retry=NO_RETRIES if self._resume else None)  # resuming retries itself
        with self._lock:
            if not self._stopped.is_set():
                self._response = response
                return response
        response.close()
        return None

    def _read_timeout(self, timeout_seconds: int | None) -> float | None:
        """Silence after which the connection counts as dead: well past the server's own end of it,
        or ``idle_timeout`` (resuming watches), whichever comes first."""
        limits = [t for t in (timeout_seconds + READ_TIMEOUT_MARGIN if timeout_seconds else None, self._idle_timeout)
                  if t is not None]
        return min(limits) if limits else None

    def _connect_timeout(self) -> float | None:
        timeout = self._transport.timeout
        return timeout[0] if isinstance(timeout, tuple) else timeout

    def _release(self, response: Stream) -> None:
        with self._lock:
            self._response = None
        response.close()


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"


def _pages(resource: ResourceClient, namespace: str | None, all_namespaces: bool,
           label_selector: str | Mapping[str, str] | None, field_selector: str | Mapping[str, str] | None,
           start: str | None) -> Callable[[str | None], ApiList]:
    """The list page after a continue token (None: the first page, at ``start``), for a watch that lists first."""
    def page(token: str | None) -> ApiList:
        return resource.list_page(namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                  field_selector=field_selector, limit=DEFAULT_PAGE_SIZE, continue_token=token,
                                  resource_version=None if token else start)
    return page


def watch(resource: ResourceClient, namespace: str | None = None, *, all_namespaces: bool = False,
          label_selector: str | Mapping[str, str] | None = None,
          field_selector: str | Mapping[str, str] | None = None, resource_version: str | None = None,
          timeout_seconds: int | None = None, allow_bookmarks: bool = True, resume: bool = False,
          send_initial_events: bool = False, backoff: Backoff = DEFAULT_BACKOFF,
          idle_timeout: float | None = IDLE_TIMEOUT) -> Watch:
    """A Watch of ``resource``'s collection; see ``ResourceClient.watch``. ``backoff`` paces
    reconnects that fail; with ``resume``, a connection silent for ``idle_timeout`` seconds counts
    as dead (None: never). Validates everything before any request."""
    request = calls.watch(resource.resource, namespace, default_namespace=resource.client.namespace,
                          all_namespaces=all_namespaces, label_selector=label_selector,
                          field_selector=field_selector, resource_version=resource_version,
                          timeout_seconds=timeout_seconds, allow_bookmarks=allow_bookmarks,
                          send_initial_events=send_initial_events)
    if idle_timeout is not None and (isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float))
                                     or idle_timeout <= 0):
        raise InvalidInput(f"idle_timeout must be a positive number of seconds or None, not {idle_timeout!r}")
    list_first = None
    if resume and not send_initial_events and resource_version in (None, "", "0"):
        # the synthetic ADDED events of a watch without a version cannot be resumed from: list, then watch
        calls.collection_path(resource.resource, namespace, all_namespaces, "list",
                              default_namespace=resource.client.namespace)
        list_first = _pages(resource, namespace, all_namespaces, label_selector, field_selector,
                            resource_version or None)
        resource_version = None
    return Watch(resource, request, resource_version=resource_version or None,
                 timeout_seconds=timeout_seconds, resume=resume, send_initial_events=send_initial_events,
                 backoff=backoff, list_first=list_first, idle_timeout=idle_timeout)
