"""Transport: one requests.Session per client, with TLS, credentials, rate limiting, retries,
redirects within the server's origin only, and Status-to-exception mapping.

Nothing outside this module touches ``requests``. Retries are decided in one function,
``retry_delay``; errors are built in one, ``raise_for_status``.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import logging
import os
import random
import re
import ssl
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import errors
from ._version import __version__
from .config import Config
from .objects import encode_json

log = logging.getLogger(__name__)

USER_AGENT = f"dynkube/{__version__}"
DEFAULT_QPS = 50.0
DEFAULT_BURST = 300
DEFAULT_TIMEOUT = (10.0, 60.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Timeout = float | tuple[float, float | None] | None  # (connect, read); a read of None waits forever (streams)


class RetryPolicy(NamedTuple):
    """How hard to retry: attempts in all (first included), backoff base and cap, total time budget."""

    max_attempts: int = 5
    backoff_base: float = 0.2
    backoff_cap: float = 5.0
    total_seconds: float = 60.0


NO_RETRIES = RetryPolicy(max_attempts=1)
MAX_SECONDS = 1e9  # longer timeouts overflow the platform's time_t in the socket layer


def _seconds(value: Any, *, zero: bool = False) -> bool:
    """True for an int or float in (0, MAX_SECONDS] ([0, ...] with ``zero``); False for NaN, bools, strings."""
    return type(value) in (int, float) and (0 <= value if zero else 0 < value) and value <= MAX_SECONDS


def check_timeout(timeout: Any, what: str = "timeout") -> None:
    """InvalidInput unless ``timeout`` is seconds, None, or a (connect, read) tuple of them."""
    parts = timeout if isinstance(timeout, tuple) and len(timeout) == 2 else (timeout,)
    if not all(part is None or _seconds(part) for part in parts):
        raise errors.InvalidInput(f"{what} must be seconds (a number above 0), None, or a (connect, read) "
                                  f"tuple of them; got {timeout!r}")


def check_rate_limit(qps: Any, burst: Any, retry: Any) -> None:
    """InvalidInput naming the first of ``qps``, ``burst``, ``retry`` that cannot be used."""
    if qps is not None and not (type(qps) in (int, float) and abs(qps) <= MAX_SECONDS):
        raise errors.InvalidInput(f"qps must be a number of requests per second (or None for no limit), not {qps!r}")
    if type(burst) is not int or not 0 <= burst <= MAX_SECONDS:
        raise errors.InvalidInput(f"burst must be a non-negative integer, not {burst!r}")
    if not isinstance(retry, RetryPolicy) or type(retry.max_attempts) is not int or retry.max_attempts < 1 \
            or not all(_seconds(v, zero=True) for v in retry[1:]):
        raise errors.InvalidInput(f"retry must be a RetryPolicy with max_attempts >= 1 and seconds >= 0, "
                                  f"not {retry!r}")


def retry_delay(method: str, status: int | None, headers: Mapping[str, str], attempt: int,
                policy: RetryPolicy, *, never_sent: bool = False) -> float | None:
    """Seconds to wait before retrying, or None not to retry.

    ``status`` is None for a connection error; ``never_sent`` says the request body never left.
    429 is retried for every verb (the server rejected it before doing anything); connection
    errors, 503, 500 and 504 only for reads, or for writes that were never sent.
    """
    if attempt + 1 >= policy.max_attempts:
        return None
    read = method.upper() in IDEMPOTENT_METHODS
    if status is None:
        retryable = read or never_sent
    elif status == 429:
        retryable = True
    else:
        retryable = read and status in (500, 503, 504)
    if not retryable:
        return None
    backoff = random.uniform(0, min(policy.backoff_cap, policy.backoff_base * 2 ** attempt))
    retry_after = _retry_after_seconds(headers)
    return max(backoff, retry_after) if retry_after is not None else backoff


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class TokenBucket:
    """client-go's token bucket: ``burst`` tokens, refilled at ``qps`` per second; thread-safe."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self.qps if self._tokens < 0 else 0.0
        if wait:
            time.sleep(wait)
        return wait


MAX_REDIRECTS = 10  # Go's http.Client


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
            _check_redirect(resp, urljoin(resp.url, location))
        return location


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:  # a port that is not a number: no origin matches it
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port


def _check_redirect(response: requests.Response, target: str) -> None:
    """Raise RedirectRefused for a redirect that leaves the origin of the request it answers."""
    if _origin(target) == _origin(response.url):
        return
    response.close()
    url, shown = response.url, _display_url(target)
    if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
        why = "from https to plain http; dynkube never downgrades"
    else:
        why = "to another origin; dynkube follows redirects only within the server's scheme, host and port"
    raise errors.RedirectRefused(
        f"{response.request.method} {_display_url(url)}: the server answered {response.status_code} redirecting "
        f"to {shown}, {why} (the credentials and the request body would go along)", url=url, location=shown)


def _display_url(url: str) -> str:
    """The URL without user info, query or fragment, which may hold secrets."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl()


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    """Keeps the server's answer readable when it closes the connection while the body is still being
    sent (kube-apiserver answers 413 to a body over its limit, then closes): urllib3 already does this
    for a broken pipe or a reset, but over TLS the close shows as SSLEOFError."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().request(*args, **kwargs)
        except ssl.SSLEOFError:
            log.debug("the server closed the connection while the request was being sent; reading its answer")


class _HTTPSConnectionPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _use_our_https_pool(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": _HTTPSConnectionPool}
    return manager


class _TLSAdapter(HTTPAdapter):
    """An HTTPAdapter with our own SSLContext and optional SNI / verification name override.

    With ``own_ca`` (the config names a certificate authority) that CA is the only one trusted, as in
    client-go; requests would otherwise add its bundle of public CAs to the context on every connection.
    """

    def __init__(self, ssl_context: ssl.SSLContext, server_hostname: str | None, pool_maxsize: int,
                 *, own_ca: bool = False) -> None:
        self._ssl_context = ssl_context
        self._server_hostname = server_hostname
        self._own_ca = own_ca
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if self._own_ca:
            conn.ca_certs = None
            conn.ca_cert_dir = None

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        if self._server_hostname:
            kwargs["server_hostname"] = self._server_hostname
            kwargs["assert_hostname"] = self._server_hostname
        super().init_poolmanager(*args, **kwargs)
        _use_our_https_pool(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        if self._server_hostname:
            proxy_kwargs["server_hostname"] = self._server_hostname
            proxy_kwargs["assert_hostname"] = self._server_hostname
        return _use_our_https_pool(super().proxy_manager_for(proxy, **proxy_kwargs))


def build_ssl_context(config: Config, client_certificate: tuple[bytes, bytes] | None) -> ssl.SSLContext:
    """The TLS context for a config: its CA (or the system's), its client certificate, or no verification."""
    if config.insecure_skip_tls_verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif config.ca_data:  # only this CA: loading the system store (40-70 ms) would be wasted
        ctx = ssl.create_default_context(cadata=_pem_text(config.ca_data, "certificate-authority-data", config))
    else:
        ctx = ssl.create_default_context()
    if client_certificate:
        _load_client_certificate(ctx, *client_certificate, config=config)
    return ctx


def _pem_text(data: bytes, key: str, config: Config) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise errors.ConfigError(f"{key} of {config.source} is not PEM text", path=config.source, key=key) from None


def _load_client_certificate(ctx: ssl.SSLContext, cert: bytes, key: bytes, *, config: Config) -> None:
    """Load PEM bytes into the context without leaving a readable copy on disk.

    Linux: anonymous memory files (memfd). Elsewhere: 0600 files in a private temp dir, removed at once.
    """
    with _private_files(cert, key) as (cert_path, key_path):
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, ValueError) as exc:
            raise errors.ConfigError(
                f"client certificate or key from {config.source} cannot be used for TLS: {exc.__class__.__name__}",
                path=config.source, key="client-certificate",
            ) from None


@contextlib.contextmanager
def _private_files(*contents: bytes) -> Iterator[list[str]]:
    if hasattr(os, "memfd_create"):
        fds = [os.memfd_create("dynkube-tls", 0) for _ in contents]
        try:
            for fd, data in zip(fds, contents):
                os.write(fd, data)
            yield [f"/proc/self/fd/{fd}" for fd in fds]
        finally:
            for fd in fds:
                os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="dynkube-") as tmp:
        paths = []
        for i, data in enumerate(contents):
            path = os.path.join(tmp, str(i))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            paths.append(path)
        yield paths


class Transport:
    """Sends requests to one cluster as one user.

    ``qps``/``burst`` configure the client-side token bucket (``qps=None`` or ``<= 0`` turns it
    off); ``timeout`` is the default (connect, read) timeout in seconds, overridable per call;
    ``retry`` bounds retries. Non-2xx answers (except 304) raise ``dynkube.errors.ApiError``
    subclasses; connection failures raise ``dynkube.errors.TransportError``.
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
            session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=self._pool_maxsize, max_retries=0))
        return session

    def _proxies(self) -> dict[str, str]:
        if self.config.proxy_url:
            return {"http": self.config.proxy_url, "https": self.config.proxy_url}
        return dict(requests.utils.get_environ_proxies(self.base_url))

    def close(self) -> None:
        """Close pooled connections."""
        if self._session is not None:
            self._session.close()

    def url(self, path: str) -> str:
        """The absolute URL of a server-relative path (any path prefix of the server is kept)."""
        return self.base_url + path

    def request(self, method: str, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None,
                body: Any = None, data: bytes | None = None, content_type: str | None = None,
                timeout: Timeout = None, stream: bool = False, retry: RetryPolicy | None = None,
                rate_limited: bool = True) -> requests.Response:
        """Send one request (with retries) and return a 2xx or 304 response.

        ``body`` is JSON-encoded; ``data`` is sent as is. ``stream=True`` leaves the body unread
        (the caller must close the response). Watches pass ``rate_limited=False``.
        """
        method = method.upper()
        if timeout is not None:
            check_timeout(timeout)
        if body is not None:
            data = encode_json(body, f"the body of {method} {path}")
            content_type = content_type or "application/json"
        send_headers = dict(headers or {})
        if content_type:
            send_headers["Content-Type"] = content_type
        policy = retry or self.retry
        deadline = time.monotonic() + policy.total_seconds
        refreshed = False
        attempt = 0
        while True:
            if self._limiter and rate_limited:
                self._limiter.acquire()
            try:
                response = self._send(method, path, params, send_headers, data, timeout, stream)
            except requests.exceptions.RequestException as exc:
                if problem := _certificate_problem(exc):  # a configuration problem: asking again cannot help
                    raise self._certificate_error(method, path, problem) from None
                delay = retry_delay(method, None, {}, attempt, policy, never_sent=_never_sent(exc))
                if delay is None or time.monotonic() + delay > deadline:
                    raise errors.TransportError(f"{method} {self.url(path)}: {_describe(exc)}", url=self.url(path)) from None
                log.info("retrying %s %s in %.2fs after %s", method, path, delay, exc.__class__.__name__)
            else:
                self._surface_warnings(response)
                if response.status_code < 400 or response.status_code == 304:
                    return response
                if response.status_code == 401 and not refreshed and self._refresh_credentials():
                    refreshed = True
                    response.close()
                    continue
                delay = retry_delay(method, response.status_code, response.headers, attempt, policy)
                if delay is None or time.monotonic() + delay > deadline:
                    raise_for_status(response, method, self.url(path))
                log.info("retrying %s %s in %.2fs after HTTP %d", method, path, delay, response.status_code)
                response.close()
            time.sleep(delay)
            attempt += 1

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """``request`` for an answer that must be a JSON object, as every verb's is; anything else
        raises MalformedResponse naming the URL and the answer's first bytes."""
        return json_object(self.request(method, path, **kwargs), method.upper(), self.url(path))

    def _send(self, method: str, path: str, params: Any, headers: dict[str, str], data: bytes | None,
              timeout: Timeout, stream: bool) -> requests.Response:
        if self._secure:  # headers first, then the certificate: see Credentials
            headers = {**self.config.credentials.headers(), **headers}
        session = self.session
        if self._secure:
            certificate = self.config.credentials.client_certificate()
            if certificate != self._client_certificate:  # an exec plugin renewed an expired one
                session = self._use_client_certificate(certificate)
        started = time.monotonic()
        response = session.request(method, self.url(path), params=params, headers=headers, data=data,
                                        timeout=timeout if timeout is not None else self.timeout, stream=stream)
        log.debug("%s %s -> %d in %.1f ms", method, response.url, response.status_code,
                  (time.monotonic() - started) * 1000)
        return response

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

    def _certificate_error(self, method: str, path: str, problem: _CertificateProblem) -> errors.TransportError:
        """A readable error for a server certificate that failed verification, saying what to change."""
        config = self.config
        if config.source == "url":
            where, ca_setting, name_setting = "Config.from_url()", "ca=", "tls_server_name="
        elif config.source == "in-cluster":
            where, ca_setting, name_setting = "the in-cluster configuration", "the service account's ca.crt", "-"
        else:
            where = config.source + (f" (context {config.context!r})" if config.context else "")
            ca_setting, name_setting = "certificate-authority or certificate-authority-data", "tls-server-name"
        if problem.kind == "name" and config.tls_server_name:
            hint = f"the certificate is not valid for the tls-server-name {config.tls_server_name!r} of {where}"
        elif problem.kind == "name":
            hint = "connect by a name the certificate is valid for" + (
                f", or set {name_setting} in {where}" if name_setting != "-" else "")
        elif problem.kind == "issuer" and config.ca_data:
            hint = f"the server's certificate is not signed by the certificate authority configured in {where}"
        elif problem.kind == "issuer":
            hint = (f"{where} configures no certificate authority, and the system's do not trust this server; "
                    f"set {ca_setting}")
        else:
            hint = f"check the server's certificate and the TLS settings of {where}"
        return errors.TransportError(
            f"{method} {self.url(path)}: cannot verify the TLS certificate of {self.base_url}: {problem.text}; {hint}",
            url=self.url(path))

    @staticmethod
    def _surface_warnings(response: requests.Response) -> None:
        header = response.headers.get("Warning")
        if header:
            for text in parse_warning_header(header):
                warnings.warn(text, errors.ServerWarning, stacklevel=_caller_outside_dynkube())


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_outside_dynkube() -> int:
    """The ``stacklevel``, for a ``warnings.warn`` in the calling function, of the innermost frame
    outside the dynkube package: a warning points at the user's line, however deep the call."""
    level, frame = 2, sys._getframe(2)  # level 1 is the function that calls warnings.warn
    while frame.f_code.co_filename.startswith(_PACKAGE) and frame.f_back is not None:
        level, frame = level + 1, frame.f_back
    return level


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


_WARNING = re.compile(r'299\s+\S+\s+"((?:[^"\\]|\\.)*)"')


def parse_warning_header(value: str) -> list[str]:
    """The texts of RFC 7234 ``299`` warnings (what kube-apiserver sends), unescaped."""
    return [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _WARNING.finditer(value)]


def json_object(response: requests.Response, method: str, url: str) -> dict[str, Any]:
    """The JSON object a success answer holds; MalformedResponse (URL, Content-Type, first bytes) for
    anything else: an HTML page of a proxy, truncated JSON, ``null``, a list."""
    content = response.content
    try:
        body = jsonlib.loads(content)
    except ValueError:  # UnicodeDecodeError included
        problem = "is not JSON"
    else:
        if isinstance(body, dict):
            return body
        problem = f"is JSON but not an object (a {_json_type(body)})"
    content_type = response.headers.get("Content-Type") or "missing"
    raise errors.MalformedResponse(
        f"{method} {_display_url(url)}: the server's {response.status_code} answer {problem} "
        f"(Content-Type {content_type!r}, starts with {content[:80]!r})", url=url, body_start=content[:80])


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def raise_for_status(response: requests.Response, method: str, url: str) -> None:
    """Raise the typed ApiError for a >= 400 response, from its Status body or synthesized."""
    raise errors.api_error_from_status(status_from_response(response), method=method, url=url)


def status_from_response(response: requests.Response) -> dict[str, Any]:
    """The Status dict of an error response; a plain-text or HTML body gives a synthesized one."""
    text = response.text
    try:
        status = jsonlib.loads(text)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        status.setdefault("code", response.status_code)
        return status
    snippet = " ".join(text.split())[:200] or response.reason or "no body"
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": response.status_code,
            "reason": _REASON_BY_CODE.get(response.status_code, response.reason or ""),
            "message": f"the server answered {response.status_code}: {snippet}"}


_REASON_BY_CODE = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 410: "Expired",
                   413: "RequestEntityTooLarge", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
                   500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


class _CertificateProblem(NamedTuple):
    text: str  # OpenSSL's or urllib3's words
    kind: str  # "name" (not valid for the name checked), "issuer" (not signed by a trusted CA) or "other"


_NAME_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_UNKNOWN_ISSUER = frozenset({2, 18, 19, 20, 21})  # issuer missing, self-signed, unable to verify


def _certificate_problem(exc: requests.exceptions.RequestException) -> _CertificateProblem | None:
    """Why the server's certificate failed verification; None for every other failure (a handshake
    cut short by a restarting server is a connection error, retried as one)."""
    if not isinstance(exc, requests.exceptions.SSLError):
        return None
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    cause = reason.args[0] if isinstance(reason, Exception) and reason.args else None
    if isinstance(cause, ssl.SSLCertVerificationError):
        code = cause.verify_code
        kind = "name" if code in _NAME_MISMATCH else "issuer" if code in _UNKNOWN_ISSUER else "other"
        return _CertificateProblem(str(cause.verify_message).rstrip("."), kind)
    if isinstance(cause, ValueError) and type(cause).__name__ == "CertificateError":  # urllib3 checking tls-server-name
        return _CertificateProblem(str(cause), "name")
    return None


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the connection was never established, so no byte of the request left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


def _describe(exc: Exception) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return f"{exc.__class__.__name__}: {reason or exc}"
