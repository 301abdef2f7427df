"""What both transport shells (``dynkube.transport`` over requests, ``dynkube.aio.transport`` over
aiohttp) share, with no HTTP library imported: the User-Agent and the default limits and their
checks, the TLS context of a config (its CA, client certificate, or no verification) and readable
errors for a server certificate that fails verification, the sockets' keepalive options, the proxy
for a server from the environment, and the server's warnings surfaced as ``ServerWarning``s.

``import dynkube.aio`` loads this module, not requests or urllib3.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from . import errors
from ._version import __version__
from .config import Config
from .core.exchange import RetryPolicy
from .core.http import display_url
from .core.status import parse_warning_header

USER_AGENT = f"dynkube/{__version__}"
DEFAULT_QPS = 50.0
DEFAULT_BURST = 300
DEFAULT_TIMEOUT = (10.0, 60.0)

IDLE_CONNECTION_SECONDS = 90.0  # a pooled connection idle longer is not reused (client-go's IdleConnTimeout)
KEEPALIVE = (30, 10, 3)  # TCP keepalive: first probe after 30 s idle, then every 10 s, dead after 3 unanswered
USER_TIMEOUT_MS = 30_000  # TCP_USER_TIMEOUT: a connection whose sent bytes stay unacknowledged 30 s is dead

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


def socket_options() -> list[tuple[int, int, int]]:
    """TCP_NODELAY (urllib3's default) and keepalive with short intervals, where the platform has them."""
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    idle, interval, count = KEEPALIVE
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count),
                        ("TCP_USER_TIMEOUT", USER_TIMEOUT_MS)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


def environment_proxy(url: str) -> str | None:
    """The proxy for ``url`` from the environment, or None: ``https_proxy`` (``HTTPS_PROXY``) for an
    https URL, ``http_proxy`` for http, else ``all_proxy``, unless ``no_proxy`` (``NO_PROXY``) covers
    the host (see ``no_proxy_for``). The lower-case names win, as in requests, which read them for the
    sync transport before."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or no_proxy_for(host, parts.port):
        return None
    proxies = getproxies()
    return proxies.get(parts.scheme) or proxies.get("all") or None


def no_proxy_for(host: str, port: int | None = None) -> bool:
    """True when ``no_proxy`` covers ``host``: an entry ``*``, the host's name or a domain it is in (``example.com``
    and ``.example.com`` both cover ``api.example.com``), its address, a CIDR range holding it
    (``10.0.0.0/8``, as client-go and requests allow), or ``host:port`` for that port only."""
    entries = (os.environ.get("no_proxy") or os.environ.get("NO_PROXY") or "").replace(" ", "").split(",")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if "*" in entries:
        return True
    for entry in entries:
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:  # not a network: the rest of the list still counts
                continue
    return bool(proxy_bypass(f"{host}:{port}" if port is not None and ":" not in host else host))


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


def certificate_error(config: Config, method: str, url: str, problem: CertificateProblem) -> errors.TransportError:
    """A readable error for a server certificate that failed verification, saying what to change."""
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
        f"{method} {url}: cannot verify the TLS certificate of {config.server.rstrip('/')}: {problem.text}; {hint}",
        url=url)


class CertificateProblem(NamedTuple):
    """Why a server certificate failed verification."""

    text: str  # OpenSSL's or urllib3's words
    kind: str  # "name" (not valid for the name checked), "issuer" (not signed by a trusted CA) or "other"


_NAME_MISMATCH = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_UNKNOWN_ISSUER = frozenset({2, 18, 19, 20, 21})  # issuer missing, self-signed, unable to verify


def verification_problem(cause: object) -> CertificateProblem | None:
    """The problem an ``ssl.SSLCertVerificationError`` names (None for anything else): a name the
    certificate is not valid for, an issuer not trusted, or another."""
    if not isinstance(cause, ssl.SSLCertVerificationError):
        return None
    code = cause.verify_code
    kind = "name" if code in _NAME_MISMATCH else "issuer" if code in _UNKNOWN_ISSUER else "other"
    return CertificateProblem(str(cause.verify_message).rstrip("."), kind)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_outside_dynkube() -> int:
    """The ``stacklevel``, for a ``warnings.warn`` in the calling function, of the innermost frame
    outside the dynkube package: a warning points at the user's line, however deep the call."""
    level, frame = 2, sys._getframe(2)  # level 1 is the function that calls warnings.warn
    while frame.f_code.co_filename.startswith(_PACKAGE) and frame.f_back is not None:
        level, frame = level + 1, frame.f_back
    return level


def surface_warnings(header: str | None) -> None:
    """Each warning of a ``Warning`` header as a ``ServerWarning``, pointing at the caller's line."""
    if header:
        for text in parse_warning_header(header):
            warnings.warn(text, errors.ServerWarning, stacklevel=_caller_outside_dynkube())


class UpgradeTarget(NamedTuple):
    """Where and how to open a WebSocket to the server (``Transport.upgrade_target``); ``repr``
    shows no header, since they hold the credentials."""

    url: str
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None
    headers: list[tuple[str, str]]  # header lines (a name repeats for several Impersonate-Group values)
    proxy: str | None

    def __repr__(self) -> str:
        return f"UpgradeTarget({display_url(self.url)!r}, headers=<{len(self.headers)} hidden>)"
