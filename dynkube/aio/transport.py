"""The asyncio transport shell: ``AsyncTransport.send(Request) -> Response`` over aiohttp.

It obeys the same sans-I/O exchange as the sync transport (``dynkube.core.exchange.attempts``:
take a token, send, refresh the credentials, wait) with ``await`` instead of blocking, so retries,
Retry-After, the one backoff formula, credential refresh on a 401 and the deadlines are decided in
one place for both clients. Credentials that may block (exec plugins, token files) run on a worker
thread, off the event loop (``dynkube.credentials.may_block`` tells which); the others are read on
the loop. This module is the only one of ``dynkube.aio`` that touches aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict

from .. import errors
from ..config import Config
from ..credentials import may_block
from ..core.exchange import (REFRESH, RESERVE, Answered, Limits, NoAnswer, RetryPolicy, Send, Timeout,
                             TokenReservations, Verdict, Wait, attempts, clamped, limits_for)
from ..core.channels import header_lines, upgrade_url
from ..core.http import MAX_REDIRECTS, Headers, Request, Response, redirect_refusal
from ..core.status import error_for, json_object
from .. import connection
from ..connection import (DEFAULT_BURST, DEFAULT_QPS, DEFAULT_TIMEOUT, USER_AGENT,
                          CertificateProblem, build_ssl_context, certificate_error, check_rate_limit, check_timeout,
                          UpgradeTarget, environment_proxy, socket_options, surface_warnings, verification_problem)

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class AsyncTokenBucket:
    """client-go's token bucket (``TokenReservations``) for one event loop, awaiting its tokens."""

    def __init__(self, qps: float, burst: int) -> None:
        self._reservations = TokenReservations(qps, burst, time.monotonic())

    async def acquire(self) -> float:
        """Take one token, sleeping until it is there; the seconds waited."""
        wait = self._reservations.reserve(time.monotonic())  # no await in between: no lock needed
        if wait:
            await asyncio.sleep(wait)
        return wait


class _Attempt:
    """What aiohttp tells about one attempt while it runs (its tracing hooks): a kept-alive connection."""

    __slots__ = ("reused",)

    def __init__(self) -> None:
        self.reused = False


async def _on_reuse(session: Any, context: Any, params: Any) -> None:
    attempt = context.trace_request_ctx
    if isinstance(attempt, _Attempt):
        attempt.reused = True


class AsyncStream:
    """A streamed answer (a watch's): status and headers now, the body as it arrives.

    Reading raises ``ConnectionError`` (an ``OSError``, as the sync ``Stream``'s reads do) when the
    connection breaks or stays silent past the read timeout. ``close()`` releases the connection.
    """

    def __init__(self, raw: aiohttp.ClientResponse) -> None:
        self._raw = raw
        self.status_code = raw.status
        self.headers = _headers(raw)
        self.url = str(raw.url)

    async def chunks(self, size: int) -> AsyncIterator[bytes]:
        """The body as it arrives, each piece as soon as it is there (at most ``size`` bytes)."""
        try:
            while True:
                data = await self._raw.content.readany()
                if not data:
                    return
                for start in range(0, len(data), size):
                    yield data[start:start + size]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ConnectionError(f"{exc.__class__.__name__}: {exc}") from None

    def close(self) -> None:
        """Close the answer's connection (it is not reused when the body was not read to its end)."""
        self._raw.close()

    def abort(self) -> None:
        """End a read waiting in another task at once (it raises ConnectionError), then close."""
        self._raw.content.set_exception(ConnectionAbortedError("the stream was stopped"))
        self._raw.close()

    @property
    def closed(self) -> bool:
        """True once the answer's connection is closed or released."""
        return self._raw.closed


class AsyncTransport:
    """Sends requests to one cluster as one user, from one event loop (see ``dynkube.Transport``
    for ``qps``, ``burst``, ``timeout`` and ``retry``: the same settings and the same meaning).

    The connection pool is made on first use, in the running loop; using the transport from
    another loop raises ``InvalidInput``. ``close()`` closes every connection.
    """

    def __init__(self, config: Config, *, qps: float | None = DEFAULT_QPS, burst: int = DEFAULT_BURST,
                 timeout: Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy()) -> None:
        check_timeout(timeout)
        check_rate_limit(qps, burst, retry)
        self.config = config
        self.base_url = config.server.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self._limiter = AsyncTokenBucket(qps, burst) if qps and qps > 0 else None
        self._secure = urlsplit(self.base_url).scheme == "https"
        self._session: aiohttp.ClientSession | None = None
        self._retired: list[aiohttp.ClientSession] = []  # replaced sessions, closed with the transport
        self._building: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client_certificate: tuple[bytes, bytes] | None = None
        self._tls: tuple[tuple[bytes, bytes] | None, ssl.SSLContext] | None = None  # (certificate, context)
        self._blocking_credentials = may_block(config.credentials)
        self._proxy = config.proxy_url or environment_proxy(self.base_url)

    def url(self, path: str) -> str:
        """The absolute URL of a server-relative path (any path prefix of the server is kept)."""
        return self.base_url + path

    async def close(self) -> None:
        """Close every pooled connection."""
        sessions, self._session, self._retired = [self._session, *self._retired], None, []
        for session in sessions:
            if session is not None and not session.closed:
                await session.close()

    # ---- sending ---------------------------------------------------------------------------

    async def send(self, request: Request, *, timeout: Timeout = None, retry: RetryPolicy | None = None,
                   rate_limited: bool = True) -> Response:
        """Send one request (with retries) and return its 2xx or 304 answer, body read."""
        if request.stream:
            raise errors.InvalidInput(f"{request.method} {request.path} is a streamed request: use stream()")
        raw = await self._run(request, timeout, retry, rate_limited)
        try:
            return Response(raw.status, _headers(raw), await raw.read(), raw.reason or "", str(raw.url),
                            tuple(str(r.url) for r in raw.history))
        finally:
            raw.release()

    async def stream(self, request: Request, *, timeout: Timeout = None, retry: RetryPolicy | None = None,
                     rate_limited: bool = True, warn: bool = True) -> AsyncStream:
        """Send one request as ``send`` does, but return its answer as soon as the headers are in
        (the caller must close the stream). ``warn=False``: the caller surfaces the answer's Warning
        header (a watch connecting in a task of its own does, so the warning points at its caller)."""
        return AsyncStream(await self._run(request._replace(stream=True), timeout, retry, rate_limited, warn))

    async def request_json(self, method: str, path: str) -> dict[str, Any]:
        """A bodiless request whose answer must be a JSON object (MalformedResponse otherwise)."""
        return json_object(await self.send(Request(method.upper(), path, headers={"Accept": "application/json"})),
                           method.upper(), self.url(path))

    async def _run(self, request: Request, timeout: Timeout, retry: RetryPolicy | None,
                   rate_limited: bool, warn: bool = True) -> aiohttp.ClientResponse:
        """Obey the exchange's commands for one request, until an answer to return or an error to raise."""
        if timeout is not None:
            check_timeout(timeout)
        policy = retry or self.retry
        limits = limits_for(timeout if timeout is not None else self.timeout, policy)
        started = time.monotonic()
        deadline = started + limits.overall
        flow = attempts(request.method, policy, deadline, time.monotonic, rate_limited=rate_limited)
        response: aiohttp.ClientResponse | None = None
        body = b""  # an error answer's body, read before its connection is released
        identity: Identity = ({}, None)  # what the last attempt was sent with
        failure: NoAnswer | None = None
        outcome: Answered | NoAnswer | bool | None = None
        try:
            while True:
                command = flow.send(outcome)
                outcome = None
                if isinstance(command, Wait):
                    if response is not None:
                        response.release()
                    log.info("retrying %s %s in %.2fs after %s", request.method, request.path, command.seconds,
                             command.after)
                    await asyncio.sleep(command.seconds)
                elif command is REFRESH:
                    if response is not None:
                        response.release()
                    outcome = await self._refresh_credentials(identity[0])
                elif command is RESERVE:
                    if self._limiter:
                        await self._limiter.acquire()
                elif isinstance(command, Send):
                    response, failure, body = None, None, b""
                    identity = await self._identity()
                    try:
                        response, body = await self._attempt(request, limits, deadline, identity, fresh=command.fresh,
                                                             warn=warn)
                        outcome = Answered(response.status, _headers(response))
                    except _Failed as failed:
                        outcome = failure = failed.outcome
        except StopIteration as stop:
            verdict = stop.value
        if response is not None and verdict is Verdict.ANSWER:
            return response
        url = self.url(request.path)
        if response is not None:
            response.release()
            raise error_for(Response(response.status, _headers(response), body, response.reason or "",
                                     str(response.url)), request.method, url)
        assert failure is not None
        if failure.expired:
            raise errors.TransportError(f"{request.method} {url}: timed out after {time.monotonic() - started:.1f} s "
                                        f"without a complete answer", url=url)
        raise errors.TransportError(f"{request.method} {url}: {failure.reason}", url=url)

    async def _attempt(self, request: Request, limits: Limits, deadline: float, identity: Identity, *,
                       fresh: bool, warn: bool = True) -> tuple[aiohttp.ClientResponse, bytes]:
        """One attempt, redirects within the server's origin followed; ``_Failed`` when no answer came.
        The answer, and its body when it was read (an error's, or a whole answer's; a stream's is not)."""
        headers, certificate = identity
        session = await self._session_for(certificate, fresh=fresh)
        started = time.monotonic()
        attempt_deadline = min(deadline, started + limits.attempt) if limits.attempt is not None else deadline
        connect, read = clamped(limits, attempt_deadline, started)
        send_headers = _header_lines({"User-Agent": USER_AGENT, **headers, **request.headers})
        if self.config.disable_compression:
            send_headers["Accept-Encoding"] = "identity"
        url, method, body = self.url(request.path), request.method, request.body
        attempt = _Attempt()
        try:
            async with asyncio.timeout(max(0.001, attempt_deadline - time.monotonic())):
                for _ in range(MAX_REDIRECTS + 1):
                    response = await session.request(
                        method, url, params=_query(request.params) if url == self.url(request.path) else None,
                        headers=send_headers, data=body, allow_redirects=False, proxy=self._proxy,
                        server_hostname=self.config.tls_server_name or None, trace_request_ctx=attempt,
                        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect,
                                                      sock_read=read if not request.stream else limits.read))
                    location = response.headers.get("Location")
                    if response.status not in _REDIRECTS or not location:
                        break
                    target = urljoin(str(response.url), location)
                    refusal = redirect_refusal(method, str(response.url), response.status, target)
                    response.release()
                    if refusal is not None:
                        raise refusal
                    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                        method, body = "GET", None
                    url = target
                else:
                    raise errors.TransportError(f"{request.method} {self.url(request.path)}: more than "
                                                f"{MAX_REDIRECTS} redirects", url=self.url(request.path))
                body = b""
                if not request.stream or response.status >= 400:
                    body = await response.read()  # the whole body within the attempt's time
        except aiohttp.ClientConnectorCertificateError as exc:
            problem = verification_problem(exc.certificate_error) or CertificateProblem(str(exc), "other")
            raise certificate_error(self.config, request.method, self.url(request.path), problem) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            # aiohttp's read timeout (a silent connection) is a failed attempt, not the attempt's time running out
            expired = (isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, aiohttp.ServerTimeoutError)) \
                or time.monotonic() >= attempt_deadline
            never_sent = isinstance(exc, aiohttp.ClientConnectorError) and not expired
            raise _Failed(NoAnswer(f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__,
                                   never_sent=never_sent, reused=attempt.reused, expired=expired)) from None
        log.debug("%s %s -> %d in %.1f ms", request.method, response.url, response.status,
                  (time.monotonic() - started) * 1000)
        if warn:
            surface_warnings(response.headers.get("Warning"))
        return response, body

    # ---- WebSocket upgrades (dynkube.aio.streaming) ------------------------------------------

    async def upgrade_target(self, request: Request) -> UpgradeTarget:
        """What a WebSocket connection for ``request`` needs of this transport, as
        ``Transport.upgrade_target``: the credentials are asked now (on a worker thread when that
        may block)."""
        headers, certificate = await self._identity()
        context = await self._tls_context(certificate) if self._secure else None
        return UpgradeTarget(
            upgrade_url(self.url(request.path), request.params), context, self.config.tls_server_name,
            header_lines({"User-Agent": USER_AGENT}, headers, request.headers), self._proxy)

    async def _tls_context(self, certificate: tuple[bytes, bytes] | None) -> ssl.SSLContext:
        """The TLS context of the connection pool and of WebSocket connections, built on a worker
        thread once per client certificate (building one costs 5-70 ms: the CA and the certificate
        are parsed again)."""
        cached = self._tls
        if cached is None or cached[0] != certificate:
            cached = (certificate, await asyncio.to_thread(build_ssl_context, self.config, certificate))
            self._tls = cached
        return cached[1]

    async def refresh_after(self, target: UpgradeTarget) -> bool:
        """After a 401 on the upgrade of ``target``: rotate the credentials as ``send`` does; True if
        they changed since ``target`` was made, and asking again makes sense."""
        if not self._secure:
            return False
        credentials, sent = self.config.credentials, set(target.headers)
        return await asyncio.to_thread(
            lambda: credentials.refresh() or not set(header_lines(credentials.headers())) <= sent)

    # ---- identity and the connection pool ---------------------------------------------------

    async def _identity(self) -> Identity:
        """The credentials' headers, then their client certificate: on a worker thread when reading
        them may block (a token file re-read, an exec plugin run), else here, on the loop."""
        if not self._secure:
            return {}, None
        credentials = self.config.credentials
        if not self._blocking_credentials:
            return credentials.headers(), credentials.client_certificate()
        return await asyncio.to_thread(lambda: (credentials.headers(), credentials.client_certificate()))

    async def _refresh_credentials(self, sent: Mapping[str, str | list[str]]) -> bool:
        """After a 401: ask the credentials to rotate (on a worker thread); True if they did, or if
        another request's refresh already rotated them since this one was sent (the credentials
        track what each thread sent, and worker threads are shared by every request)."""
        if not self._secure:
            return False
        credentials = self.config.credentials

        def rotated() -> bool:
            return credentials.refresh() or dict(credentials.headers()) != dict(sent)

        return await asyncio.to_thread(rotated) if self._blocking_credentials else rotated()

    async def _session_for(self, certificate: tuple[bytes, bytes] | None, *, fresh: bool) -> aiohttp.ClientSession:
        """The pooled session: made in the running loop on first use; made again when the client
        certificate changed or a fresh connection is needed (the old one is closed with the transport)."""
        loop = asyncio.get_running_loop()
        stale = self._session
        if self._loop is not None and self._loop is not loop:
            raise errors.InvalidInput("this dynkube.aio client was first used in another event loop; "
                                      "use one dynkube.aio.Client per event loop")
        session = self._session
        if session is not None and not session.closed and certificate == self._client_certificate and not fresh:
            return session
        if self._building is None:
            self._building = asyncio.Lock()
        async with self._building:  # one new session, however many requests need it at once
            session = self._session
            if session is None or session.closed or certificate != self._client_certificate or (
                    fresh and session is stale):
                session = await self._new_session(certificate)
                self._loop = loop
        return session

    async def _new_session(self, certificate: tuple[bytes, bytes] | None) -> aiohttp.ClientSession:
        if self._session is not None:  # requests in flight on it finish; closed with the transport
            self._retired.append(self._session)
        context = await self._tls_context(certificate) if self._secure else None
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_reuseconn.append(_on_reuse)
        # limit=0: no cap on open connections (aiohttp's default of 100 would hold the 101st watch of
        # an informer over many kinds for ever); the sync pool likewise opens more when all are busy
        connector = aiohttp.TCPConnector(ssl=context if context is not None else False, limit=0,
                                         keepalive_timeout=connection.IDLE_CONNECTION_SECONDS,
                                         socket_factory=_keepalive_socket)
        self._session = aiohttp.ClientSession(connector=connector, trace_configs=[tracing], trust_env=False,
                                              auto_decompress=True)
        self._client_certificate = certificate
        return self._session


Identity = tuple[Mapping[str, "str | list[str]"], "tuple[bytes, bytes] | None"]
"""What a request is sent with: the credentials' headers and client certificate."""


class _Failed(Exception):
    """An attempt that got no answer, and what the exchange is told about it."""

    def __init__(self, outcome: NoAnswer) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


def _keepalive_socket(address: Any) -> socket.socket:
    """A socket with the sync transport's options: TCP keepalive with short intervals, TCP_USER_TIMEOUT."""
    family, kind, protocol = address[0], address[1], address[2]
    sock = socket.socket(family, kind, protocol)
    try:
        for level, option, value in socket_options():
            sock.setsockopt(level, option, value)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _header_lines(headers: Mapping[str, str | list[str]]) -> CIMultiDict[str]:
    """The header lines of a request: a list value is one line per item (several Impersonate-Group)."""
    lines: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        for item in value if isinstance(value, list) else (value,):
            lines.add(name, item)
    return lines


def _headers(raw: aiohttp.ClientResponse) -> Headers:
    """The answer's headers; a header sent on several lines is one value, joined by ", " (as requests does)."""
    joined: dict[str, str] = {}
    for name, value in raw.headers.items():
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return Headers(joined)


def _query(params: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """aiohttp's form of a query: every value a string, as requests makes them."""
    if not params:
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            pairs.append((key, str(item)))
    return pairs

