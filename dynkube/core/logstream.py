"""Followed logs: each line's timestamp, and where a broken follow resumes without repeating a line.

A log request with ``timestamps=true`` gets every line as ``TIMESTAMP SP TEXT`` (RFC 3339, nanoseconds).
A follow that resumes asks again with ``sinceTime`` at the last timestamp delivered. The server
answers from that time on, and from the start of its second (the API server passes ``sinceTime`` on
to the kubelet in whole seconds), so lines already delivered come again: ``LogResumePoint`` says
which to skip. Nothing here sends, sleeps or reads the clock.
"""

from __future__ import annotations

import calendar
import logging
import re
from typing import Any

from .http import Request

_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")
log = logging.getLogger(__name__)
RESUME_DROPPED_PARAMS = frozenset({"tailLines", "sinceSeconds", "sinceTime"})
"""Query parameters of the first request that a resumed connection does not repeat (it starts at
``sinceTime``)."""


def split_timestamp(line: str) -> tuple[str, str]:
    """(timestamp, rest) of a line the server prefixed with its timestamp; ("", line) when it has none."""
    stamp, sep, rest = line.partition(" ")
    if sep and _STAMP.fullmatch(stamp):
        return stamp, rest
    return "", line


def timestamp_ns(stamp: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp (a fraction of up to 9 digits, any offset);
    ValueError for anything else."""
    match = _STAMP.fullmatch(stamp)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {stamp!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, offset = match.group(7) or "", match.group(8)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


class LogResumePoint:
    """Where a followed log stands: the last timestamp delivered, and how many lines carried it.

    ``delivered`` after handing out each line; ``request`` for the next connection; then, on that
    connection, ``already_delivered`` for each line until it says False once.
    """

    __slots__ = ("last", "_last_ns", "_at_last", "_replayed", "_resuming")

    def __init__(self) -> None:
        self.last = ""  # the timestamp of the last line delivered ("" before the first)
        self._last_ns = 0
        self._at_last = 0  # lines delivered that carried exactly that timestamp
        self._replayed = 0  # of those, how many the current connection has sent again
        self._resuming = False

    def delivered(self, stamp: str) -> None:
        """A line with timestamp ``stamp`` was handed out (lines without one do not move the point)."""
        if not stamp:
            return
        nanoseconds = timestamp_ns(stamp)
        if self.last and nanoseconds == self._last_ns:
            self._at_last += 1
        else:
            self.last, self._last_ns, self._at_last = stamp, nanoseconds, 1

    def request(self, first: Request) -> Request:
        """The request of the next connection: ``first`` itself before any line was delivered, else
        ``first`` from ``sinceTime`` = the last timestamp (no tail or since), with timestamps."""
        if not self.last:
            return first
        params = {k: v for k, v in first.params.items() if k not in RESUME_DROPPED_PARAMS}
        params.update(timestamps="true", sinceTime=self.last)
        self._replayed, self._resuming = 0, True
        return first._replace(params=params)

    def already_delivered(self, stamp: str) -> bool:
        """True for a line of a resumed connection that an earlier connection delivered: older than the
        last timestamp, or one of the lines at it already counted. The first False ends the replay."""
        if not self._resuming:
            return False
        if stamp:
            nanoseconds = timestamp_ns(stamp)
            if nanoseconds < self._last_ns:
                return True
            if nanoseconds == self._last_ns and self._replayed < self._at_last:
                self._replayed += 1
                return True
        self._resuming = False
        return False


class MergedFollows:
    """The reader's side of a merge of several follows, each pumped by its own thread or task into
    one queue: ``arrival`` takes what came (``("line", line)``, ``("error", (source, exc))`` or
    ``("end", None)``) and gives the line to hand out, or None. An error is raised, or with
    ``ignore_errors`` logged and kept in ``errors``; ``running`` counts the follows not ended."""

    __slots__ = ("running", "ignore_errors", "errors")

    def __init__(self, follows: int, *, ignore_errors: bool, errors: list[tuple[Any, Exception]]) -> None:
        self.running = follows
        self.ignore_errors = ignore_errors
        self.errors = errors

    def arrival(self, what: str, value: Any) -> Any:
        if what == "line":
            return value
        if what == "end":
            self.running -= 1
            return None
        source, error = value
        if not self.ignore_errors:
            raise error
        log.warning("logs of %s: %s", source, error)
        self.errors.append(value)
        return None
