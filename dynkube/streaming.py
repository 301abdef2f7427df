"""Streams into a pod over WebSocket: exec, attach and port-forward connections.

The sync shell around ``dynkube.core.channels`` (the framing and every decision that is not I/O)
and the builders in ``dynkube.core.calls`` (the upgrade requests): it opens the WebSocket with the
transport's own TLS settings, credentials, impersonation headers and proxy
(``Transport.upgrade_target``), refreshes credentials once on a 401 as ``Transport.send`` does, and
raises the typed ApiError of a refused upgrade. The WebSocket library is ``websockets`` (its sync
client; ``dynkube.aio.streaming`` is the same over its asyncio client), an optional extra:
``pip install 'dynkube[stream]'``.
"""

from __future__ import annotations

import errno
import functools
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import errors
from .core.channels import ExecResult as ExecResult  # re-exported: taught as dynkube.streaming.ExecResult
from .core.channels import (CLOSE_TIMEOUT, EXEC_PROTOCOLS, EXTRA, MAX_MESSAGE, MISSING_LIBRARY, OPEN_TIMEOUT,
                            PORT_FORWARD_PROTOCOLS, STDIN_PIECE, Channel, ExecOutput, PortForwardDecoder, Protocol,
                            check_closable, chosen_protocol, close_frame, frame, refused_upgrade, resize_frame)
from .core.http import Request, display_url
from .transport import Transport

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

log = logging.getLogger(__name__)



def _client() -> Any:
    """The ``websockets`` sync client module, or MissingExtra naming the extra to install."""
    try:
        from websockets.sync import client
    except ImportError:
        raise errors.MissingExtra(MISSING_LIBRARY, extra=EXTRA) from None
    return client


def open_websocket(transport: Transport, request: Request, protocols: Sequence[Protocol]) -> ClientConnection:
    """Open the WebSocket of an upgrade request, offering ``protocols`` in order.

    A refused upgrade raises the typed ApiError of the answer (after one credential refresh on a
    401); no answer at all raises TransportError.
    """
    client = _client()
    from websockets.exceptions import InvalidHandshake, InvalidStatus

    shown = display_url(transport.url(request.path))
    for attempt in (1, 2):
        target = transport.upgrade_target(request)
        try:
            connection: ClientConnection = client.connect(
                target.url, ssl=target.ssl_context, server_hostname=target.server_hostname,
                additional_headers=target.headers, user_agent_header=None, subprotocols=[p.value for p in protocols],
                proxy=target.proxy, compression=None, open_timeout=OPEN_TIMEOUT, close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_MESSAGE, create_connection=_serialized_connection(),
            ).__enter__()  # entered: the stream objects own it and close it
        except InvalidStatus as exc:
            answer = exc.response
            if answer.status_code == 401 and attempt == 1 and transport.refresh_credentials():
                log.info("upgrade of %s refused with 401: credentials refreshed, asking again", shown)
                continue
            raise refused_upgrade(answer.status_code, dict(answer.headers.raw_items()), bytes(answer.body or b""),
                                  answer.reason_phrase, shown) from None
        except (OSError, EOFError, InvalidHandshake) as exc:
            raise errors.TransportError(f"GET {shown}: cannot open the WebSocket: {exc.__class__.__name__}: {exc}",
                                        url=shown) from None
        log.debug("GET %s upgraded (%s)", shown, connection.subprotocol)
        return connection
    raise AssertionError("unreachable: the second attempt returns or raises")


@functools.cache
def _serialized_connection() -> type[ClientConnection]:
    """websockets' ClientConnection over a ``SerializedTLS`` (made on first use: websockets is optional)."""
    client = _client()

    class SerializedConnection(client.ClientConnection):  # type: ignore[name-defined,misc]
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            if isinstance(sock, ssl.SSLSocket):
                sock = SerializedTLS(sock)  # type: ignore[assignment]
            super().__init__(sock, *args, **kwargs)

    connection: type[ClientConnection] = SerializedConnection
    return connection


class SerializedTLS:
    """A TLS socket that lets one thread at a time into OpenSSL, for websockets' sync connection.

    That connection reads in a thread of its own while the caller writes, and ``ssl.SSLSocket``
    (before Python 3.13.6) lets an ``SSL_read`` and an ``SSL_write`` run on the same connection at
    once, which OpenSSL forbids: when the server's TLS 1.3 session ticket is being read just as the
    upgrade request is written, the request can be lost, and the upgrade then waits for an answer
    that never comes (docs/performance.md, "The WebSocket upgrade that got no answer"). Here the
    socket is non-blocking, every OpenSSL call is made under one lock, and waits for the network
    happen outside it, so a blocked read never holds up a write.
    """

    def __init__(self, tls: ssl.SSLSocket) -> None:
        self._tls = tls
        self._lock = threading.Lock()
        self._timeout: float | None = tls.gettimeout()
        self.family = tls.family
        tls.setblocking(False)

    def fileno(self) -> int:
        return self._tls.fileno()

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def getsockname(self) -> Any:
        return self._tls.getsockname()

    def getpeername(self) -> Any:
        return self._tls.getpeername()

    def setsockopt(self, *args: Any) -> None:
        self._tls.setsockopt(*args)

    def recv(self, size: int) -> bytes:
        """Up to ``size`` decrypted bytes (b"" at the end), waiting for them as a blocking socket does."""
        while True:
            with self._lock:
                try:
                    data = self._tls.recv(size)
                    while data and len(data) < size and self._tls.pending():  # the rest of a record read
                        data += self._tls.recv(size - len(data))
                    return data
                except ssl.SSLWantReadError:
                    events = select.POLLIN
                except ssl.SSLWantWriteError:
                    events = select.POLLOUT
            self._wait(events)

    def sendall(self, data: bytes) -> None:
        """Encrypt and send all of ``data``."""
        view = memoryview(data)
        while view:
            with self._lock:
                try:
                    view = view[self._tls.send(view):]
                    continue
                except ssl.SSLWantWriteError:
                    events = select.POLLOUT
                except ssl.SSLWantReadError:
                    events = select.POLLIN
            self._wait(events)

    def shutdown(self, how: int) -> None:
        with self._lock:
            socket.socket.shutdown(self._tls, how)  # the TCP side only: SSLSocket.shutdown drops its TLS state

    def close(self) -> None:
        try:
            socket.socket.shutdown(self._tls, socket.SHUT_RDWR)  # wakes a thread waiting in _wait
        except OSError:
            pass
        self._tls.close()

    def _wait(self, events: int) -> None:
        fd = self._tls.fileno()
        if fd < 0:
            raise OSError(errno.EBADF, "the connection is closed")
        poller = select.poll()
        poller.register(fd, events)
        if not poller.poll(None if self._timeout is None else self._timeout * 1000):
            raise TimeoutError("timed out")


class ExecStream:
    """An open exec or attach stream: ``write`` to stdin, ``close_stdin``, ``read`` one channel,
    ``resize`` the terminal, ``wait`` for the exit code, ``close``.

    One thread may read while another writes. ``read(channel)`` keeps what arrives on the other
    channel for its own ``read``, so read both (or use ``chunks``) when the command writes a lot to
    both. The stream ends when the command does; ``wait`` then gives its exit code, or raises the
    typed ApiError of a failure Status (the command does not exist, the container is gone).
    """

    def __init__(self, connection: ClientConnection, url: str) -> None:
        self.url = url
        self._ws = connection
        try:
            self.protocol = chosen_protocol(connection.subprotocol, url)
        except errors.StreamError:
            connection.close()
            raise
        self._output = ExecOutput(url)
        self._read_lock = threading.Lock()

    def __enter__(self) -> ExecStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ExecStream {self.url} {self.protocol.value}{' ended' if self.ended else ''}>"

    @property
    def ended(self) -> bool:
        """True once the server ended the stream (no I/O)."""
        return self._output.ended

    @property
    def status_received(self) -> bool:
        """True once the server sent the command's exit Status (no I/O; a stream closed without one
        reads as exit code 0, as in client-go)."""
        return self._output.status_received

    @property
    def exit_code(self) -> int | None:
        """The exit code once the stream ended with one, else None (no I/O; ``wait`` reads to the end)."""
        return self._output.exit_code

    def write(self, data: bytes | str) -> None:
        """Send ``data`` to the command's stdin (str as UTF-8)."""
        payload = data.encode() if isinstance(data, str) else bytes(data)
        self._send(frame(Channel.STDIN, payload))

    def close_stdin(self) -> None:
        """Tell the command there is no more input (EOF on its stdin). Needs ``v5.channel.k8s.io``:
        over v4 raises StreamError, since that protocol has no way to say it."""
        check_closable(self.protocol, self.url)
        self._send(close_frame(Channel.STDIN))

    def resize(self, width: int, height: int) -> None:
        """Set the terminal size of a tty stream (columns, rows)."""
        self._send(resize_frame(width, height))

    def read(self, channel: Channel = Channel.STDOUT, timeout: float | None = None) -> bytes:
        """The next bytes of ``channel`` (STDOUT or STDERR); b"" once the stream ended.
        ``timeout`` (seconds) bounds the wait: TimeoutError when nothing came."""
        self._output.check_readable(channel)
        with self._read_lock:
            while not self._output.has(channel):
                self._receive(timeout)
            return self._output.take(channel)

    def chunks(self, timeout: float | None = None) -> Iterator[tuple[Channel, bytes]]:
        """Every piece of output as it arrives, as (STDOUT or STDERR, bytes), until the stream ends;
        ``timeout`` bounds each wait (TimeoutError)."""
        while True:
            with self._read_lock:
                pending = self._output.take_any()
                if pending is None and not self.ended:
                    self._receive(timeout)
                    pending = self._output.take_any()
            if pending is not None:
                yield pending
            elif self.ended:
                return

    def wait(self, timeout: float | None = None) -> int:
        """Read to the end of the stream (output not yet read is kept for ``read``) and return the
        exit code; raises the typed error of a failure Status, or StreamError if the connection dropped."""
        with self._read_lock:
            while not self.ended:
                self._receive(timeout)
        return self._output.result()

    def close(self) -> None:
        """Close the connection (the command may go on running in the container, as with kubectl)."""
        self._ws.close()

    def _send(self, message: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(message)
        except ConnectionClosed as exc:
            raise errors.StreamError(f"{self.url}: the stream is closed ({exc})", url=self.url) from None

    def _receive(self, timeout: float | None) -> None:
        """One message into the output, or the end of the connection (caller holds the read lock)."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        try:
            message = self._ws.recv(timeout=timeout)
        except ConnectionClosedOK:
            self._output.ended_by(None)
        except ConnectionClosed as exc:
            self._output.ended_by(str(exc))
        else:
            self._output.received(message)


def open_stream(transport: Transport, request: Request) -> ExecStream:
    """An ExecStream for an exec or attach upgrade request (v5 offered first, then v4)."""
    connection = open_websocket(transport, request, EXEC_PROTOCOLS)
    return ExecStream(connection, display_url(transport.url(request.path)))


def run(stream: ExecStream, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
    """Feed ``stdin`` (then EOF), collect stdout and stderr to the end, and return them with the exit
    code; the stream is closed. ``timeout`` bounds each wait for output."""
    writer: threading.Thread | None = None
    failures: list[BaseException] = []
    with stream:
        if stdin is not None:
            check_closable(stream.protocol, stream.url)
            writer = threading.Thread(target=_feed, args=(stream, stdin, failures), name="dynkube-exec-stdin",
                                      daemon=True)
            writer.start()
        out: dict[Channel, bytearray] = {Channel.STDOUT: bytearray(), Channel.STDERR: bytearray()}
        for channel, data in stream.chunks(timeout):
            out[channel] += data
        code = stream.wait()
    if writer is not None:
        writer.join()
    if failures and not isinstance(failures[0], errors.StreamError):
        raise failures[0]
    return ExecResult(bytes(out[Channel.STDOUT]), bytes(out[Channel.STDERR]), code)


def _feed(stream: ExecStream, data: bytes, failures: list[BaseException]) -> None:
    """Write stdin in pieces, then close it (a writer thread: the command's output is read meanwhile)."""
    try:
        for start in range(0, len(data), STDIN_PIECE):
            stream.write(data[start:start + STDIN_PIECE])
        stream.close_stdin()
    except BaseException as exc:  # handed to the reading thread, which raises it
        failures.append(exc)


class PortConnection:
    """One TCP connection to a port of a pod, through the API server: ``sendall``, ``recv``, ``close``.

    ``recv`` returns b"" when the connection ended and raises StreamError when the node reported an
    error (nothing listens on that port in the pod, the pod is gone).
    """

    def __init__(self, connection: ClientConnection, port: int, url: str) -> None:
        self.port = port
        self.url = url
        self._ws = connection
        self._decoder = PortForwardDecoder(port)
        self._pending = b""
        self._lock = threading.Lock()

    def __enter__(self) -> PortConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PortConnection {self.url} port {self.port}>"

    def sendall(self, data: bytes) -> None:
        """Send all of ``data`` to the pod's port."""
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(self._decoder.data(bytes(data)))
        except ConnectionClosed as exc:
            raise errors.StreamError(f"port-forward to port {self.port}: the connection is closed ({exc})",
                                     url=self.url) from None

    def recv(self, size: int = 65536, timeout: float | None = None) -> bytes:
        """Up to ``size`` bytes from the port; b"" at the end. ``timeout``: TimeoutError when nothing came."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        with self._lock:
            while not self._pending:
                try:
                    message = self._ws.recv(timeout=timeout)
                except ConnectionClosedOK:
                    return b""
                except ConnectionClosed as exc:
                    raise errors.StreamError(f"port-forward to port {self.port}: the connection dropped ({exc})",
                                             url=self.url) from None
                self._pending = self._decoder.payload(message, self.url)
            data, self._pending = self._pending[:size], self._pending[size:]
            return data

    def close(self) -> None:
        """Close the connection."""
        self._ws.close()


def connect_port(transport: Transport, request: Request, port: int) -> PortConnection:
    """A PortConnection for a port-forward upgrade request of one port."""
    connection = open_websocket(transport, request, PORT_FORWARD_PROTOCOLS)
    return PortConnection(connection, port, display_url(transport.url(request.path)))


class PortForwarder:
    """Local listeners that forward every accepted connection to a pod's port, each over its own
    WebSocket (many connections at once). A context manager: leaving it stops the listeners and
    closes every connection. ``ports`` is a list of (local, remote); local 0 picks a free port,
    shown in ``forwarded`` once started."""

    def __init__(self, connect: Callable[[int], PortConnection], ports: Sequence[tuple[int, int]],
                 address: str = "127.0.0.1") -> None:
        self._connect = connect
        self._ports = list(ports)
        self.address = address
        self.forwarded: list[tuple[int, int]] = []
        self._listeners: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def __enter__(self) -> PortForwarder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PortForwarder {self.address} {self.forwarded or self._ports}>"

    def start(self) -> PortForwarder:
        """Bind and listen on every local port, then accept in background threads (once: a started
        forwarder is returned as it is)."""
        if self._listeners:
            return self
        try:
            for local, remote in self._ports:
                listener = socket.create_server((self.address, local))
                self._listeners.append(listener)
                self.forwarded.append((listener.getsockname()[1], remote))
        except OSError as exc:
            self.stop()
            raise errors.TransportError(f"port-forward: cannot listen on {self.address}:{local}: {exc}") from None
        for listener, (_, remote) in zip(self._listeners, self.forwarded):
            self._spawn(self._accept, listener, remote, name=f"dynkube-port-forward-{remote}")
        return self

    def stop(self) -> None:
        """Stop listening, close every forwarded connection and wait for their threads."""
        self._stopping.set()
        for listener in self._listeners:
            _shut(listener)
        with self._lock:
            opened = list(self._open)
        for item in opened:
            if isinstance(item, socket.socket):
                _shut(item)
            else:
                item.close()
        for thread in list(self._threads):
            thread.join(CLOSE_TIMEOUT * 2)

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _accept(self, listener: socket.socket, remote: int) -> None:
        while not self._stopping.is_set():
            try:
                local, _ = listener.accept()
            except OSError:
                return
            self._spawn(self._serve, local, remote, name=f"dynkube-port-forward-{remote}-conn")

    def _track(self, item: Any, add: bool) -> bool:
        with self._lock:
            if add:
                if self._stopping.is_set():
                    return False
                self._open.add(item)
            else:
                self._open.discard(item)
            return True

    def _serve(self, local: socket.socket, remote: int) -> None:
        """Pump one accepted connection both ways until either side ends it."""
        self._track(local, True)
        try:
            try:
                pod = self._connect(remote)
            except errors.DynkubeError as exc:
                log.error("port-forward to port %d: %s", remote, exc)
                return
            if not self._track(pod, True):
                pod.close()
                return
            self._spawn(self._upstream, local, pod, name=f"dynkube-port-forward-{remote}-up")
            try:
                while data := pod.recv():
                    local.sendall(data)
            except errors.StreamError as exc:
                log.error("%s", exc)
            except OSError:
                pass
            pod.close()
            self._track(pod, False)
        finally:
            _shut(local)
            self._track(local, False)

    def _upstream(self, local: socket.socket, pod: PortConnection) -> None:
        try:
            while data := local.recv(65536):
                pod.sendall(data)
        except (OSError, errors.StreamError):
            pass
        pod.close()  # the local side ended: the legacy protocol has no half-close, so the connection ends


def _shut(sock: socket.socket) -> None:
    """Shut a socket down (waking a thread blocked on it) and close it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
