"""Streams into a pod when the connection dies, for both clients: a TCP proxy (tests/faults/proxy.py)
in front of the real API server cuts it mid-stream; the node is envtest's kwok."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

import dynkube

from ..integration.test_exec import pod  # noqa: F401  (fixture)
from .proxy import FaultProxy


@pytest.fixture
def proxied(client: dynkube.Client, open_client: Callable[..., Any]) -> Iterator[tuple[Any, FaultProxy]]:
    """A client through the proxy (sync, then asyncio in the test's second run) and the proxy."""
    server = urlsplit(client.config.server)
    proxy = FaultProxy((server.hostname or "127.0.0.1", server.port or 443))
    yield open_client(client.config.replace(server=proxy.url), cache_dir=False), proxy
    proxy.close()


def test_a_dropped_exec_stream_ends_with_stream_error(proxied: tuple[Any, FaultProxy], namespace: str,
                                                      pod: str) -> None:
    client, proxy = proxied
    with client.exec_stream(pod, ["cat"], namespace, stdin=True) as stream:
        stream.write(b"before\n")
        assert stream.read(timeout=30) == b"before\n"
        assert proxy.cut_all() >= 1  # the stream's connection is open: the echo came back through it
        assert stream.read(timeout=30) == b""
        with pytest.raises(dynkube.StreamError, match="dropped before the command ended"):
            stream.wait(timeout=30)
        with pytest.raises(dynkube.StreamError, match="closed"):
            stream.write(b"after\n")


def test_a_dropped_port_connection_raises_stream_error(proxied: tuple[Any, FaultProxy], namespace: str,
                                                       pod: str) -> None:
    client, proxy = proxied
    with client.connect_port(pod, 7, namespace) as conn:
        conn.sendall(b"x")
        assert conn.recv(timeout=30) == b"x"
        assert proxy.cut_all() >= 1  # the stream's connection is open: the echo came back through it
        with pytest.raises(dynkube.StreamError, match="dropped"):
            conn.recv(timeout=30)


def test_an_exec_through_a_server_that_is_gone_is_a_transport_error(
        proxied: tuple[Any, FaultProxy], namespace: str) -> None:
    client, proxy = proxied
    proxy.outage()
    with pytest.raises(dynkube.TransportError, match="cannot open the WebSocket"):
        client.exec("p", ["true"], namespace)
