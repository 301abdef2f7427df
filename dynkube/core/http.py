"""Request and Response: the values every layer above the transport speaks.

A ``Request`` is everything that goes on the wire but the server's address and the credentials
(added by the transport); a ``Response`` is a complete answer, body read. Their attribute names
are those of requests and httpx (``status_code``, ``headers``, ``content``), so code that read a
``requests.Response`` reads a ``Response`` the same way. NamedTuples, not dataclasses: importing
``dataclasses`` costs ~10 ms of ``import dynkube`` (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ..errors import RedirectRefused
from ..objects import encode_json
from . import jsondecode


class Headers(Mapping[str, str]):
    """HTTP headers: a read-only mapping whose keys compare case-insensitively, as HTTP's do."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {k.lower(): (k, v) for k, v in (items or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self._items.values())!r})"


NOTHING: Mapping[str, Any] = MappingProxyType({})


class Request(NamedTuple):
    """One API request: ``path`` is server-relative (``/api/v1/namespaces/a/pods``), ``params`` the
    query, ``body`` the encoded bytes (its type in ``headers["Content-Type"]``); ``stream`` says the
    answer is read as it arrives (watches) rather than whole."""

    method: str
    path: str
    params: Mapping[str, Any] = NOTHING
    headers: Mapping[str, str] = NOTHING
    body: bytes | None = None
    stream: bool = False


class Response(NamedTuple):
    """A complete answer: status, headers, the whole body; ``url`` is the URL that answered,
    ``history`` the URLs that redirected to it."""

    status_code: int
    headers: Mapping[str, str] = Headers()
    content: bytes = b""
    reason: str = ""
    url: str = ""
    history: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return jsondecode.loads(self.content)


def build_request(method: str, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None,
                  body: Any = None, data: bytes | None = None, content_type: str | None = None) -> Request:
    """A Request from its parts: ``body`` JSON-encoded (Content-Type application/json unless
    ``content_type`` says otherwise), ``data`` sent as is."""
    method = method.upper()
    if body is not None:
        data = encode_json(body, f"the body of {method} {path}")
        content_type = content_type or "application/json"
    send_headers = dict(headers or {})
    if content_type:
        send_headers["Content-Type"] = content_type
    return Request(method, path, dict(params or {}), send_headers, data)


def display_url(url: str) -> str:
    """The URL without user info, query or fragment, which may hold secrets."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl()


MAX_REDIRECTS = 10  # Go's http.Client


def origin(url: str) -> tuple[str, str, int | None]:
    """The scheme, lower-cased host and port (the scheme's default when absent) of a URL."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:  # a port that is not a number: no origin matches it
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port


def redirect_refusal(method: str, url: str, status: int, target: str) -> RedirectRefused | None:
    """The RedirectRefused for a redirect from ``url`` to ``target`` that leaves its origin (scheme,
    host and port), or None when it stays within it: the credentials, impersonation headers, client
    certificate and a 307'd body would all go along."""
    if origin(target) == origin(url):
        return None
    shown = display_url(target)
    if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
        why = "from https to plain http; dynkube never downgrades"
    else:
        why = "to another origin; dynkube follows redirects only within the server's scheme, host and port"
    return RedirectRefused(f"{method} {display_url(url)}: the server answered {status} redirecting to {shown}, {why} "
                           f"(the credentials and the request body would go along)", url=url, location=shown)
