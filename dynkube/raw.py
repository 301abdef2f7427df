"""Raw requests: any path of the server (``/readyz``, ``/metrics``, a proxy path), as client-go's RESTClient.

``Client.request`` sends them through the client's transport; this module checks what the caller gave
and turns the answer into the form asked for. It sends nothing itself.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from .core import jsondecode
from .core.http import Response
from .errors import InvalidInput, MalformedResponse

ACCEPT_ANY = "application/json, */*"  # kubectl's for --raw: JSON where the server can, else whatever it has
_METHOD = re.compile(r"^[A-Za-z]+$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f#]")


class Answer(enum.StrEnum):
    """The form ``Client.request`` returns an answer in."""

    JSON = "json"    # the parsed JSON value (any JSON, not only objects)
    TEXT = "text"    # the body as text (UTF-8 unless the answer names another charset)
    BYTES = "bytes"  # the body as it came
    LINES = "lines"  # an iterator of text lines, each with its line end, read as they arrive


def answer_form(value: Any) -> Answer:
    """``accept=`` as an Answer (a member, or its name in any case)."""
    if isinstance(value, Answer):
        return value
    if isinstance(value, str) and value.lower() in {member.value for member in Answer}:
        return Answer(value.lower())
    raise InvalidInput(f"accept must be one of {', '.join(m.value for m in Answer)}, not {value!r}")


def check_request(method: Any, path: Any, headers: Any) -> str:
    """InvalidInput naming what is wrong with a raw request; returns the method in upper case."""
    if not isinstance(method, str) or not _METHOD.match(method):
        raise InvalidInput(f"method must be an HTTP method such as GET or POST, not {method!r}")
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise InvalidInput(f"path must be a path on the server starting with '/' (e.g. /readyz), not {path!r}")
    if _UNSAFE.search(path):
        raise InvalidInput(f"path {path!r} holds a space, a control character or '#'; percent-encode it")
    if headers is not None and (not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
        raise InvalidInput("headers must be a mapping of strings to strings")
    return method.upper()


def body_arguments(body: Any, content_type: str | None) -> dict[str, Any]:
    """Transport.request's arguments for a body: JSON for dicts and lists, bytes and text as they are."""
    if body is None:
        return {"content_type": content_type} if content_type else {}
    if isinstance(body, (bytes, str)):
        data = body.encode() if isinstance(body, str) else body
        return {"data": data, "content_type": content_type or _guess_content_type(data)}
    if isinstance(body, (Mapping, list)):
        return {"body": body, "content_type": content_type}
    raise InvalidInput(f"body must be a dict, a list, bytes or str, not {type(body).__name__}")


def _guess_content_type(data: bytes) -> str:
    """JSON for text that starts as JSON does, else YAML (the API server reads both)."""
    return "application/json" if data.lstrip()[:1] in (b"{", b"[") else "application/yaml"


class LineSource(Protocol):
    """What ``lines`` reads: a streamed answer (``dynkube.transport.Stream``)."""

    def chunks(self, size: int) -> Iterator[bytes]: ...

    def close(self) -> None: ...


def read_answer(response: Response, form: Answer, method: str, url: str) -> Any:
    """The whole answer in ``form`` (JSON, TEXT or BYTES; LINES is ``lines`` of a stream)."""
    if form is Answer.BYTES:
        return response.content
    if form is Answer.TEXT:
        return response.text
    return _json(response, method, url)


def _json(response: Response, method: str, url: str) -> Any:
    content = response.content
    try:
        return jsondecode.loads(content)
    except ValueError:
        content_type = response.headers.get("Content-Type") or "missing"
        raise MalformedResponse(f"{method} {url}: the server's {response.status_code} answer is not JSON "
                                f"(Content-Type {content_type!r}, starts with {content[:80]!r}); ask for "
                                "accept='text'", url=url, body_start=content[:80]) from None


class LineSplitter:
    """Text lines (each with its line end) of bytes fed as they arrive; ``rest()`` is what follows
    the last line end."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """The lines completed by ``chunk``."""
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        return [(line + b"\n").decode("utf-8", "replace") for line in complete]

    def rest(self) -> list[str]:
        """The unterminated last line, if any."""
        return [self._pending.decode("utf-8", "replace")] if self._pending else []


def lines(stream: LineSource) -> Iterator[str]:
    """The lines of a streamed answer as they arrive (the stream is closed at the end, or when the
    iterator is closed)."""
    try:
        splitter = LineSplitter()
        for chunk in stream.chunks(65536):
            yield from splitter.feed(chunk)
        yield from splitter.rest()
    finally:
        stream.close()
