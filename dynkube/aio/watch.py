"""The asyncio watch: the sync ``dynkube.watch.Watch``'s connection loop with ``await``.

Everything that decides (the plan's checks, the stream decoder, the resume point, the per-connection
timeouts, the backoff) is shared with the sync watch; only the loop that connects, reads and waits
is written here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import aclosing
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Protocol

from ..connection import surface_warnings
from ..core.exchange import NO_RETRIES
from ..core.watchplan import HEALTHY_SECONDS, READ_CHUNK, WatchPlan, connection_timeouts
from ..core.watchstream import EventType, JSONStreamDecoder, ResumePoint, WatchEvent, decode_event
from ..errors import ServerError, ServerTimeout, TooManyRequests, TransportError
from ..objects import ApiList
from .transport import AsyncStream, AsyncTransport

log = logging.getLogger(__name__)

_RECONNECTABLE = (TransportError, TooManyRequests, ServerError, ServerTimeout)


class _Dropped(Exception):
    """The connection ended abnormally (reset, cut mid-event, read timeout)."""


class WatchedClient(Protocol):
    """What a watch needs of a ``dynkube.aio.Client``."""

    @property
    def transport(self) -> AsyncTransport: ...


class Watched(Protocol):
    """What a watch needs of the resource it watches (a ``dynkube.aio.ResourceClient``)."""

    @property
    def client(self) -> WatchedClient: ...


class Watch:
    """A running watch: ``async for event in watch`` yields ``WatchEvent``s; ``stop()`` (from any
    task) or leaving an ``async with`` block ends it and closes its connection. The semantics are
    the sync ``dynkube.watch.Watch``'s: the same resume point, reconnects, ``Gone`` and bookmarks.
    """

    def __init__(self, resource: Watched, plan: WatchPlan, *,
                 list_first: Callable[[], AsyncGenerator[ApiList, None]] | None = None) -> None:
        self.resource = resource
        self._plan = plan
        self._point = ResumePoint(plan.resource_version, plan.send_initial_events)
        self._list_first = list_first
        self._transport = resource.client.transport
        self._path = plan.request.path
        self._url = self._transport.url(self._path)  # named by errors; built once, not per event
        self._stopped = asyncio.Event()
        self._response: AsyncStream | None = None
        self._connecting: asyncio.Future[AsyncStream] | None = None
        self._events = self._run()

    @property
    def resource_version(self) -> str | None:
        """The resume point: where the next connection starts."""
        return self._point.resource_version

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stopped.is_set()

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "running"
        return f"<dynkube.aio Watch {self._path} resourceVersion={self.resource_version!r} {state}>"

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        """The events: ``async for`` steps the watch's own generator, not ``__anext__`` (one layer
        less per event); both end at the first step after ``stop()``."""
        return self._events

    async def __anext__(self) -> WatchEvent:
        if self._stopped.is_set():
            await self._events.aclose()
            raise StopAsyncIteration
        return await self._events.__anext__()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def stop(self) -> None:
        """End the watch: the iteration stops at its next step, without an error; the connection closes."""
        self._stopped.set()
        if self._connecting is not None:
            self._connecting.cancel()
        response = self._response
        if response is not None:
            response.abort()

    async def aclose(self) -> None:
        """Stop, and finish the iteration (its connection closed) before returning."""
        self.stop()
        await self._events.aclose()

    # ---- the connection loop -----------------------------------------------------------

    async def _initial_list(self, list_pages: Callable[[], AsyncGenerator[ApiList, None]]
                            ) -> AsyncGenerator[WatchEvent, None]:
        first = True
        async with aclosing(list_pages()) as pages:
            async for page in pages:
                if first:
                    self._point.resource_version, first = page.resource_version, False
                for item in page.items:
                    yield WatchEvent(EventType.ADDED, item)
                if self._stopped.is_set():
                    return

    async def _run(self) -> AsyncGenerator[WatchEvent, None]:
        if self._list_first is not None:
            async with aclosing(self._initial_list(self._list_first)) as listed:
                async for event in listed:
                    if self._stopped.is_set():
                        return
                    yield event
        failures, point, url, stopped = 0, self._point, self._url, self._stopped.is_set
        while not self._stopped.is_set():
            started, delivered = time.monotonic(), 0
            try:  # one connection, read here rather than in a generator of its own: one layer less per event
                response = await self._connect()
                if response is None:
                    return
                self._response, decoder = response, JSONStreamDecoder()
                try:
                    async for chunk in response.chunks(READ_CHUNK):
                        for document in decoder.feed(chunk):
                            if stopped():  # before advancing: the resume point stays at the last event handed out
                                return
                            event = decode_event(document)
                            point.advance(event, url)
                            delivered += 1
                            yield event
                except OSError as exc:
                    if self._stopped.is_set():
                        return
                    raise _Dropped(str(exc)) from None
                finally:
                    self._response = None
                    response.close()
                if decoder.incomplete and not self._stopped.is_set():
                    raise _Dropped("the stream ended inside an event")
                if not self._plan.resume:
                    return
                log.debug("watch %s ended by the server; resuming from %s", self._path, self.resource_version)
            except _Dropped as exc:
                if self._stopped.is_set():
                    return
                if not (self._plan.resume and self._point.resumable):
                    raise TransportError(f"watch {self._path}: connection lost ({exc})",
                                         url=self._transport.url(self._path)) from None
                log.info("watch %s: connection lost (%s); resuming from %s", self._path, exc, self.resource_version)
            except _RECONNECTABLE as exc:
                if self._stopped.is_set():
                    return
                if not self._plan.resume or not self._point.resumable:
                    raise
                log.warning("watch %s: %s; resuming from %s", self._path, exc, self.resource_version)
            healthy = delivered > 0 or time.monotonic() - started >= HEALTHY_SECONDS
            failures = 0 if healthy else failures + 1
            if failures:
                try:
                    await asyncio.wait_for(self._stopped.wait(), self._plan.backoff.delay(failures))
                except TimeoutError:
                    pass

    async def _connect(self) -> AsyncStream | None:
        """The next connection's answer, or None when ``stop()`` came first (it cancels a connection attempt)."""
        timeout_seconds, connect, read = connection_timeouts(self._plan, self._transport.timeout)
        request = self._point.request(self._plan.request, timeout_seconds)
        connecting = asyncio.ensure_future(self._transport.stream(
            request, rate_limited=False, timeout=(connect, read),  # type: ignore[arg-type]
            retry=NO_RETRIES if self._plan.resume else None, warn=False))  # resuming retries itself
        self._connecting = connecting
        try:
            await asyncio.wait([connecting])
        except asyncio.CancelledError:  # this task was cancelled: so is the attempt
            connecting.cancel()
            raise
        finally:
            self._connecting = None
        if connecting.cancelled():
            return None
        response = connecting.result()
        if self._stopped.is_set():
            response.close()
            return None
        surface_warnings(response.headers.get("Warning"))  # here, in the reader's task: at the caller's line
        return response
