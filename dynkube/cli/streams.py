"""exec, attach, port-forward and cp: thin over the library's streams (Client.exec_stream, attach,
port_forward; dynkube.copy_from_pod / copy_to_pod)."""

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

from .context import Context, UsageError

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def exec_command(ctx: Context) -> int:
    """``dynkube exec POD [-c C] [-i] [-t] -- CMD...``: the command's exit code becomes ours."""
    command = ctx.args.cmd[1:] if ctx.args.cmd[:1] == ["--"] else ctx.args.cmd
    if not command:
        raise UsageError("you must specify at least one command for the container")
    pod, container = _pod_and_container(ctx, ctx.args.pod)
    _tty_needs_stdin(ctx)
    stream = ctx.client.exec_stream(pod, command, ctx.namespace, container=container, stdin=ctx.args.stdin,
                                    tty=ctx.args.tty)
    return _run_interactive(ctx, stream)


def attach_command(ctx: Context) -> int:
    """``dynkube attach POD [-c C] [-i] [-t]``: the container's output until it ends (or Ctrl-C)."""
    pod, container = _pod_and_container(ctx, ctx.args.pod)
    _tty_needs_stdin(ctx)
    stream = ctx.client.attach(pod, ctx.namespace, container=container, stdin=ctx.args.stdin, tty=ctx.args.tty)
    return _run_interactive(ctx, stream)


def port_forward_command(ctx: Context) -> int:
    """``dynkube port-forward TYPE/NAME [LOCAL:]REMOTE...``: forward until interrupted."""
    specs: list[str | int | tuple[int, int]] = list(dynkube.port_pairs(ctx.args.ports))
    pod = _running(dynkube.attachable_pod(ctx.client, ctx.args.target, ctx.namespace), "forward port")
    kind, slash, name = ctx.args.target.partition("/")
    if slash and ctx.client.resource(kind).resource.kind == "Service":
        service = ctx.client.resource("services").get(name, ctx.namespace)
        specs = [(local, dynkube.service_target_port(service, pod, remote))
                 for local, remote in dynkube.port_pairs(specs)]
    stop = threading.Event()
    with ctx.client.port_forward(pod.metadata.name, specs, ctx.namespace, address=ctx.args.address) as forwarder:
        for local, remote in forwarder.forwarded:
            ctx.print(f"Forwarding from {ctx.args.address}:{local} -> {remote}")
        ctx.out.flush()
        with _stop_on(signal.SIGTERM, stop):
            stop.wait()
    return 0


def cp_command(ctx: Context) -> int:
    """``dynkube cp [NS/]POD:PATH LOCAL`` or ``dynkube cp LOCAL [NS/]POD:PATH``."""
    source, destination = ctx.args.source, ctx.args.destination
    remote_source, remote_destination = _remote(source), _remote(destination)
    if bool(remote_source) == bool(remote_destination):
        raise UsageError("one of SOURCE and DESTINATION must be a pod path (POD:PATH), the other a local path")
    if remote_source:
        namespace, pod, path = remote_source
        dynkube.copy_from_pod(ctx.client, pod, path, destination, namespace=namespace or ctx.namespace,
                              container=ctx.args.container)
    else:
        assert remote_destination is not None
        namespace, pod, path = remote_destination
        dynkube.copy_to_pod(ctx.client, source, pod, path, namespace=namespace or ctx.namespace,
                            container=ctx.args.container)
    return 0


def _remote(spec: str) -> tuple[str | None, str, str] | None:
    """(namespace, pod, path) of ``[NS/]POD:PATH``, or None for a local path (kubectl's reading: a
    colon before any slash, or a local path that does not exist but looks remote)."""
    head, colon, path = spec.partition(":")
    if not colon or not head or os.path.exists(spec):
        return None
    namespace, slash, pod = head.rpartition("/")
    if not path:
        raise UsageError(f"{spec!r}: the path in the pod is missing (POD:PATH)")
    return (namespace if slash else None), pod, path


def _pod_and_container(ctx: Context, target: str) -> tuple[str, str | None]:
    """The pod a target means, and the container: ``-c``, else the pod's default-container annotation."""
    pod = _running(dynkube.attachable_pod(ctx.client, target, ctx.namespace), "exec into or attach to")
    container = ctx.args.container or (pod.metadata.get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    return pod.metadata.name, container


def _running(pod: dynkube.ApiObject, what: str) -> dynkube.ApiObject:
    """The pod, if it is Running (kubectl refuses the others before any stream)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise dynkube.InvalidInput(f"cannot {what} pod {pod.metadata.name!r}: it is not running (phase {phase})")
    return pod


def _tty_needs_stdin(ctx: Context) -> None:
    """kubectl's rule: -t without -i means no terminal; -t with a stdin that is not one, a warning too."""
    if ctx.args.tty and not ctx.args.stdin:
        ctx.args.tty = False
    elif ctx.args.tty and not sys.stdin.isatty():
        ctx.error("Unable to use a TTY - input is not a terminal or the right kind of file")
        ctx.args.tty = False


def _run_interactive(ctx: Context, stream: dynkube.ExecStream) -> int:
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
def _stop_on(signum: int, stop: threading.Event) -> Iterator[None]:
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
