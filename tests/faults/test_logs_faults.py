"""A followed log whose connection drops, for both clients (the TCP proxy of tests/faults/proxy.py
in front of the real server, TLS end to end): without resume the stream ends with LogStreamDropped; with resume it
reconnects from the last timestamp and no line is repeated or lost.

The server's bytes are trickled through the proxy while the first line is read, so the cut falls
inside the log (after the first line, before the last) and the resumed connection has lines to send
again (which are skipped) and lines still to deliver."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

import dynkube
from dynkube.transport import RetryPolicy
from dynkube.watch import Backoff

from ..integration.test_logs import LINES, PRINTED, Logs, bind_logs, make_pod, print_into
from ..support.bridge import EventLoopThread
from ..support.waiting import until
from .proxy import FaultProxy

FAST_BACKOFF = Backoff(initial=0.05, cap=0.5)


@pytest.fixture
def proxy(client: dynkube.Client) -> Iterator[FaultProxy]:
    server = urlsplit(client.config.server)
    fault_proxy = FaultProxy((server.hostname or "127.0.0.1", server.port or 443), seed=13)
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def proxied(client: dynkube.Client, proxy: FaultProxy, open_client: Callable[..., Any],
            aio_loop: EventLoopThread) -> Logs:
    """The log functions of a client of the real server that goes through the proxy: a sync
    client, then (second run of the test) an asyncio one."""
    config = client.config.replace(server=proxy.url)
    retry = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.5)
    return bind_logs(open_client(config, cache_dir=False, qps=None, retry=retry), aio_loop)


class Reader:
    """Reads a LogStream in a thread: ``lines`` as they come, ``error`` the exception that ended it."""

    def __init__(self, stream: Any) -> None:  # a LogStream, or an asyncio one through the bridge
        self.stream = stream
        self.lines: list[dynkube.LogLine] = []
        self.error: BaseException | None = None
        self.first = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self.stream:
                self.lines.append(line)
                self.first.set()
        except BaseException as exc:  # the test asserts on it
            self.error = exc

    def join(self, bound: float = 30) -> None:
        self._thread.join(bound)
        assert not self._thread.is_alive(), f"the follow did not end; lines: {self.lines}"


def cut_after_the_first_line(proxy: FaultProxy, reader: Reader) -> int:
    """Cut the connections once the first line is in; the number of connections made until then."""
    assert reader.first.wait(60), f"no line came ({reader.error!r})"
    connections = proxy.connections
    assert proxy.cut_all() >= 1  # while the rest still trickles: the cut falls before the last line
    proxy.trickle(None)
    return connections


def test_a_dropped_follow_ends_with_a_clear_error(client: dynkube.Client, proxied: Logs, proxy: FaultProxy,
                                                  namespace: str) -> None:
    make_pod(client, namespace, "p")
    sources = proxied.log_sources("p", namespace).sources  # discovery and the pod, before the trickle
    proxy.trickle(0.01, 8)
    reader = Reader(proxied.follow_logs(sources))
    cut_after_the_first_line(proxy, reader)
    reader.join()
    assert isinstance(reader.error, dynkube.LogStreamDropped), reader.error
    assert reader.error.source == "pod/p/c" and "connection broke" in str(reader.error)
    assert [line.text for line in reader.lines] == LINES[:len(reader.lines)]


def test_a_resumed_follow_repeats_and_loses_no_line(client: dynkube.Client, proxied: Logs, proxy: FaultProxy,
                                                     namespace: str) -> None:
    make_pod(client, namespace, "p")
    sources = proxied.log_sources("p", namespace).sources
    proxy.trickle(0.01, 8)
    with proxied.follow_logs(sources, resume=True, backoff=FAST_BACKOFF) as stream:
        reader = Reader(stream)
        before = cut_after_the_first_line(proxy, reader)
        until(lambda: len(reader.lines) >= len(LINES) or reader.error, "the rest of the log", 60)
        until(lambda: proxy.connections > before, "the follow to connect again", 60)
        # a repeat would come before the last line on the resumed connection: three lines are all of them
        assert [line.text for line in reader.lines[:len(LINES)]] == LINES
        assert reader.error is None
    reader.join()
    assert reader.error is None and len(reader.lines) == len(LINES)


def test_a_resumed_follow_yields_what_was_printed_after_the_break_once(client: dynkube.Client, proxied: Logs,
                                                                        proxy: FaultProxy, namespace: str) -> None:
    make_pod(client, namespace, "p")
    sources = proxied.log_sources("p", namespace).sources
    with proxied.follow_logs(sources, resume=True, backoff=FAST_BACKOFF) as stream:
        reader = Reader(stream)
        until(lambda: len(reader.lines) >= len(LINES) or reader.error, "the log", 60)
        before = proxy.connections
        assert proxy.cut_all() >= 1
        print_into(client, namespace, "p", "".join(PRINTED))  # the container prints while the follow is broken
        until(lambda: len(reader.lines) >= len(LINES) + len(PRINTED) or reader.error, "the printed lines", 60)
        assert proxy.connections > before  # they came on the resumed connection
        # a repeated line would come before the printed ones on the resumed connection
        assert [line.text for line in reader.lines] == LINES + PRINTED and reader.error is None
    reader.join()
    assert reader.error is None and len(reader.lines) == len(LINES) + len(PRINTED)
