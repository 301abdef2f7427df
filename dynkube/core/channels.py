"""The channel protocols of exec, attach and port-forward over WebSocket, as pure code.

Every binary WebSocket message of ``v4.channel.k8s.io`` / ``v5.channel.k8s.io`` starts with one byte,
its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a ``metav1.Status`` when the command
ends), 4 terminal resize (``{"Width": w, "Height": h}``). v5 adds channel 255: a message
``[255, c]`` closes channel ``c`` (stdin half-close); v4 has no way to say "no more stdin".
Port-forward (``v4.channel.k8s.io`` on ``pods/portforward``) gives each requested port a data channel
``2*i`` and an error channel ``2*i + 1``; the first message on each carries the port (two bytes,
little-endian) and is no data. This module frames, splits and reads those messages, and holds
every decision of the streams that is not I/O, for the sync (``dynkube.streaming``) and the asyncio
(``dynkube.aio.streaming``) shells alike: the upgrade's URL and header lines, the error of a refused
upgrade, the subprotocol the server chose, what an exec stream received and how it ended
(``ExecOutput``), and its result (``ExecResult``). It sends nothing.
"""

from __future__ import annotations

import collections
import enum
import json
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

from .. import errors
from .http import Headers, Response
from .status import error_for

# the WebSocket connections of both shells (dynkube.streaming, dynkube.aio.streaming)
EXTRA = "stream"
OPEN_TIMEOUT = 30.0  # seconds for the connection and the upgrade
CLOSE_TIMEOUT = 5.0  # seconds to wait for the server's answer to our close
MAX_MESSAGE = 16 * 1024 * 1024  # the API server sends at most 32 KiB a message; this bounds a broken peer


class Protocol(enum.StrEnum):
    """The WebSocket subprotocols of the channel streams, newest first."""

    V5 = "v5.channel.k8s.io"
    V4 = "v4.channel.k8s.io"


EXEC_PROTOCOLS = (Protocol.V5, Protocol.V4)  # offered in this order: the server picks the first it knows
PORT_FORWARD_PROTOCOLS = (Protocol.V4,)
MISSING_LIBRARY = ("exec, attach, port-forward and cp need the WebSocket library 'websockets': "
                   "pip install 'dynkube[stream]'")
"""What a missing ``websockets`` is told as (``MissingExtra``, extra ``stream``), in both shells."""
STDIN_PIECE = 32 * 1024  # bytes of stdin a message carries when a whole input is fed


# ---- the upgrade ----------------------------------------------------------------------------

def upgrade_url(http_url: str, params: Mapping[str, Any]) -> str:
    """The ws:// or wss:// URL of an upgrade request to ``http_url`` with its query."""
    query = urlencode(params, doseq=True) if params else ""
    return "ws" + http_url[len("http"):] + (f"?{query}" if query else "")


def header_lines(*layers: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    """The header lines of an upgrade: ``layers`` merged (a later one wins for a name), a list
    value one line per item (several Impersonate-Group)."""
    merged: dict[str, str | list[str]] = {}
    for layer in layers:
        merged.update(layer)
    return [(name, item) for name, value in merged.items() for item in (value if isinstance(value, list) else [value])]


def refused_upgrade(status: int, headers: Mapping[str, str], body: bytes, reason: str,
                    url: str) -> errors.ApiError:
    """The typed ApiError of an upgrade the server answered with ``status`` instead of 101."""
    return error_for(Response(status, Headers(dict(headers)), body, reason, url), "GET", url)


def chosen_protocol(subprotocol: str | None, url: str) -> Protocol:
    """The channel protocol the server chose, or StreamError when it chose none of ours."""
    try:
        return Protocol(str(subprotocol))
    except ValueError:
        raise errors.StreamError(f"{url}: the server chose no channel protocol ({subprotocol!r})",
                                 url=url) from None


def check_closable(protocol: Protocol, url: str) -> None:
    """StreamError unless ``protocol`` can end stdin (v5 can, v4 has no way to say it). Feeding a
    whole input asks this first: without the end of input the command would wait forever."""
    if protocol is not Protocol.V5:
        raise errors.StreamError(f"{url}: the server speaks {protocol.value}, which cannot close "
                                 f"stdin (v5.channel.k8s.io can)", url=url)


class Channel(enum.IntEnum):
    """The channels of an exec or attach stream."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2
    ERROR = 3
    RESIZE = 4
    CLOSE = 255


def frame(channel: int, data: bytes) -> bytes:
    """One message carrying ``data`` on ``channel``."""
    return bytes((channel,)) + data


def close_frame(channel: int) -> bytes:
    """The v5 message that closes ``channel`` (the client's stdin half-close)."""
    return bytes((Channel.CLOSE, channel))


def resize_frame(width: int, height: int) -> bytes:
    """The message that sets the terminal size of a tty stream."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise errors.InvalidInput(f"terminal {name} must be an integer from 1 to 65535, not {value!r}")
    return frame(Channel.RESIZE, json.dumps({"Width": width, "Height": height}).encode())


def split(message: bytes | str) -> tuple[int, bytes]:
    """(channel, data) of a received message; an empty message is (-1, b"")."""
    if isinstance(message, str):  # the server sends binary frames; a text one is read as UTF-8
        message = message.encode()
    if not message:
        return -1, b""
    return message[0], message[1:]


class ExecResult(NamedTuple):
    """What a command run to its end gave: its output and its exit code."""

    stdout: bytes
    stderr: bytes
    exit_code: int

    @property
    def stdout_text(self) -> str:
        """stdout as text (UTF-8; undecodable bytes replaced)."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        """stderr as text (UTF-8; undecodable bytes replaced)."""
        return self.stderr.decode("utf-8", errors="replace")


class ExecOutput:
    """What an exec or attach stream has received: stdout and stderr not yet read, the error
    channel's Status, and (once ``ended``) how the command ended. Both shells feed it every message
    (``received``) and the end of the connection (``ended_by``); it decides the rest."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._buffers: dict[int, collections.deque[bytes]] = {Channel.STDOUT: collections.deque(),
                                                                Channel.STDERR: collections.deque()}
        self._status = bytearray()
        self.ended = False
        self._failure: errors.DynkubeError | None = None
        self._exit: ExitStatus | None = None

    @property
    def status_received(self) -> bool:
        """True once the server sent the command's exit Status."""
        return bool(self._status)

    @property
    def exit_code(self) -> int | None:
        """The exit code once the stream ended with one, else None."""
        return self._exit.code if self._exit else None

    def check_readable(self, channel: int) -> None:
        """InvalidInput unless ``channel`` is one a caller can read (STDOUT or STDERR)."""
        if channel not in self._buffers:
            raise errors.InvalidInput(f"read: only stdout and stderr can be read, not {channel!r}")

    def has(self, channel: int) -> bool:
        """True when ``read(channel)`` needs no more messages (data is there, or the stream ended)."""
        return bool(self._buffers[channel]) or self.ended

    def take(self, channel: int) -> bytes:
        """The next piece of ``channel``; b"" when there is none."""
        buffer = self._buffers[channel]
        return buffer.popleft() if buffer else b""

    def take_any(self) -> tuple[Channel, bytes] | None:
        """The next piece of stdout, else of stderr, with its channel; None when there is none."""
        for channel in (Channel.STDOUT, Channel.STDERR):
            if self._buffers[channel]:
                return channel, self._buffers[channel].popleft()
        return None

    def received(self, message: bytes | str) -> None:
        """Keep one message (one on a channel the stream does not use is dropped)."""
        channel, data = split(message)
        if channel in self._buffers:
            if data:
                self._buffers[channel].append(data)
        elif channel == Channel.ERROR:
            self._status += data

    def ended_by(self, dropped: str | None) -> None:
        """The connection ended: normally (``dropped`` None) or broken (``dropped`` says how). A
        received exit Status wins over a break after it; a stream closed without one is exit code 0,
        as in client-go."""
        self.ended = True
        failure: errors.DynkubeError | None = None
        if dropped is not None and not self._status:
            failure = errors.StreamError(f"{self.url}: the connection dropped before the command ended ({dropped})",
                                         url=self.url)
        if failure is None:
            try:
                self._exit = read_status(bytes(self._status), url=self.url) if self._status else ExitStatus(0, {})
            except errors.DynkubeError as exc:
                failure = exc
        self._failure = failure

    def result(self) -> int:
        """The exit code of an ended stream; raises the typed error of a failure Status, or StreamError
        if the connection dropped."""
        if self._failure is not None:
            raise self._failure
        assert self._exit is not None, "result() before the stream ended"
        return self._exit.code


class ExitStatus(NamedTuple):
    """How a command ended: its exit code (0 for Success) and the Status the server sent."""

    code: int
    status: dict[str, Any]


def read_status(data: bytes, *, url: str = "") -> ExitStatus:
    """The exit of a command from the error channel's ``metav1.Status``.

    ``Success`` is exit code 0; a ``NonZeroExitCode`` failure carries the code as the message of its
    ``ExitCode`` cause. Any other failure (the command does not exist, the container is gone, a kwok
    node's "exit status N" as an InternalError) raises the typed ApiError of that Status.
    """
    try:
        status = json.loads(data)
    except ValueError:
        status = None
    if not isinstance(status, dict):
        raise errors.MalformedResponse(f"the error channel of {url or 'the stream'} held no Status: {data[:200]!r}",
                                       url=url, body_start=data[:200])
    if status.get("status") == "Success":
        return ExitStatus(0, status)
    if status.get("reason") == "NonZeroExitCode":
        code = _exit_code_cause(status)
        if code is not None:
            return ExitStatus(code, status)
    status.setdefault("code", 500)
    raise errors.api_error_from_status(status, method="GET", url=url)


def _exit_code_cause(status: dict[str, Any]) -> int | None:
    details = status.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    for cause in causes if isinstance(causes, list) else []:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None


class PortForwardDecoder:
    """Reads the messages of one forwarded port: strips the port prefix each channel starts with,
    and tells data (``data_channel``) from the error channel's text."""

    def __init__(self, port: int, index: int = 0) -> None:
        self.port = port
        self.data_channel = 2 * index
        self.error_channel = 2 * index + 1
        self._started: set[int] = set()

    def decode(self, message: bytes | str) -> tuple[int, bytes]:
        """(channel, payload) of one message; the first of each channel (the port) gives b"" payload."""
        channel, data = split(message)
        if channel < 0:
            return channel, data
        if channel not in (self.data_channel, self.error_channel):
            raise errors.MalformedResponse(f"port-forward to port {self.port}: a message on unknown channel "
                                           f"{channel}", url="", body_start=data[:200])
        if channel not in self._started:
            self._started.add(channel)
            if len(data) < 2 or int.from_bytes(data[:2], "little") != self.port:
                raise errors.MalformedResponse(f"port-forward to port {self.port}: channel {channel} did not "
                                               f"start with the port", url="", body_start=data[:200])
            data = data[2:]
        return channel, data

    def data(self, payload: bytes) -> bytes:
        """The message that sends ``payload`` to the port."""
        return frame(self.data_channel, payload)

    def payload(self, message: bytes | str, url: str) -> bytes:
        """The data one message brings (b"" for none); StreamError when the node reported an error
        on the error channel (nothing listens on that port in the pod, the pod is gone)."""
        channel, payload = self.decode(message)
        if channel == self.error_channel and payload:
            raise errors.StreamError(f"port-forward to port {self.port}: {payload.decode('utf-8', errors='replace')}",
                                     url=url)
        return payload if channel == self.data_channel else b""
