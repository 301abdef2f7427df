"""Streams into a pod over WebSocket for asyncio: exec, attach and port-forward connections.

The asyncio shell of what ``dynkube.streaming`` does with threads, on the ``websockets`` library's
asyncio client (the same ``stream`` extra): the same upgrade requests (``dynkube.core.calls``), the
same framing, exit status and every other decision (``dynkube.core.channels``), the transport's own
TLS context, credentials (a 401 on the upgrade refreshes them once), impersonation and proxy
(``AsyncTransport.upgrade_target``). A stream belongs to its client's event loop; closing the client
closes its streams. Cancelling a read, a write or a forwarded connection closes that connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import errors
from ..core.channels import (CLOSE_TIMEOUT, EXEC_PROTOCOLS, EXTRA, MAX_MESSAGE, MISSING_LIBRARY, OPEN_TIMEOUT,
                             PORT_FORWARD_PROTOCOLS, STDIN_PIECE, Channel, ExecOutput, ExecResult, PortForwardDecoder,
                             Protocol, check_closable, chosen_protocol, close_frame, frame, refused_upgrade,
                             resize_frame)
from ..core.http import Request, display_url
from .transport import AsyncTransport

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)

S = TypeVar("S", bound=AbstractAsyncContextManager[Any])


def _client() -> Any:
    """The ``websockets`` asyncio client module, or MissingExtra naming the extra to install."""
    try:
        from websockets.asyncio import client
    except ImportError:
        raise errors.MissingExtra(MISSING_LIBRARY, extra=EXTRA) from None
    return client


async def open_websocket(transport: AsyncTransport, request: Request,
                         protocols: Sequence[Protocol]) -> ClientConnection:
    """Open the WebSocket of an upgrade request, offering ``protocols`` in order.

    A refused upgrade raises the typed ApiError of the answer (after one credential refresh on a
    401); no answer at all raises TransportError.
    """
    client = _client()
    from websockets.exceptions import InvalidHandshake, InvalidStatus

    shown = display_url(transport.url(request.path))
    for attempt in (1, 2):
        target = await transport.upgrade_target(request)
        tls: dict[str, Any] = {}
        if target.ssl_context is not None:
            tls["ssl"] = target.ssl_context
        if target.server_hostname:
            tls["server_hostname"] = target.server_hostname
        try:
            connection: ClientConnection = await client.connect(
                target.url, additional_headers=target.headers, user_agent_header=None,
                subprotocols=[p.value for p in protocols], proxy=target.proxy, compression=None,
                open_timeout=OPEN_TIMEOUT, close_timeout=CLOSE_TIMEOUT, max_size=MAX_MESSAGE, **tls)
        except InvalidStatus as exc:
            answer = exc.response
            if answer.status_code == 401 and attempt == 1 and await transport.refresh_after(target):
                log.info("upgrade of %s refused with 401: credentials refreshed, asking again", shown)
                continue
            raise refused_upgrade(answer.status_code, dict(answer.headers.raw_items()), bytes(answer.body or b""),
                                  answer.reason_phrase, shown) from None
        except (OSError, EOFError, InvalidHandshake) as exc:  # TimeoutError (open_timeout) is an OSError
            raise errors.TransportError(f"GET {shown}: cannot open the WebSocket: {exc.__class__.__name__}: {exc}",
                                        url=shown) from None
        log.debug("GET %s upgraded (%s)", shown, connection.subprotocol)
        return connection
    raise AssertionError("unreachable: the second attempt returns or raises")


class OpenStreams:
    """The streams and forwarders of one client that are still open, closed with the client."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, item: Any) -> None:
        self._open.add(item)

    def discard(self, item: Any) -> None:
        self._open.discard(item)

    async def close(self) -> None:
        """Close every one still open."""
        for item in list(self._open):
            await item.__aexit__(None, None, None)


class Opening(Generic[S]):
    """A stream or forwarder being opened: ``await`` it for the open object, or ``async with`` it
    (closed on leaving the block)."""

    def __init__(self, opener: Callable[[], Awaitable[S]]) -> None:
        self._opener = opener
        self._opened: S | None = None

    def __await__(self) -> Generator[Any, None, S]:
        return self._open().__await__()

    async def _open(self) -> S:
        return await self._opener()

    async def __aenter__(self) -> S:
        self._opened = await self._opener()
        return self._opened

    async def __aexit__(self, *exc: Any) -> None:
        if self._opened is not None:
            await self._opened.__aexit__(*exc)


class _Connection:
    """What an exec stream and a port connection share: the WebSocket, its closing, and that a
    cancelled read or write closes the connection at once (no close handshake)."""

    def __init__(self, connection: ClientConnection, url: str, streams: OpenStreams) -> None:
        self.url = url
        self._ws = connection
        self._streams = streams
        self._aborted = False
        streams.add(self)

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection."""
        self._streams.discard(self)
        await self._ws.close()

    def _abort(self) -> None:
        """Drop the connection now: a read or write was cancelled."""
        self._streams.discard(self)
        self._aborted = True
        self._ws.transport.abort()

    async def _send(self, message: bytes, what: str) -> None:
        from websockets.exceptions import ConnectionClosed

        if self._aborted:  # the transport is gone, though websockets may not have heard yet
            raise errors.StreamError(f"{what}: the connection is closed (a read or write was cancelled)",
                                     url=self.url)
        try:
            await self._ws.send(message)
        except ConnectionClosed as exc:
            raise errors.StreamError(f"{what}: the connection is closed ({exc})", url=self.url) from None
        except asyncio.CancelledError:
            self._abort()
            raise

    async def _recv(self, timeout: float | None) -> bytes | str:
        """The next message (TimeoutError after ``timeout`` seconds without one: the connection
        stays open); ConnectionClosed at the end."""
        try:
            async with asyncio.timeout(timeout):
                return await self._ws.recv()
        except asyncio.CancelledError:
            self._abort()
            raise


class ExecStream(_Connection):
    """An open exec or attach stream: ``await write`` to stdin, ``await close_stdin``, ``await read``
    one channel, ``await resize`` the terminal, ``await wait`` for the exit code, ``await close``
    (or ``async with``); the sync ``dynkube.ExecStream``'s methods, awaited.

    One task may read while another writes. ``read(channel)`` keeps what arrives on the other
    channel for its own ``read``, so read both (or use ``chunks``) when the command writes a lot to
    both. ``timeout`` bounds a wait and keeps the stream; cancelling a read closes it.
    """

    def __init__(self, connection: ClientConnection, url: str, protocol: Protocol, streams: OpenStreams) -> None:
        super().__init__(connection, url, streams)
        self.protocol = protocol
        self._output = ExecOutput(url)
        self._read_lock = asyncio.Lock()

    async def __aenter__(self) -> ExecStream:
        return self

    def __repr__(self) -> str:
        return f"<dynkube.aio.ExecStream {self.url} {self.protocol.value}{' ended' if self.ended else ''}>"

    @property
    def ended(self) -> bool:
        """True once the server ended the stream (no I/O)."""
        return self._output.ended

    @property
    def status_received(self) -> bool:
        """True once the server sent the command's exit Status (no I/O)."""
        return self._output.status_received

    @property
    def exit_code(self) -> int | None:
        """The exit code once the stream ended with one, else None (no I/O; ``wait`` reads to the end)."""
        return self._output.exit_code

    async def write(self, data: bytes | str) -> None:
        """Send ``data`` to the command's stdin (str as UTF-8)."""
        payload = data.encode() if isinstance(data, str) else bytes(data)
        await self._send(frame(Channel.STDIN, payload), self.url)

    async def close_stdin(self) -> None:
        """Tell the command there is no more input (EOF on its stdin); StreamError over v4."""
        check_closable(self.protocol, self.url)
        await self._send(close_frame(Channel.STDIN), self.url)

    async def resize(self, width: int, height: int) -> None:
        """Set the terminal size of a tty stream (columns, rows)."""
        await self._send(resize_frame(width, height), self.url)

    async def read(self, channel: Channel = Channel.STDOUT, timeout: float | None = None) -> bytes:
        """The next bytes of ``channel`` (STDOUT or STDERR); b"" once the stream ended.
        ``timeout`` (seconds) bounds the wait: TimeoutError when nothing came."""
        self._output.check_readable(channel)
        async with self._read_lock:
            while not self._output.has(channel):
                await self._receive(timeout)
            return self._output.take(channel)

    async def chunks(self, timeout: float | None = None) -> AsyncIterator[tuple[Channel, bytes]]:
        """Every piece of output as it arrives, as (STDOUT or STDERR, bytes), until the stream ends;
        ``timeout`` bounds each wait (TimeoutError)."""
        while True:
            async with self._read_lock:
                pending = self._output.take_any()
                if pending is None and not self.ended:
                    await self._receive(timeout)
                    pending = self._output.take_any()
            if pending is not None:
                yield pending
            elif self.ended:
                return

    async def wait(self, timeout: float | None = None) -> int:
        """Read to the end of the stream (output not yet read is kept for ``read``) and return the
        exit code; raises the typed error of a failure Status, or StreamError if the connection dropped."""
        async with self._read_lock:
            while not self.ended:
                await self._receive(timeout)
        return self._output.result()

    async def _receive(self, timeout: float | None) -> None:
        """One message into the output, or the end of the connection (caller holds the read lock)."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        try:
            message = await self._recv(timeout)
        except ConnectionClosedOK:
            self._output.ended_by(None)
        except ConnectionClosed as exc:
            self._output.ended_by(str(exc))
        else:
            self._output.received(message)


async def open_stream(transport: AsyncTransport, request: Request, streams: OpenStreams) -> ExecStream:
    """An ExecStream for an exec or attach upgrade request (v5 offered first, then v4)."""
    connection = await open_websocket(transport, request, EXEC_PROTOCOLS)
    url = display_url(transport.url(request.path))
    try:
        protocol = chosen_protocol(connection.subprotocol, url)
    except errors.StreamError:
        await connection.close()
        raise
    return ExecStream(connection, url, protocol, streams)


async def run(stream: ExecStream, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
    """Feed ``stdin`` (then EOF) from a task of its own, collect stdout and stderr to the end, and
    return them with the exit code; the stream is closed. ``timeout`` bounds each wait for output."""
    writer: asyncio.Task[None] | None = None
    out: dict[Channel, bytearray] = {Channel.STDOUT: bytearray(), Channel.STDERR: bytearray()}
    async with stream:
        if stdin is not None:
            check_closable(stream.protocol, stream.url)
            writer = asyncio.create_task(_feed(stream, stdin), name="dynkube-exec-stdin")
        try:
            async for channel, data in stream.chunks(timeout):
                out[channel] += data
            code = await stream.wait()
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
    if writer is not None:
        [failure] = await asyncio.gather(writer, return_exceptions=True)
        if isinstance(failure, BaseException) and not isinstance(failure, errors.StreamError):
            raise failure  # a StreamError: the command ended before it read all of its input
    return ExecResult(bytes(out[Channel.STDOUT]), bytes(out[Channel.STDERR]), code)


async def _feed(stream: ExecStream, data: bytes) -> None:
    """Write stdin in pieces, then close it (the command's output is read meanwhile)."""
    for start in range(0, len(data), STDIN_PIECE):
        await stream.write(data[start:start + STDIN_PIECE])
    await stream.close_stdin()


class PortConnection(_Connection):
    """One TCP connection to a port of a pod, through the API server: ``await sendall``, ``await
    recv``, ``await close`` (or ``async with``). ``recv`` returns b"" when the connection ended and
    raises StreamError when the node reported an error (nothing listens on that port in the pod)."""

    def __init__(self, connection: ClientConnection, port: int, url: str, streams: OpenStreams) -> None:
        super().__init__(connection, url, streams)
        self.port = port
        self._decoder = PortForwardDecoder(port)
        self._pending = b""
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> PortConnection:
        return self

    def __repr__(self) -> str:
        return f"<dynkube.aio.PortConnection {self.url} port {self.port}>"

    async def sendall(self, data: bytes) -> None:
        """Send all of ``data`` to the pod's port."""
        await self._send(self._decoder.data(bytes(data)), f"port-forward to port {self.port}")

    async def recv(self, size: int = 65536, timeout: float | None = None) -> bytes:
        """Up to ``size`` bytes from the port; b"" at the end. ``timeout``: TimeoutError when nothing came."""
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        async with self._lock:
            while not self._pending:
                try:
                    message = await self._recv(timeout)
                except ConnectionClosedOK:
                    return b""
                except ConnectionClosed as exc:
                    raise errors.StreamError(f"port-forward to port {self.port}: the connection dropped ({exc})",
                                             url=self.url) from None
                self._pending = self._decoder.payload(message, self.url)
            data, self._pending = self._pending[:size], self._pending[size:]
            return data


async def connect_port(transport: AsyncTransport, request: Request, port: int, streams: OpenStreams) -> PortConnection:
    """A PortConnection for a port-forward upgrade request of one port."""
    connection = await open_websocket(transport, request, PORT_FORWARD_PROTOCOLS)
    return PortConnection(connection, port, display_url(transport.url(request.path)), streams)


class PortForwarder:
    """Local listeners (an asyncio server per port) that forward every accepted connection to a
    pod's port, each over its own WebSocket (many connections at once). ``async with``, or ``await
    stop()``, stops the listeners and closes every connection. ``ports`` is a list of (local,
    remote); local 0 picks a free port, shown in ``forwarded`` once started."""

    def __init__(self, connect: Callable[[int], Awaitable[PortConnection]], ports: Sequence[tuple[int, int]],
                 address: str, streams: OpenStreams) -> None:
        self._connect = connect
        self._ports = list(ports)
        self.address = address
        self.forwarded: list[tuple[int, int]] = []
        self._servers: list[asyncio.Server] = []
        self._serving: set[asyncio.Task[Any]] = set()
        self._streams = streams
        self._stopping = False

    async def __aenter__(self) -> PortForwarder:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"<dynkube.aio.PortForwarder {self.address} {self.forwarded or self._ports}>"

    async def start(self) -> PortForwarder:
        """Listen on every local port (once: a started forwarder is returned as it is)."""
        if self._servers:
            return self
        self._streams.add(self)
        for local, remote in self._ports:
            try:
                server = await asyncio.start_server(functools.partial(self._serve, remote=remote), self.address, local)
            except OSError as exc:
                await self.stop()
                raise errors.TransportError(f"port-forward: cannot listen on {self.address}:{local}: {exc}") from None
            self._servers.append(server)
            self.forwarded.append((server.sockets[0].getsockname()[1], remote))
        return self

    async def stop(self) -> None:
        """Stop listening and close every forwarded connection."""
        self._stopping = True
        self._streams.discard(self)
        for server in self._servers:
            server.close()
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    async def _serve(self, local_reader: asyncio.StreamReader, local: asyncio.StreamWriter, *, remote: int) -> None:
        """Pump one accepted connection both ways until either side ends it."""
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        try:
            if self._stopping:
                return
            try:
                pod = await self._connect(remote)
            except errors.DynkubeError as exc:
                log.error("port-forward to port %d: %s", remote, exc)
                return
            async with pod:
                upstream = asyncio.create_task(self._upstream(local_reader, pod))
                try:
                    while data := await pod.recv():
                        local.write(data)
                        await local.drain()
                except errors.StreamError as exc:
                    log.error("%s", exc)
                except OSError:
                    pass
                finally:
                    upstream.cancel()
                    await asyncio.gather(upstream, return_exceptions=True)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # stop() cancelled it: end as done, since asyncio's server reads a cancelled handler as a failure
        finally:
            local.close()
            self._serving.discard(task)

    async def _upstream(self, local: asyncio.StreamReader, pod: PortConnection) -> None:
        try:
            while data := await local.read(65536):
                await pod.sendall(data)
        except (OSError, errors.StreamError):
            pass
        await pod.close()  # the local side ended: the legacy protocol has no half-close, so the connection ends
