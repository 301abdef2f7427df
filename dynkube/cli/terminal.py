"""Our terminal and standard streams joined to a container's stream (exec, attach): stdin pumped to it,
raw mode and resizes with a tty, and the signals that stop a long-running command."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

import dynkube

from .context import Context


def tty_needs_stdin(ctx: Context) -> None:
    """kubectl's rule: -t without -i means no terminal; -t with a stdin that is not one, a warning too."""
    if ctx.args.tty and not ctx.args.stdin:
        ctx.args.tty = False
    elif ctx.args.tty and not sys.stdin.isatty():
        ctx.error("Unable to use a TTY - input is not a terminal or the right kind of file")
        ctx.args.tty = False


def run_interactive(ctx: Context, stream: dynkube.ExecStream) -> int:
    """Copy our stdin to the stream (with -i) and its output to ours, then return the exit code."""
    out, err = _binary(ctx.out), _binary(ctx.err)
    with stream, _raw_terminal(ctx.args.tty and ctx.args.stdin):
        if ctx.args.stdin:
            threading.Thread(target=_pump_stdin, args=(stream,), name="dynkube-exec-stdin", daemon=True).start()
        if ctx.args.tty:
            _follow_terminal_size(stream)
        for channel, data in stream.chunks():
            target = err if channel == dynkube.Channel.STDERR else out
            target.write(data)
            target.flush()
        code = stream.wait()
    if code:
        ctx.error(f"command terminated with exit code {code}")  # kubectl's line
    return code


def _pump_stdin(stream: dynkube.ExecStream) -> None:
    """Our stdin to the command's, then EOF (where the server's protocol can say it)."""
    try:
        while data := os.read(sys.stdin.fileno(), 32 * 1024):
            stream.write(data)
        stream.close_stdin()
    except (OSError, dynkube.DynkubeError):
        pass  # the stream ended first, or v4 cannot end stdin: the command's end decides


def _follow_terminal_size(stream: dynkube.ExecStream) -> None:
    def send(*_: Any) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(dynkube.DynkubeError):
            stream.resize(size.columns, size.lines)

    send()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGWINCH, send)


@contextlib.contextmanager
def _raw_terminal(enabled: bool) -> Iterator[None]:
    """With -i -t on a terminal: raw mode (keys go to the container as typed), restored after."""
    if not enabled or not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(sys.stdin.fileno())
    tty.setraw(sys.stdin.fileno())
    try:
        yield
    finally:
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


@contextlib.contextmanager
def stop_on(signum: int, stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signum, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signum, previous)


class _TextAsBinary:
    """A text stream (a test's StringIO) written to as bytes."""

    def __init__(self, text: Any) -> None:
        self._text = text

    def write(self, data: bytes) -> None:
        self._text.write(data.decode("utf-8", errors="replace"))

    def flush(self) -> None:
        self._text.flush()


def _binary(stream: Any) -> BinaryIO | _TextAsBinary:
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None else _TextAsBinary(stream)
