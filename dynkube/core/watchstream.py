"""A watch's stream, decoded, and where the watch stands: pure, fed bytes and events.

``JSONStreamDecoder`` turns the bytes of a watch answer into values as they arrive;
``decode_event`` makes a ``WatchEvent`` of each; ``ResumePoint`` follows the events to know where
the next connection starts (the resourceVersion of the last event or bookmark; the end of a
streaming list's initial events) and builds that connection's request.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Generator, Iterator
from typing import Any, NamedTuple

from ..errors import WatchError, api_error_from_status
from ..objects import ApiObject
from . import jsondecode
from .calls import WATCH_RESUME_PARAMS
from .http import Request

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_WHITESPACE = b" \t\r\n"
_WHITESPACE_TEXT = " \t\r\n"


class EventType(enum.StrEnum):
    """The type of a watch event. ``ERROR`` events are raised as exceptions, never yielded."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"
    ERROR = "ERROR"


_EVENT_TYPES = {t.value: t for t in EventType}


class WatchEvent(NamedTuple):
    """One change. ``object`` is the new state (the last state for DELETED); a BOOKMARK's object
    holds only ``kind``, ``apiVersion`` and ``metadata.resourceVersion`` (and annotations).

    A NamedTuple rather than a dataclass: it is built once per event on the hot path.
    """

    type: EventType
    object: ApiObject

    @property
    def resource_version(self) -> str:
        """The object's ``metadata.resourceVersion`` ("" when absent)."""
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")

    @property
    def is_initial_events_end(self) -> bool:
        """True for the bookmark that ends the initial events of a streaming list."""
        if self.type is not EventType.BOOKMARK:
            return False
        annotations = (self.object.get("metadata") or {}).get("annotations") or {}
        return annotations.get(INITIAL_EVENTS_END) == "true"


class JSONStreamDecoder:
    """Incremental decoder of concatenated JSON objects (whitespace between them), fed bytes.

    The bytes are kept as bytes. The complete lines of a piece are parsed in one call of
    ``jsondecode.loads`` (orjson when installed), without decoding them to text first: one line
    alone, several as one JSON array (the parser then shares dict-key strings among them, as it does
    within a list page: a third less memory for objects kept, at the same speed). If they do not form
    one (blank lines, values spread over lines, garbage), or no newline ends them, values are parsed
    one by one from their text. A value cut by a chunk boundary waits for the next ``feed`` (a newline
    byte never occurs inside a UTF-8 character, so cutting at one is safe). Parsing one by one is not
    even tried while no newline follows the value's start and the buffer does not end with ``}``: it
    cannot succeed, and a failed attempt costs a parse (the server ends each event with a newline, so
    this only delays, in streams without newlines, an object followed by a partial one). A value that
    fails to parse while a newline follows the failure point is malformed (an incomplete value never
    holds a raw newline at or after the point where parsing stops) and raises ``WatchError``, as do
    bytes that are not UTF-8.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._scan = json.JSONDecoder().raw_decode

    def feed(self, data: bytes) -> Iterator[Any]:
        """The values completed by ``data``, in order (a generator)."""
        buffer = self._pending + data if self._pending else data
        pos = 0
        try:
            cut = buffer.rfind(b"\n")
            if cut > 0:  # complete lines: try them in one call
                lines = self._lines(buffer[:cut])
                if lines is not None:
                    pos = cut + 1
                    yield from lines
            pos = _skip_whitespace(buffer, pos)
            if pos < len(buffer) and (cut >= pos or buffer.rstrip()[-1:] == b"}"):  # the value may be complete
                pos = yield from self._one_by_one(buffer, pos)
        finally:
            self._pending = buffer[pos:] if pos < len(buffer) else b""

    @staticmethod
    def _lines(data: bytes) -> list[Any] | None:
        """The values of newline-separated lines (one value a line); None if they are not that.
        Parsed in runs of lines of at most ``jsondecode.FAST_UP_TO`` bytes (a longer line alone)."""
        values: list[Any] = []
        start, end, most = 0, len(data), jsondecode.FAST_UP_TO
        try:
            while start < end:
                stop = data.rfind(b"\n", start, start + most) if end - start > most else end
                if stop <= start:  # one line longer than a run
                    stop = data.find(b"\n", start + 1)
                    stop = end if stop == -1 else stop
                run = data[start:stop] if start or stop < end else data
                if b"\n" in run:
                    values += jsondecode.loads(b"[" + run.replace(b"\n", b",") + b"]")
                else:
                    values.append(jsondecode.loads(run))
                start = stop + 1
        except ValueError:
            return None
        return values

    def _one_by_one(self, buffer: bytes, start: int) -> Generator[Any, None, int]:
        """The values from ``start`` (not whitespace) on, parsed from their text one at a time;
        returns the offset of the first byte not consumed."""
        text = _utf8_prefix(buffer[start:])
        scan, pos, end = self._scan, 0, len(text)
        last_newline, ends_a_value = text.rfind("\n"), text.rstrip()[-1:] == "}"
        while True:
            while pos < end and text[pos] in _WHITESPACE_TEXT:
                pos += 1
            if pos == end or (pos > last_newline and not ends_a_value):  # it cannot be complete yet
                break
            try:
                value, pos = scan(text, pos)
            except json.JSONDecodeError as exc:
                if exc.pos <= last_newline:
                    raise WatchError(f"the watch stream is not valid JSON: {exc.msg} near "
                                     f"{text[exc.pos:exc.pos + 40]!r}") from None
                break
            yield value
        return start + (pos if text.isascii() else len(text[:pos].encode()))

    @property
    def incomplete(self) -> bool:
        """True when part of a value (or of a UTF-8 character) is buffered."""
        return bool(self._pending)


def _skip_whitespace(data: bytes, pos: int) -> int:
    end = len(data)
    while pos < end and data[pos] in _WHITESPACE:
        pos += 1
    return pos


def _utf8_prefix(data: bytes) -> str:
    """The text of ``data`` but for a UTF-8 character cut at its end; WatchError if it is not UTF-8."""
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            return data[:exc.start].decode()
        raise WatchError(f"the watch stream is not UTF-8: {exc.reason} at byte {exc.start} "
                         f"of {data[max(exc.start - 20, 0):exc.start + 20]!r}") from None


def decode_event(document: Any) -> WatchEvent:
    """The WatchEvent of one decoded stream value; WatchError when it is not one."""
    try:
        kind = _EVENT_TYPES[document["type"]]
        obj = document["object"]
    except (KeyError, TypeError):
        raise WatchError(f"not a watch event: {str(document)[:200]!r}") from None
    if type(obj) is not dict:
        raise WatchError(f"watch event {kind.value} carries no object: {str(document)[:200]!r}")
    return WatchEvent(kind, ApiObject(obj))


class ResumePoint:
    """Where a watch stands. ``resource_version`` is the resume point: that of the last event or
    bookmark, not advanced by the initial events of a streaming list until their end bookmark."""

    __slots__ = ("resource_version", "initial_pending", "initial_delivered")

    def __init__(self, resource_version: str | None, send_initial_events: bool) -> None:
        self.resource_version = resource_version
        self.initial_pending = send_initial_events  # a streaming list whose end bookmark has not come
        self.initial_delivered = False  # some of its initial events were handed out

    @property
    def resumable(self) -> bool:
        """False once initial events of a streaming list were delivered but their end was not:
        a new connection would send them again."""
        return not (self.initial_pending and self.initial_delivered)

    def advance(self, event: WatchEvent, url: str) -> None:
        """Raise an ERROR event as its typed ApiError; move the resume point past the event."""
        if event.type is EventType.ERROR:
            raise api_error_from_status(dict(event.object), method="WATCH", url=url)
        if self.initial_pending:
            if event.is_initial_events_end:
                self.initial_pending = False
            else:
                self.initial_delivered = True
                return
        version = (event.object.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = version

    def request(self, watch: Request, timeout_seconds: int | None) -> Request:
        """The request of the next connection of ``watch`` (as ``calls.watch`` built it): from the
        resume point, asking for the initial events while they have not ended, ``timeout_seconds``
        long (None: the server's default)."""
        params = {k: v for k, v in watch.params.items() if k not in WATCH_RESUME_PARAMS}
        if self.resource_version is not None:
            params["resourceVersion"] = self.resource_version
        if self.initial_pending:
            params["sendInitialEvents"] = "true"
            params["resourceVersionMatch"] = "NotOlderThan"
        if timeout_seconds:
            params["timeoutSeconds"] = timeout_seconds
        return Request(watch.method, watch.path, params, watch.headers, watch.body, stream=True)
