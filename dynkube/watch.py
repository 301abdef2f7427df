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
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Protocol

from .core.exchange import NO_RETRIES
from .core.watchplan import (BOOKMARK_INTERVAL as BOOKMARK_INTERVAL, DEFAULT_BACKOFF as DEFAULT_BACKOFF,
                             HEALTHY_SECONDS, IDLE_TIMEOUT as IDLE_TIMEOUT, READ_CHUNK as READ_CHUNK,
                             Backoff as Backoff, WatchPlan as WatchPlan, connection_timeouts)
from .core.watchstream import EventType, JSONStreamDecoder, ResumePoint, WatchEvent, decode_event
from .errors import ServerError, ServerTimeout, TooManyRequests, TransportError
from .objects import ApiList
from .resources import Resource
from .transport import CancelScope, Stream, Transport

__all__ = ["Backoff", "DEFAULT_BACKOFF", "EventType", "IDLE_TIMEOUT", "JSONStreamDecoder", "Watch", "WatchEvent",
           "WatchPlan", "decode_event"]  # they live in dynkube.core: watchstream (decoder, events), watchplan (plans)

log = logging.getLogger(__name__)


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
