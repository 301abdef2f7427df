"""Pod logs for asyncio, as ``dynkube.logs``: a container's log, or a workload's, as text or
followed line by line (``async for``).

The decisions are ``dynkube.podlogs``' (the pods and containers ``choose_sources`` picks, the
requests of ``log_calls``, each line through ``LineReader`` with the same resume semantics over
``dynkube.core.logstream``); this module drives them with ``await``: the lookups on the asyncio
client, the followed connections on its transport, several sources in a task each.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from .. import raw
from ..core.exchange import NO_RETRIES, Timeout
from ..core.http import Request
from ..core.logstream import MergedFollows
from ..podlogs import (DEFAULT_MAX_LOG_REQUESTS, DEFAULT_POD_TIMEOUT, RECONNECTABLE, LineReader, ListPods, LogLine,
                       LogSelection, LogSource, ReadObject, check_follow, check_options, choose_sources, follow_timeout,
                       log_calls, prefixed)
from ..resources import Resource
from ..watch import DEFAULT_BACKOFF, Backoff, EventType
from .transport import AsyncStream, AsyncTransport

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

_QUEUED_LINES = 1000  # lines of several followed sources waiting for the reader, before their tasks wait


async def log_sources(client: Client, target: str | Mapping[str, Any] | None = None, namespace: str | None = None, *,
                      selector: str | Mapping[str, str] | None = None, container: str | None = None,
                      all_containers: bool = False, all_pods: bool = False,
                      pod_timeout: float = DEFAULT_POD_TIMEOUT) -> LogSelection:
    """The containers whose logs ``kubectl logs TARGET`` (or ``-l SELECTOR``) reads: the choice of
    ``dynkube.podlogs.log_sources``, looked up with the asyncio client."""
    plan = choose_sources(target, namespace or client.namespace, selector=selector, container=container,
                          all_containers=all_containers, all_pods=all_pods, pod_timeout=pod_timeout)
    answer: Any = None
    while True:
        try:
            lookup = plan.send(answer)
        except StopIteration as stop:
            selection: LogSelection = stop.value
            return selection
        answer = await _look_up(client, lookup)


async def _look_up(client: Client, lookup: Any) -> Any:
    """The answer to one lookup of ``choose_sources``."""
    if isinstance(lookup, ReadObject):
        resource = await client.resource(lookup.kind)
        return await resource.get(lookup.name, lookup.namespace if resource.resource.namespaced else None)
    pods = await client.resource("pods")
    if isinstance(lookup, ListPods):
        return await pods.list_page(lookup.namespace, label_selector=lookup.selector)
    async with pods.watch(lookup.namespace, label_selector=lookup.selector, resource_version=lookup.resource_version,
                          timeout_seconds=lookup.timeout_seconds) as watch:
        async for event in watch:
            if event.type in (EventType.ADDED, EventType.MODIFIED):
                return event.object
    return None


async def _pods_resource(client: Client) -> Resource:
    return (await client.resource("pods")).resource


async def read_logs(client: Client, sources: Sequence[LogSource], *, prefix: bool = False,
                    tail_lines: int | None = None, since_seconds: int | float | None = None,
                    since_time: str | dt.datetime | None = None, timestamps: bool = False, previous: bool = False,
                    limit_bytes: int | None = None, insecure_skip_tls_verify_backend: bool = False,
                    timeout: Timeout = None) -> str:
    """The logs of ``sources`` as text, one after the other (``dynkube.podlogs.read_logs``)."""
    calls = log_calls(await _pods_resource(client), sources, tail_lines=tail_lines, since_seconds=since_seconds,
                      since_time=since_time, timestamps=timestamps, previous=previous, limit_bytes=limit_bytes,
                      insecure_skip_tls_verify_backend=insecure_skip_tls_verify_backend)
    texts = []
    for source, call in zip(sources, calls):
        texts.append(prefixed(source, call.parse(await client.transport.send(call.request, timeout=timeout)), prefix))
    return "".join(texts)


async def follow_logs(client: Client, sources: Sequence[LogSource], *, resume: bool = False,
                      max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS, ignore_errors: bool = False,
                      tail_lines: int | None = None, since_seconds: int | float | None = None,
                      since_time: str | dt.datetime | None = None, timestamps: bool = False, previous: bool = False,
                      limit_bytes: int | None = None, insecure_skip_tls_verify_backend: bool = False,
                      backoff: Backoff = DEFAULT_BACKOFF) -> LogStream:
    """Follow the logs of ``sources``: a ``LogStream`` of ``LogLine``s as they arrive (``async for``),
    with the options and resume semantics of ``dynkube.podlogs.follow_logs``. No log request is sent
    before the stream is iterated."""
    check_follow(len(sources), resume, max_log_requests, ignore_errors, limit_bytes, backoff)
    followed = log_calls(await _pods_resource(client), sources, follow=True, tail_lines=tail_lines,
                         since_seconds=since_seconds, since_time=since_time, timestamps=timestamps or resume,
                         previous=previous, limit_bytes=limit_bytes,
                         insecure_skip_tls_verify_backend=insecure_skip_tls_verify_backend)
    followers = [_Follower(client.transport, source, call.request, LineReader(source, resume, timestamps), backoff)
                 for source, call in zip(sources, followed)]
    return LogStream(followers, ignore_errors=ignore_errors)


class _Follower:
    """One source's followed log, over as many connections as resuming takes."""

    def __init__(self, transport: AsyncTransport, source: LogSource, request: Request, reader: LineReader,
                 backoff: Backoff) -> None:
        self.source = source
        self._transport = transport
        self._request = request
        self._reader = reader
        self._backoff = backoff
        self._stopped = asyncio.Event()
        self._stream: AsyncStream | None = None

    def stop(self) -> None:
        """End the follow: the connection is shut down, the lines end without an error."""
        self._stopped.set()
        if self._stream is not None:
            self._stream.abort()

    async def lines(self) -> AsyncGenerator[LogLine, None]:
        failures = 0
        while not self._stopped.is_set():
            request = self._reader.request(self._request)
            delivered = 0
            try:
                async with contextlib.aclosing(self._connection(request)) as connection:
                    async for line in connection:
                        delivered += 1
                        yield line
                return  # the server ended the log: the container stopped
            except RECONNECTABLE as exc:
                if self._stopped.is_set():
                    return
                if self._reader.point is None:
                    raise
                log.info("logs of %s: %s; resuming from %s", self.source, exc, self._reader.point.last or "the start")
            failures = 0 if delivered else failures + 1
            if failures:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self._backoff.delay(failures))

    async def _connection(self, request: Request) -> AsyncGenerator[LogLine, None]:
        """The lines of one connection; LogStreamDropped when it breaks."""
        stream = await self._connect(request)
        if stream is None:
            return
        try:
            splitter = raw.LineSplitter()
            async for chunk in stream.chunks(65536):
                for text in splitter.feed(chunk):
                    if (line := self._reader.line(text)) is not None:
                        yield line
            for text in splitter.rest():
                if (line := self._reader.line(text)) is not None:
                    yield line
        except OSError as exc:  # AsyncStream's broken or aborted reads are ConnectionErrors
            if not self._stopped.is_set():
                raise self._reader.dropped(self._transport.url(request.path), exc) from None
        finally:
            stream.close()
            self._stream = None

    async def _connect(self, request: Request) -> AsyncStream | None:
        """The connection of ``request``, or None when the follow was stopped meanwhile."""
        connecting = asyncio.ensure_future(self._transport.stream(
            request, timeout=follow_timeout(self._transport.timeout),
            retry=NO_RETRIES if self._reader.point else None))
        stopping = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not connecting.done():
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
        if connecting.cancelled() or self._stopped.is_set():
            if not connecting.cancelled() and connecting.exception() is None:
                connecting.result().close()
            return None
        self._stream = connecting.result()
        return self._stream


class LogStream:
    """Followed log lines (``LogLine``) as they arrive: ``async for`` over it. ``await close()``, or
    leaving an ``async with`` block, ends the iteration (in any task) and releases every connection.
    The first request is sent on the first step. Lines of several sources come as they arrive."""

    def __init__(self, followers: Sequence[_Follower], *, ignore_errors: bool = False) -> None:
        self._followers = list(followers)
        self._ignore_errors = ignore_errors
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []
        self._lines = self._followers[0].lines() if len(self._followers) == 1 else self._merged()
        self.errors: list[tuple[LogSource, Exception]] = []  # with ignore_errors: the sources that failed

    @property
    def sources(self) -> tuple[LogSource, ...]:
        return tuple(f.source for f in self._followers)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<dynkube.aio.LogStream {', '.join(map(str, self.sources)) or 'no sources'} {state}>"

    def __aiter__(self) -> AsyncIterator[LogLine]:
        return self

    async def __anext__(self) -> LogLine:
        if self._closed:
            raise StopAsyncIteration
        return await self._lines.__anext__()

    async def __aenter__(self) -> LogStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """End the follow: every connection is shut down; an iteration waiting in another task stops
        without an error."""
        self._closed = True
        for follower in self._followers:
            follower.stop()
        with contextlib.suppress(RuntimeError):  # being iterated in another task: it ends there
            await self._lines.aclose()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _merged(self) -> AsyncGenerator[LogLine, None]:
        """The lines of every follower, each read in its own task, as they arrive."""
        if not self._followers:
            return
        arrived: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(_QUEUED_LINES)
        self._tasks = [asyncio.create_task(self._pump(f, arrived), name=f"dynkube-logs {f.source}")
                       for f in self._followers]
        merge = MergedFollows(len(self._tasks), ignore_errors=self._ignore_errors, errors=self.errors)
        try:
            while merge.running:
                line = merge.arrival(*await arrived.get())
                if line is not None:
                    yield line
        finally:
            for follower in self._followers:
                follower.stop()
            for task in self._tasks:
                task.cancel()

    async def _pump(self, follower: _Follower, arrived: asyncio.Queue[tuple[str, Any]]) -> None:
        try:
            async with contextlib.aclosing(follower.lines()) as lines:
                async for line in lines:
                    await arrived.put(("line", line))
        except Exception as exc:  # handed to the reader, which raises or (ignore_errors) logs it
            await arrived.put(("error", (follower.source, exc)))
        await arrived.put(("end", None))


@overload
async def logs(client: Client, target: str | Mapping[str, Any] | None = ..., namespace: str | None = ..., *,
               follow: Literal[False] = ..., selector: str | Mapping[str, str] | None = ...,
               container: str | None = ..., all_containers: bool = ..., all_pods: bool = ...,
               pod_timeout: float = ..., prefix: bool = ..., resume: bool = ..., max_log_requests: int = ...,
               ignore_errors: bool = ..., tail_lines: int | None = ..., since_seconds: int | float | None = ...,
               since_time: str | dt.datetime | None = ..., timestamps: bool = ..., previous: bool = ...,
               limit_bytes: int | None = ..., insecure_skip_tls_verify_backend: bool = ...,
               timeout: Timeout = ...) -> str: ...


@overload
async def logs(client: Client, target: str | Mapping[str, Any] | None = ..., namespace: str | None = ..., *,
               follow: Literal[True], selector: str | Mapping[str, str] | None = ..., container: str | None = ...,
               all_containers: bool = ..., all_pods: bool = ..., pod_timeout: float = ..., prefix: bool = ...,
               resume: bool = ..., max_log_requests: int = ..., ignore_errors: bool = ...,
               tail_lines: int | None = ..., since_seconds: int | float | None = ...,
               since_time: str | dt.datetime | None = ..., timestamps: bool = ..., previous: bool = ...,
               limit_bytes: int | None = ..., insecure_skip_tls_verify_backend: bool = ...,
               timeout: Timeout = ...) -> LogStream: ...


async def logs(client: Client, target: str | Mapping[str, Any] | None = None, namespace: str | None = None, *,
               follow: bool = False, selector: str | Mapping[str, str] | None = None, container: str | None = None,
               all_containers: bool = False, all_pods: bool = False, pod_timeout: float = DEFAULT_POD_TIMEOUT,
               prefix: bool = False, resume: bool = False, max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS,
               ignore_errors: bool = False, tail_lines: int | None = None, since_seconds: int | float | None = None,
               since_time: str | dt.datetime | None = None, timestamps: bool = False, previous: bool = False,
               limit_bytes: int | None = None, insecure_skip_tls_verify_backend: bool = False,
               timeout: Timeout = None) -> str | LogStream:
    """The logs of a pod or workload, like ``kubectl logs`` (the arguments of ``dynkube.logs``):
    the text, or with ``follow=True`` a ``LogStream`` to ``async for`` over. Every argument is
    checked before the first request."""
    options: dict[str, Any] = {
        "tail_lines": tail_lines, "since_seconds": since_seconds, "since_time": since_time, "timestamps": timestamps,
        "previous": previous, "limit_bytes": limit_bytes,
        "insecure_skip_tls_verify_backend": insecure_skip_tls_verify_backend}
    check_options(follow=follow, resume=resume, prefix=prefix, max_log_requests=max_log_requests,
                  ignore_errors=ignore_errors, **options)
    selection = await log_sources(client, target, namespace, selector=selector, container=container,
                                  all_containers=all_containers, all_pods=all_pods, pod_timeout=pod_timeout)
    for notice in selection.notices:
        log.info("%s", notice)
    if follow:
        return await follow_logs(client, selection.sources, resume=resume, max_log_requests=max_log_requests,
                                 ignore_errors=ignore_errors, **options)
    return await read_logs(client, selection.sources, prefix=prefix, timeout=timeout, **options)
