"""The channel protocols of exec, attach and port-forward over WebSocket, as pure code.

Every binary WebSocket message of ``v4.channel.k8s.io`` / ``v5.channel.k8s.io`` starts with one byte,
its channel: 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a ``metav1.Status`` when the command
ends), 4 terminal resize (``{"Width": w, "Height": h}``). v5 adds channel 255: a message
``[255, c]`` closes channel ``c`` (stdin half-close); v4 has no way to say "no more stdin".
Port-forward (``v4.channel.k8s.io`` on ``pods/portforward``) gives each requested port a data channel
``2*i`` and an error channel ``2*i + 1``; the first message on each carries the port (two bytes,
little-endian) and is no data. This module frames, splits and reads those messages; it sends nothing.
"""

from __future__ import annotations

import enum
import json
from typing import Any, NamedTuple

from .. import errors


class Protocol(enum.StrEnum):
    """The WebSocket subprotocols of the channel streams, newest first."""

    V5 = "v5.channel.k8s.io"
    V4 = "v4.channel.k8s.io"


EXEC_PROTOCOLS = (Protocol.V5, Protocol.V4)  # offered in this order: the server picks the first it knows
PORT_FORWARD_PROTOCOLS = (Protocol.V4,)


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
