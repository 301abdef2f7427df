"""What only the asyncio streams have: cancelling a read or a forwarded connection closes its
WebSocket, a read's own timeout does not, and closing the client closes every stream and
port-forward it opened. (Exec, attach and port-forward themselves are tested against both clients
in test_exec.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import dynkube
import dynkube.aio

from .test_aio import open_sockets, run, settled_sockets
from .test_exec import ECHO_PORT, pod  # noqa: F401


def _client(kubeconfig_path: Path, namespace: str) -> dynkube.aio.Client:
    return dynkube.aio.Client(kubeconfig=kubeconfig_path, namespace=namespace, cache_dir=False)


async def _echo(port: int, message: bytes) -> bytes:
    """``message`` sent to a local port and read back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(message)
        await writer.drain()
        return await reader.readexactly(len(message))
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("ending", ["asyncio.timeout", "task.cancel"])
def test_cancelling_an_exec_read_closes_its_connection(kubeconfig_path: Path, namespace: str, pod: str,
                                                       ending: str) -> None:
    async def main() -> tuple[int, int, bool]:
        async with _client(kubeconfig_path, namespace) as client:
            await client.exec(pod, ["true"])  # the client's pooled REST connection exists before counting
            before = open_sockets()
            stream = await client.exec_stream(pod, ["cat"], stdin=True)
            assert open_sockets() > before
            if ending == "asyncio.timeout":
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await stream.read()  # cat says nothing until written to
            else:
                task = asyncio.ensure_future(stream.read())
                await asyncio.sleep(0)  # the read is waiting for a message
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            after = await settled_sockets(before)
            with pytest.raises(dynkube.StreamError, match="closed"):
                await stream.write(b"x")
            return before, after, stream.ended

    before, after, ended = run(main)
    assert after <= before


def test_a_reads_own_timeout_keeps_the_stream(kubeconfig_path: Path, namespace: str, pod: str) -> None:
    async def main() -> bytes:
        async with _client(kubeconfig_path, namespace) as client:
            async with client.exec_stream(pod, ["cat"], stdin=True) as stream:
                with pytest.raises(TimeoutError):
                    await stream.read(timeout=0.2)  # cat says nothing until written to
                await stream.write(b"still open\n")
                received = b""
                while not received.endswith(b"\n"):
                    received += await stream.read(timeout=30)
                return received

    assert run(main) == b"still open\n"


def test_stopping_a_port_forward_closes_its_open_connections(kubeconfig_path: Path, namespace: str,
                                                             pod: str) -> None:
    async def main() -> tuple[int, int, bytes]:
        async with _client(kubeconfig_path, namespace) as client:
            await client.exec(pod, ["true"])
            before = open_sockets()
            forwarder = await client.port_forward(pod, f":{ECHO_PORT}")
            local = forwarder.forwarded[0][0]
            reader, writer = await asyncio.open_connection("127.0.0.1", local)
            writer.write(b"open\n")
            await writer.drain()
            answer = await reader.readexactly(5)  # the forwarded connection is up, both ways
            await forwarder.stop()
            ended = await asyncio.wait_for(reader.read(), 30)  # stop() closed our side's peer
            writer.close()
            await writer.wait_closed()
            return before, await settled_sockets(before), answer + ended

    before, after, received = run(main)
    assert received == b"open\n" and after <= before


def test_cancelling_the_task_of_a_forwarded_connection_closes_it(kubeconfig_path: Path, namespace: str,
                                                                 pod: str) -> None:
    async def main() -> tuple[int, int]:
        async with _client(kubeconfig_path, namespace) as client:
            await client.exec(pod, ["true"])
            before = open_sockets()
            connection = await client.connect_port(pod, ECHO_PORT)
            await connection.sendall(b"x")
            assert await connection.recv(timeout=30) == b"x"
            task = asyncio.ensure_future(connection.recv())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return before, await settled_sockets(before)

    before, after = run(main)
    assert after <= before


def test_closing_the_client_closes_its_streams_and_forwarders(kubeconfig_path: Path, namespace: str,
                                                              pod: str) -> None:
    async def main() -> tuple[int, int, list[bool]]:
        before = open_sockets()
        client = _client(kubeconfig_path, namespace)
        stream = await client.exec_stream(pod, ["cat"], stdin=True)
        connection = await client.connect_port(pod, ECHO_PORT)
        forwarder = await client.port_forward(pod, f":{ECHO_PORT}")
        assert await _echo(forwarder.forwarded[0][0], b"through\n") == b"through\n"
        await client.close()
        refused = []
        for attempt in (stream.write(b"x"), connection.sendall(b"y")):
            with pytest.raises(dynkube.StreamError):
                await attempt
            refused.append(True)
        with pytest.raises(OSError):
            await _echo(forwarder.forwarded[0][0], b"gone\n")
        return before, await settled_sockets(before), refused

    before, after, refused = run(main)
    assert refused == [True, True] and after <= before


def test_many_streams_at_once_on_one_loop(kubeconfig_path: Path, namespace: str, pod: str) -> None:
    async def main() -> list[dynkube.ExecResult]:
        async with _client(kubeconfig_path, namespace) as client:
            return await asyncio.gather(*(client.exec(pod, ["sh", "-c", f"echo {i}; exit {i % 3}"])
                                          for i in range(10)))

    assert run(main) == [dynkube.ExecResult(f"{i}\n".encode(), b"", i % 3) for i in range(10)]
