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

import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, NamedTuple, Protocol

from .core.calls import Call
from .core.exchange import NO_RETRIES, backoff
from .core.http import Request
from .core.watchstream import EventType, JSONStreamDecoder, ResumePoint, WatchEvent, decode_event
from .errors import ServerError, ServerTimeout, TooManyRequests, TransportError
from .objects import ApiList
from .resources import Resource
from .transport import CancelScope, Stream, Transport

__all__ = ["Backoff", "DEFAULT_BACKOFF", "EventType", "IDLE_TIMEOUT", "JSONStreamDecoder", "Watch", "WatchEvent",
           "WatchPlan", "decode_event"]  # the decoder and the event values live in dynkube.core.watchstream

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20  # bytes asked per read; chunked responses still yield each HTTP chunk as it comes
RESUME_TIMEOUT_SECONDS = (300, 600)  # per-connection timeoutSeconds when resuming (client-go's reflector)
READ_TIMEOUT_MARGIN = 30.0  # seconds of silence past timeoutSeconds before the connection counts as dead
BOOKMARK_INTERVAL = 60.0  # the server sends a resuming watch a bookmark about once a minute, even when quiet
IDLE_TIMEOUT = 1.5 * BOOKMARK_INTERVAL  # silence after which a resuming watch's connection counts as dead
HEALTHY_SECONDS = 1.0  # a connection that ends sooner without an event counts as a failure (backoff)


class Backoff(NamedTuple):
    """Waits between failed reconnects: ``initial`` seconds doubling up to ``cap``, with the retries'
    jitter (between half and all of it: ``dynkube.core.exchange.backoff``). A NamedTuple, not a
    dataclass: ``import dynkube`` imports this module, and would otherwise pay for ``dataclasses``."""

    initial: float = 0.8
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` (>= 1) consecutive failed attempts."""
        return backoff(self.initial, self.cap, failures - 1)


DEFAULT_BACKOFF = Backoff()


class WatchPlan(NamedTuple):
    """A watch to run (``dynkube.verbs.watch`` makes it): its first connection's request, where it
    starts, how it resumes, and the first page of the list to read before watching (a resuming
    watch without a resourceVersion lists first)."""

    request: Request
    resource_version: str | None
    timeout_seconds: int | None
    resume: bool
    send_initial_events: bool
    backoff: Backoff
    idle_timeout: float | None
    list_first: Call[ApiList] | None


def connection_timeouts(plan: WatchPlan, transport_timeout: Any) -> tuple[int | None, float | None, float | None]:
    """For one connection of a watch: its ``timeoutSeconds`` (a resuming watch picks 5 to 10 minutes,
    as client-go's reflector), the connect timeout, and the silence after which it counts as dead:
    well past the server's own end of it, or ``idle_timeout`` (resuming watches), whichever comes first."""
    timeout_seconds = plan.timeout_seconds or (random.randint(*RESUME_TIMEOUT_SECONDS) if plan.resume else None)
    connect = transport_timeout[0] if isinstance(transport_timeout, tuple) else transport_timeout
    idle = plan.idle_timeout if plan.resume else None
    limits = [t for t in (timeout_seconds + READ_TIMEOUT_MARGIN if timeout_seconds else None, idle) if t is not None]
    return timeout_seconds, connect, min(limits) if limits else None


class _Dropped(Exception):
    """The connection ended abnormally (reset, cut mid-event, read timeout)."""


_RECONNECTABLE = (TransportError, TooManyRequests, ServerError, ServerTimeout)


class WatchedClient(Protocol):
    """What a watch needs of a ``dynkube.Client``."""

    @property
    def transport(self) -> Transport: ...

    @property
    def namespace(self) -> str | None: ...


class Watched(Protocol):
    """What a watch needs of the resource it watches, a ``dynkube.client.ResourceClient`` (declared
    here: the client is the layer above this one)."""

    @property
    def resource(self) -> Resource: ...

    @property
    def client(self) -> WatchedClient: ...


class Watch:
    """A running watch: iterate it for ``WatchEvent``s. ``stop()`` (from any thread) or leaving a
    ``with`` block ends the iteration promptly by shutting the connection down.

    The first request is sent on the first ``next()``. ``resource_version`` is the resume point:
    the resourceVersion of the last event or bookmark (not advanced by the initial events of a
    streaming list until their end bookmark). With ``list_first`` (a function giving the pages of
    the plan's ``list_first`` list) the watch first yields ADDED for every listed object, then
    watches from the list's resourceVersion. When resuming, a connection silent for the plan's
    ``idle_timeout`` seconds is dropped and resumed on a new one.
    """

    def __init__(self, resource: Watched, plan: WatchPlan, *,
                 list_first: Callable[[], Iterator[ApiList]] | None = None) -> None:
        self.resource = resource
        self._plan = plan
        self._point = ResumePoint(plan.resource_version, plan.send_initial_events)
        self._list_first = list_first
        self._transport = resource.client.transport
        self._path = plan.request.path
        self._url = self._transport.url(self._path)  # named by errors; built once, not per event
        self._resume = plan.resume
        self._stopped = threading.Event()
        self._connecting = CancelScope()  # ends a connection attempt when stop() is called
        self._lock = threading.Lock()
        self._response: Stream | None = None
        self._events = self._run()

    @property
    def resource_version(self) -> str | None:
        """The resume point: where the next connection starts."""
        return self._point.resource_version

    @resource_version.setter
    def resource_version(self, value: str | None) -> None:
        self._point.resource_version = value

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

    def _initial_list(self, list_pages: Callable[[], Iterator[ApiList]]) -> Iterator[WatchEvent]:
        """ADDED for every object of a paged list; the resume point becomes the list's resourceVersion."""
        pages, first = list_pages(), True
        while not self._stopped.is_set():  # no further page is asked for after stop()
            page = next(pages, None)
            if page is None:
                return
            if first:
                self.resource_version, first = page.resource_version, False
            for item in page.items:
                yield WatchEvent(EventType.ADDED, item)

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
                if not (self._resume and self._point.resumable):
                    raise TransportError(f"watch {self._path}: connection lost ({exc})",
                                         url=self._transport.url(self._path)) from None
                log.info("watch %s: connection lost (%s); resuming from %s", self._path, exc, self.resource_version)
            except _RECONNECTABLE as exc:
                if self._stopped.is_set():
                    return
                if not self._resume or not self._point.resumable:
                    raise
                log.warning("watch %s: %s; resuming from %s", self._path, exc, self.resource_version)
            healthy = delivered > 0 or time.monotonic() - started >= HEALTHY_SECONDS
            failures = 0 if healthy else failures + 1
            if failures:
                self._stopped.wait(self._plan.backoff.delay(failures))

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
                    self._point.advance(event, self._url)
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

    def _connect(self) -> Stream | None:
        timeout_seconds, connect, read = connection_timeouts(self._plan, self._transport.timeout)
        request = self._point.request(self._plan.request, timeout_seconds)
        with self._connecting:
            response = self._transport.stream(request, rate_limited=False, timeout=(connect, read),  # type: ignore[arg-type]
                                              retry=NO_RETRIES if self._resume else None)  # resuming retries itself
        with self._lock:
            if not self._stopped.is_set():
                self._response = response
                return response
        response.close()
        return None

    def _release(self, response: Stream) -> None:
        with self._lock:
            self._response = None
        response.close()


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"
