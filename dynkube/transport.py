"""Transport: one requests.Session per client, with TLS, credentials, rate limiting, retries,
deadlines and redirects within the server's origin only.

``Transport.send(Request) -> Response`` (and ``Transport.stream`` for watches) is the only code that
touches ``requests``: everything above it speaks ``dynkube.core.http`` values. What to do next in a
request (reserve a token, send, refresh credentials, wait, give up) is decided by the sans-I/O
exchange, ``dynkube.core.exchange.attempts``; this module obeys it. An error answer becomes its
typed exception in one function, ``dynkube.core.status.error_for``. Every request has a total deadline,
enforced by one watchdog thread that shuts the socket down (a per-read timeout alone lets a server
that trickles bytes hold a request forever); ``CancelScope`` lets another thread end requests the
same way.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import connection, errors
from .config import Config
from .connection import (DEFAULT_BURST as DEFAULT_BURST, DEFAULT_QPS as DEFAULT_QPS,  # re-exported: taught from here
                         DEFAULT_TIMEOUT as DEFAULT_TIMEOUT, IDLE_CONNECTION_SECONDS as IDLE_CONNECTION_SECONDS,
                         KEEPALIVE as KEEPALIVE, USER_AGENT as USER_AGENT, CertificateProblem as CertificateProblem,
                         certificate_error as certificate_error, check_rate_limit as check_rate_limit,
                         check_timeout as check_timeout, environment_proxy, socket_options as socket_options,
                         surface_warnings as surface_warnings, verification_problem as verification_problem,
                         UpgradeTarget as UpgradeTarget)
from .core.exchange import NO_RETRIES as NO_RETRIES  # re-exported: the retry names were taught from here
from .core.exchange import REFRESH, RESERVE, Answered, NoAnswer, Send, TokenReservations, Verdict, Wait, attempts
from .core.exchange import Limits, RetryPolicy as RetryPolicy, Timeout as Timeout, clamped, limits_for
from .core.exchange import retry_delay as retry_delay
from .core.channels import header_lines, upgrade_url
from .core.http import MAX_REDIRECTS, Headers, Request, Response, build_request as build_request
from .core.http import redirect_refusal
from .core.status import error_for, json_object

log = logging.getLogger(__name__)













class TokenBucket:
    """client-go's token bucket (``TokenReservations``), thread-safe, sleeping for its tokens."""

    def __init__(self, qps: float, burst: int) -> None:
        self._reservations = TokenReservations(qps, burst, time.monotonic())
        self.qps = qps
        self.burst = self._reservations.burst
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            wait = self._reservations.reserve(time.monotonic())
        if wait:
            time.sleep(wait)
        return wait


class _Session(requests.Session):
    """A Session that follows a redirect only within the origin (scheme, host and port) it was sent to.

    Anything else raises RedirectRefused before a byte goes to the other endpoint: the credentials,
    impersonation headers, client certificate and a 307'd body would all go along.
    """

    def __init__(self) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        location = super().get_redirect_target(resp)
        if location is not None:
            refusal = redirect_refusal(resp.request.method or "GET", resp.url, resp.status_code,
                                       urljoin(resp.url, location))
            if refusal is not None:
                resp.close()
                raise refusal
        return location


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    """Keeps the server's answer readable when it closes the connection while the body is still being
    sent (kube-apiserver answers 413 to a body over its limit, then closes): urllib3 already does this
    for a broken pipe or a reset, but over TLS the close shows as SSLEOFError."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().request(*args, **kwargs)
        except ssl.SSLEOFError:
            log.debug("the server closed the connection while the request was being sent; reading its answer")


# ---- deadlines, cancellation, connection hygiene ------------------------------------------

_local = threading.local()  # .exchange: the request this thread is sending; .scopes: its active CancelScopes
_OWNERS = threading.Lock()  # guards which exchange owns which pooled connection


class _Exchange:
    """One request while it runs: the connection its current attempt uses, so that the watchdog
    (deadline) or a ``CancelScope`` (another thread) can shut that connection down."""

    def __init__(self) -> None:
        self.interrupted = threading.Event()  # cancelled: no further attempt, no further wait
        self.attempt = 0  # counts attempts; the watchdog only ends the one it was armed for
        self.sending = False
        self.expired = False  # the current attempt ran out of time
        self.reused = False  # the current attempt got a kept-alive connection from the pool
        self.fresh = False  # the next attempt must not reuse a pooled connection
        self._conn: Any = None
        self._handshaking: ssl.SSLSocket | None = None  # a TLS socket not yet handed to the connection

    def begin(self) -> int:
        with _OWNERS:
            self.attempt += 1
            self.sending, self.expired, self.reused, self._conn, self._handshaking = True, False, False, None, None
            return self.attempt

    def end(self) -> None:
        with _OWNERS:
            self.sending, self._conn, self._handshaking = False, None, None

    def bind(self, conn: Any) -> None:
        """Called by the pool with the connection this attempt will use."""
        if self.fresh and conn.sock is not None:
            conn.close()  # connects anew on use
        self.fresh = False
        self._register(conn=conn)

    def handshake(self, sock: ssl.SSLSocket) -> None:
        """Called by the TLS socket of this attempt's new connection, before its handshake."""
        self._register(tls=sock)

    def _register(self, conn: Any = None, tls: ssl.SSLSocket | None = None) -> None:
        """Note a connection or socket of this attempt; shut it at once if the attempt already ended."""
        with _OWNERS:
            if conn is not None:
                self.reused = conn.sock is not None
                self._conn = conn
                conn.dynkube_owner = self
            if tls is not None:
                self._handshaking = tls
            late = self.sending and (self.expired or self.interrupted.is_set())
            sockets = self._sockets() if late else []
        _shut(sockets)

    def expire(self, attempt: int) -> None:
        """The watchdog: this attempt's deadline has passed."""
        with _OWNERS:
            if not self.sending or attempt != self.attempt:
                return
            self.expired = True
            sockets = self._sockets()
        _shut(sockets)

    def cancel(self) -> None:
        self.interrupted.set()
        with _OWNERS:
            sockets = self._sockets() if self.sending else []
        _shut(sockets)

    def _sockets(self) -> list[socket.socket]:
        conn = self._conn
        owned = conn is not None and getattr(conn, "dynkube_owner", None) is self
        return [s for s in (getattr(conn, "sock", None) if owned else None, self._handshaking) if s is not None]


def _shut(sockets: list[socket.socket]) -> None:
    """Shut sockets down so a read, write or handshake blocked in another thread returns."""
    for sock in sockets:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's shutdown, also for TLS sockets
        except OSError:  # already closed (a TLS wrap detaches the plain socket), or not connected
            pass


class _TrackedSSLSocket(ssl.SSLSocket):
    """A TLS socket that shows itself to the request of its thread before its handshake, so that a
    deadline or a cancel can end a handshake that a server never answers."""

    def do_handshake(self, block: bool = False) -> None:
        exchange = getattr(_local, "exchange", None)
        if exchange is not None:
            exchange.handshake(self)
        super().do_handshake(block)


_PRUNE_FROM = 64
"""The watchdog's queue holds at most this many entries, or twice those still running, before it
forgets the attempts that ended (each holds its exchange, about 1 KB, until its deadline passes)."""


class _Watchdog:
    """One daemon thread that expires attempts at their deadlines (started on first use)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Exchange, int]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._prune_at = _PRUNE_FROM

    def arm(self, deadline: float, exchange: _Exchange, attempt: int) -> None:
        with self._wake:
            if len(self._heap) >= self._prune_at:  # forget attempts that ended long before their deadline
                self._heap = [e for e in self._heap if e[2].sending and e[2].attempt == e[3]]
                heapq.heapify(self._heap)
                self._prune_at = max(_PRUNE_FROM, 2 * len(self._heap))
            heapq.heappush(self._heap, (deadline, next(self._order), exchange, attempt))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="transport-deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][2] is exchange:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, exchange, attempt = heapq.heappop(self._heap)
            exchange.expire(attempt)


_WATCHDOG = _Watchdog()


class CancelScope:
    """Lets another thread end the requests made inside ``with scope:``: ``cancel()`` shuts the
    connection of the request in flight down, ends its retry wait, and makes every later request in
    the scope fail at once with ``TransportError``. Cancelling is final; scopes nest."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._exchanges: set[_Exchange] = set()
        self._lock = threading.Lock()

    def __enter__(self) -> CancelScope:
        _local.scopes = (*getattr(_local, "scopes", ()), self)
        return self

    def __exit__(self, *exc: object) -> None:
        scopes = getattr(_local, "scopes", ())
        _local.scopes = tuple(s for s in scopes if s is not self)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            exchanges = list(self._exchanges)
        for exchange in exchanges:
            exchange.cancel()

    def _join(self, exchange: _Exchange) -> None:
        with self._lock:
            self._exchanges.add(exchange)
        if self._cancelled.is_set():
            exchange.cancel()

    def _leave(self, exchange: _Exchange) -> None:
        with self._lock:
            self._exchanges.discard(exchange)


@contextlib.contextmanager
def _exchange() -> Iterator[_Exchange]:
    """A new exchange, joined to this thread's cancel scopes for as long as the request runs."""
    exchange = _Exchange()
    scopes = getattr(_local, "scopes", ())
    for scope in scopes:
        scope._join(exchange)
    try:
        yield exchange
    finally:
        for scope in scopes:
            scope._leave(exchange)


def _bind_to_current(conn: Any) -> Any:
    exchange = getattr(_local, "exchange", None)
    if exchange is not None:
        exchange.bind(conn)
    return conn


def _idle_too_long(conn: Any) -> bool:
    since = getattr(conn, "dynkube_idle_since", None)
    return since is not None and conn.sock is not None and time.monotonic() - since > connection.IDLE_CONNECTION_SECONDS


class _TrackedPool:
    """Pool behaviour shared by our HTTP and HTTPS pools: a connection idle too long is closed
    instead of reused, and each connection handed out is bound to the request of this thread."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        if _idle_too_long(conn):
            log.debug("not reusing a connection idle for over %.0f s", connection.IDLE_CONNECTION_SECONDS)
            conn.close()
        return _bind_to_current(conn)

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.dynkube_idle_since = time.monotonic()
            conn.dynkube_owner = None
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_TrackedPool, HTTPConnectionPool):
    pass


class _HTTPSPool(_TrackedPool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}




class _Adapter(HTTPAdapter):
    """An HTTPAdapter whose pools are ours (deadlines, idle limit) and whose sockets keep alive."""

    def __init__(self, pool_maxsize: int) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["socket_options"] = socket_options()
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        socks = proxy.lower().startswith("socks")  # SOCKS proxies bring their own pools and sockets
        if not socks:
            proxy_kwargs.setdefault("socket_options", socket_options())
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not socks:
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


class _TLSAdapter(_Adapter):
    """An HTTPAdapter with our own SSLContext and optional SNI / verification name override.

    With ``own_ca`` (the config names a certificate authority) that CA is the only one trusted, as in
    client-go; requests would otherwise add its bundle of public CAs to the context on every connection.
    """

    def __init__(self, ssl_context: ssl.SSLContext, server_hostname: str | None, pool_maxsize: int,
                 *, own_ca: bool = False) -> None:
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._own_ca = own_ca
        super().__init__(pool_maxsize)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        if self._own_ca:
            conn.ca_certs = None
            conn.ca_cert_dir = None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        if self._server_hostname:
            kwargs["server_hostname"] = self._server_hostname
            kwargs["assert_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        if self._server_hostname:
            proxy_kwargs["server_hostname"] = self._server_hostname
            proxy_kwargs["assert_hostname"] = self._server_hostname
        return super().proxy_manager_for(proxy, **proxy_kwargs)










def build_ssl_context(config: Config, client_certificate: tuple[bytes, bytes] | None) -> ssl.SSLContext:
    """``dynkube.connection.build_ssl_context``, with TLS sockets that show themselves to the request
    of their thread before the handshake, so that a deadline or a cancel can end a stalled one."""
    ctx = connection.build_ssl_context(config, client_certificate)
    ctx.sslsocket_class = _TrackedSSLSocket
    return ctx


class Transport:
    """Sends requests to one cluster as one user.

    ``qps``/``burst`` configure the client-side token bucket (``qps=None`` or ``<= 0`` turns it
    off); ``timeout`` is the default ``Timeout``, overridable per call; ``retry`` bounds retries
    (``total_seconds`` is also the bound of every request, its attempts and waits included).
    Non-2xx answers (except 304) raise ``dynkube.errors.ApiError`` subclasses; connection
    failures and requests out of time raise ``dynkube.errors.TransportError``.
    """

    def __init__(self, config: Config, *, qps: float | None = DEFAULT_QPS, burst: int = DEFAULT_BURST,
                 timeout: Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 pool_maxsize: int = 32) -> None:
        check_timeout(timeout)
        check_rate_limit(qps, burst, retry)
        self.config = config
        self.base_url = config.server.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self._limiter = TokenBucket(qps, burst) if qps and qps > 0 else None
        self._secure = urlsplit(self.base_url).scheme == "https"  # urlsplit lower-cases the scheme
        self._pool_maxsize = pool_maxsize
        self._client_certificate: tuple[bytes, bytes] | None = None
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._upgrade_tls: tuple[tuple[bytes, bytes] | None, ssl.SSLContext] | None = None  # (certificate, context)

    @property
    def session(self) -> requests.Session:
        """The pooled session, built on first use (credentials such as exec plugins run only then)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    if self._secure:
                        self._client_certificate = self.config.credentials.client_certificate()
                    self._session = self._new_session()
        return self._session

    def _new_session(self) -> requests.Session:
        session = _Session()
        session.trust_env = False  # no .netrc, no REQUESTS_CA_BUNDLE; proxies from env are read below
        session.headers["User-Agent"] = USER_AGENT
        if self.config.disable_compression:
            session.headers["Accept-Encoding"] = "identity"
        session.verify = not self.config.insecure_skip_tls_verify
        session.proxies = self._proxies()
        if self._secure:
            ctx = build_ssl_context(self.config, self._client_certificate)
            session.mount("https://", _TLSAdapter(ctx, self.config.tls_server_name, self._pool_maxsize,
                                                  own_ca=bool(self.config.ca_data)))
        else:
            session.mount("http://", _Adapter(self._pool_maxsize))
        return session

    def _proxies(self) -> dict[str, str]:
        proxy = self.config.proxy_url or environment_proxy(self.base_url)
        return {"http": proxy, "https": proxy} if proxy else {}

    def close(self) -> None:
        """Close pooled connections."""
        if self._session is not None:
            self._session.close()

    def url(self, path: str) -> str:
        """The absolute URL of a server-relative path (any path prefix of the server is kept)."""
        return self.base_url + path

    def send(self, request: Request, *, timeout: Timeout = None, retry: RetryPolicy | None = None,
             rate_limited: bool = True) -> Response:
        """Send one request (with retries) and return its 2xx or 304 answer, body read.

        ``timeout`` overrides the transport's for this request, ``retry`` its policy; watches pass
        ``rate_limited=False``. A streamed request (``request.stream``) goes through ``stream``.
        """
        if request.stream:
            raise errors.InvalidInput(f"{request.method} {request.path} is a streamed request: use Transport.stream")
        raw = self._run(request, timeout, retry, rate_limited)
        try:
            return _response(raw)
        finally:
            raw.close()

    def stream(self, request: Request, *, timeout: Timeout = None, retry: RetryPolicy | None = None,
               rate_limited: bool = True) -> Stream:
        """Send one request as ``send`` does, but return its answer as soon as the headers are in:
        the body is read as it arrives (the caller must close the stream)."""
        return Stream(self._run(request._replace(stream=True), timeout, retry, rate_limited))

    def request(self, method: str, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None,
                body: Any = None, data: bytes | None = None, content_type: str | None = None,
                timeout: Timeout = None, retry: RetryPolicy | None = None, rate_limited: bool = True) -> Response:
        """``send`` of a request built from its parts: ``body`` is JSON-encoded, ``data`` sent as is."""
        return self.send(build_request(method, path, params=params, headers=headers, body=body, data=data,
                                       content_type=content_type), timeout=timeout, retry=retry,
                         rate_limited=rate_limited)

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """``request`` for an answer that must be a JSON object, as every verb's is; anything else
        raises MalformedResponse naming the URL and the answer's first bytes."""
        return json_object(self.request(method, path, **kwargs), method.upper(), self.url(path))

    def _run(self, request: Request, timeout: Timeout, retry: RetryPolicy | None,
             rate_limited: bool) -> requests.Response:
        if timeout is not None:
            check_timeout(timeout)
        policy = retry or self.retry
        limits = limits_for(timeout if timeout is not None else self.timeout, policy)
        with _exchange() as exchange:
            return self._exchange(exchange, request, limits, policy, rate_limited)

    def _exchange(self, exchange: _Exchange, request: Request, limits: Limits, policy: RetryPolicy,
                  rate_limited: bool) -> requests.Response:
        """Obey the exchange's commands for one request, until an answer to return or an error to raise."""
        method, path = request.method, request.path
        started = time.monotonic()
        flow = attempts(method, policy, started + limits.overall, time.monotonic, rate_limited=rate_limited)
        response: requests.Response | None = None
        failure: requests.exceptions.RequestException | None = None
        outcome: Answered | NoAnswer | bool | None = None
        try:
            while True:
                command = flow.send(outcome)
                outcome = None
                if isinstance(command, Wait):
                    if response is not None:
                        response.close()
                    log.info("retrying %s %s in %.2fs after %s", method, path, command.seconds, command.after)
                    exchange.interrupted.wait(command.seconds)
                elif command is REFRESH:
                    if response is not None:
                        response.close()
                    outcome = self._refresh_credentials()
                elif exchange.interrupted.is_set():
                    raise errors.TransportError(f"{method} {self.url(path)}: cancelled", url=self.url(path))
                elif command is RESERVE:
                    if self._limiter:
                        self._limiter.acquire()
                elif isinstance(command, Send):
                    if command.fresh and failure is not None:
                        exchange.fresh = True
                        log.info("retrying %s %s on a fresh connection: the kept-alive one failed (%s)", method,
                                 path, failure.__class__.__name__)
                    response, failure, outcome = self._attempt(exchange, request, limits, started + limits.overall)
        except StopIteration as stop:
            verdict = stop.value
        if response is not None and verdict is Verdict.ANSWER:
            return response
        if response is not None:
            raise error_for(_response(response), method, self.url(path))
        assert failure is not None
        raise self._no_answer(exchange, method, path, failure, started) from None

    def _attempt(self, exchange: _Exchange, request: Request, limits: Limits, deadline: float) -> tuple[
            requests.Response | None, requests.exceptions.RequestException | None, Answered | NoAnswer]:
        """One attempt: the answer, or the failure (a certificate the server's name or CA does not
        match is raised at once: a configuration problem that asking again cannot help)."""
        try:
            response = self._send(exchange, request, limits, deadline)
        except requests.exceptions.RequestException as exc:
            if problem := certificate_problem(exc):
                raise certificate_error(self.config, request.method, self.url(request.path), problem) from None
            if exchange.interrupted.is_set():
                raise self._no_answer(exchange, request.method, request.path, exc, time.monotonic()) from None
            return None, exc, NoAnswer(exc.__class__.__name__, never_sent=_never_sent(exc), reused=exchange.reused,
                                       expired=exchange.expired)
        surface_warnings(response.headers.get("Warning"))
        return response, None, Answered(response.status_code, response.headers)

    def _send(self, exchange: _Exchange, request: Request, limits: Limits, deadline: float) -> requests.Response:
        """One attempt, ended by the watchdog at its deadline (for a stream: until the headers)."""
        headers: dict[str, str | list[str]] = dict(request.headers)
        if self._secure:  # headers first, then the certificate: see Credentials
            headers = {**self.config.credentials.headers(), **headers}
        session = self.session
        if self._secure:
            certificate = self.config.credentials.client_certificate()
            if certificate != self._client_certificate:  # an exec plugin renewed an expired one
                session = self._use_client_certificate(certificate)
        started = time.monotonic()
        attempt_deadline = min(deadline, started + limits.attempt) if limits.attempt is not None else deadline
        _WATCHDOG.arm(attempt_deadline, exchange, exchange.begin())
        _local.exchange = exchange
        try:
            prepared = _prepare(session, request, self.url(request.path), headers)
            response = session.send(prepared, timeout=clamped(limits, attempt_deadline, started),
                                    **session.merge_environment_settings(prepared.url, {}, request.stream, None, None))
        finally:
            _local.exchange = None
            exchange.end()
        log.debug("%s %s -> %d in %.1f ms", request.method, response.url, response.status_code,
                  (time.monotonic() - started) * 1000)
        return response

    def _no_answer(self, exchange: _Exchange, method: str, path: str, exc: Exception,
                   started: float) -> errors.TransportError:
        url = self.url(path)
        if exchange.interrupted.is_set():
            return errors.TransportError(f"{method} {url}: cancelled", url=url)
        if exchange.expired:
            return errors.TransportError(f"{method} {url}: timed out after {time.monotonic() - started:.1f} s "
                                         f"without a complete answer", url=url)
        return errors.TransportError(f"{method} {url}: {_describe(exc)}", url=url)

    def upgrade_target(self, request: Request) -> UpgradeTarget:
        """What a WebSocket connection for ``request`` needs of this transport: its ws(s):// URL, the
        TLS context (CA, the current client certificate, or no verification), the name to verify
        (tls-server-name), the headers (credentials, impersonation, User-Agent) and the proxy.
        The credentials are asked now, so a rotated token or certificate is used."""
        credentials: Mapping[str, str | list[str]] = {}
        context: ssl.SSLContext | None = None
        if self._secure:
            credentials = self.config.credentials.headers()
            context = self._upgrade_context(self.config.credentials.client_certificate())
        headers = header_lines({"User-Agent": USER_AGENT}, credentials, request.headers)
        proxy = self._proxies().get("https" if self._secure else "http")
        return UpgradeTarget(upgrade_url(self.url(request.path), request.params), context,
                             self.config.tls_server_name, headers, proxy)

    def _upgrade_context(self, certificate: tuple[bytes, bytes] | None) -> ssl.SSLContext:
        """The TLS context of WebSocket connections, built once per client certificate (building one
        costs 5-70 ms: the CA and the certificate are parsed again)."""
        with self._lock:
            if self._upgrade_tls is None or self._upgrade_tls[0] != certificate:
                self._upgrade_tls = (certificate, build_ssl_context(self.config, certificate))
            return self._upgrade_tls[1]

    def refresh_credentials(self) -> bool:
        """After a 401 outside ``send`` (a WebSocket upgrade): rotate the credentials as ``send``
        does; True if they changed and asking again makes sense."""
        return self._refresh_credentials()

    def _refresh_credentials(self) -> bool:
        """After a 401: ask the credentials to rotate; rebuild TLS if the client certificate changed."""
        if not self._secure or not self.config.credentials.refresh():
            return False
        self._use_client_certificate(self.config.credentials.client_certificate())
        return True

    def _use_client_certificate(self, certificate: tuple[bytes, bytes] | None) -> requests.Session:
        """The session for this client certificate: a new one (new TLS context, no kept-alive
        connections made with the old certificate) when it changed. Requests in flight finish."""
        with self._lock:
            if certificate != self._client_certificate or self._session is None:
                self._client_certificate = certificate
                old, self._session = self._session, self._new_session()
                if old is not None:
                    old.close()
            return self._session





def _prepare(session: requests.Session, request: Request, url: str,
             headers: Mapping[str, str | list[str]]) -> requests.PreparedRequest:
    """The request as ``session.request`` prepares it, except that a header given a list is sent as one
    line per value, as Go's net/http sends them (the server reads every Impersonate-Group line): requests
    keeps one value per name, urllib3 sends each value an HTTPHeaderDict holds on its own line."""
    single = {name: _utf8(value) for name, value in headers.items() if isinstance(value, str)}
    prepared = session.prepare_request(requests.Request(request.method, url, headers=single,
                                                        params=request.params or None, data=request.body))
    repeated = [(name, value) for name, values in headers.items() if not isinstance(values, str) for value in values]
    if repeated:
        lines = urllib3.HTTPHeaderDict(prepared.headers)
        for name, value in repeated:
            requests.utils.check_header_validity((name, value))
            lines.add(name, _utf8(value))
        prepared.headers = lines  # type: ignore[assignment]  # a mapping urllib3 sends as it is
    return prepared


def _utf8(value: str) -> str:
    """A header value whose UTF-8 bytes go on the wire, as Go sends it (http.client sends latin-1)."""
    return value if value.isascii() else value.encode().decode("latin-1")


def _response(raw: requests.Response) -> Response:
    """The Response value of a requests answer (its body read)."""
    return Response(raw.status_code, Headers(raw.headers), raw.content, raw.reason or "", raw.url or "",
                    tuple(r.url for r in raw.history))


class Stream:
    """A streamed answer (a watch's): status and headers now, the body as it arrives.

    Reading raises ``OSError`` when the connection breaks. ``abort()`` may be called from another
    thread: it shuts the connection down, so a read blocked there returns at once.
    """

    def __init__(self, raw: requests.Response) -> None:
        self._raw = raw
        self.status_code = raw.status_code
        self.headers = Headers(raw.headers)
        self.url = raw.url or ""

    def chunks(self, size: int) -> Iterator[bytes]:
        """The body as it arrives, in pieces of at most ``size`` bytes (each HTTP chunk as it comes)."""
        return self._raw.iter_content(size)

    def close(self) -> None:
        """Release the connection (it is not reused if the body was not read to its end)."""
        self._raw.close()

    @property
    def closed(self) -> bool:
        """True once the answer's connection is closed or released."""
        return bool(self._raw.raw.closed)

    def abort(self) -> None:
        """Shut the connection down so a read blocked in another thread returns; then close."""
        sock = getattr(getattr(self._raw.raw, "_connection", None), "sock", None)
        if sock is not None:
            _shut([sock])
        self._raw.close()






class Fetched(NamedTuple):
    """The answer to ``fetch_url``: final URL (after redirects), HTTP status and reason, body."""

    url: str
    status: int
    reason: str
    content: bytes


FETCH_RETRIES = RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_cap=2.0, total_seconds=30.0)


def fetch_url(url: str, *, timeout: Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = FETCH_RETRIES) -> Fetched:
    """GET a web URL the way kubectl fetches ``-f URL``: no cluster credentials, redirects followed,
    proxies from the environment, retries on connection errors and 5xx; any status is returned.
    Connection failures raise TransportError."""
    check_timeout(timeout)
    with requests.Session() as session:
        session.trust_env = False  # no .netrc credentials; proxies and CA bundle from the environment, below
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True
        session.headers["User-Agent"] = USER_AGENT
        session.proxies = dict(requests.utils.get_environ_proxies(url))
        attempt = 0
        while True:
            try:
                response = session.get(url, timeout=timeout)
            except requests.exceptions.RequestException as exc:
                delay = retry_delay("GET", None, {}, attempt, retry)
                if delay is None:  # the text of requests' exception may hold the URL's query: not shown
                    reason = getattr(exc.args[0], "reason", None) if exc.args else None
                    raise errors.TransportError(f"GET {shown_url(url)}: {exc.__class__.__name__}"
                                                + (f": {reason}" if reason else ""), url=shown_url(url)) from None
            else:
                delay = retry_delay("GET", response.status_code, response.headers, attempt, retry) \
                    if response.status_code >= 500 else None
                if delay is None:
                    return Fetched(response.url, response.status_code, response.reason or "", response.content)
            time.sleep(delay)
            attempt += 1


def shown_url(url: str) -> str:
    """A URL safe to show: without user:password@ and with any query replaced by ``?...``."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "..." if parts.query else "", ""))










def certificate_problem(exc: requests.exceptions.RequestException) -> CertificateProblem | None:
    """Why the server's certificate failed verification; None for every other failure (a handshake
    cut short by a restarting server is a connection error, retried as one)."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return None
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    cause = reason.args[0] if isinstance(reason, Exception) and reason.args else None
    if isinstance(cause, ValueError) and type(cause).__name__ == "CertificateError":  # urllib3 checking tls-server-name
        return CertificateProblem(str(cause), "name")
    return verification_problem(cause)




def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection was never established, so no byte of the request left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


def _describe(exc: Exception) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return f"{exc.__class__.__name__}: {reason or exc}"
