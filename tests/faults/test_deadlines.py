"""Bounded time against servers that misbehave slowly: answers trickled a byte at a time, black holes
that accept and never answer, connections frozen without a word, and short outages. A TCP proxy in
front of the real server makes each fault; every test is bounded and finishes in seconds."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import dynkube
from dynkube import connection, transport
from dynkube.cli import main
from dynkube.transport import RetryPolicy
from dynkube.watch import Backoff, EventType

from ..support.bridge import tools_for
from .proxy import FaultProxy
from .watchkit import SELECTOR, labelled, wait_for

ONE_ATTEMPT = RetryPolicy(max_attempts=1)
FAST_BACKOFF = Backoff(initial=0.05, cap=0.5)


@pytest.fixture
def proxy(client: dynkube.Client) -> Iterator[FaultProxy]:
    server = urlsplit(client.config.server)
    fault_proxy = FaultProxy((server.hostname or "127.0.0.1", server.port or 443))
    yield fault_proxy
    fault_proxy.close()


@pytest.fixture
def through(client: dynkube.Client, proxy: FaultProxy, open_client: Callable[..., Any]) -> Callable[..., Any]:
    """Makes clients (sync, then async) of the real server that go through the proxy (closed afterwards)."""
    def make(**options: Any) -> Any:
        return open_client(client.config.replace(server=proxy.url), cache_dir=False, qps=None, **options)
    return make


@pytest.fixture
def through_sync(client: dynkube.Client, proxy: FaultProxy) -> Iterator[Callable[..., dynkube.Client]]:
    """Makes sync clients through the proxy, for what only the sync transport has (its sockets)."""
    made: list[dynkube.Client] = []

    def make(**options: Any) -> dynkube.Client:
        made.append(dynkube.Client(client.config.replace(server=proxy.url), cache_dir=False, qps=None, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def finishes_within(seconds: float, call: Callable[[], Any], *, unblock: Callable[[], None]) -> tuple[float, Any]:
    """Run ``call`` in a thread; (its duration, its result or exception), failing if it is still running
    after ``seconds`` (then ``unblock`` lets it end, so the test does not hang)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as exc:  # the caller asserts on it
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        unblock()
        worker.join(30)
        pytest.fail(f"still waiting after {seconds} s")
    return elapsed, outcome[0]


# ---- a total deadline on every request --------------------------------------------------------

@pytest.mark.parametrize(("timeout", "retry"), [(2.0, RetryPolicy()), ((1.0, 2.0), ONE_ATTEMPT)],
                         ids=["number-is-the-total", "connect-plus-read-per-attempt"])
def test_a_trickling_answer_is_cut_at_the_deadline(through: Callable[..., dynkube.Client], proxy: FaultProxy,
                                                   timeout: Any, retry: RetryPolicy) -> None:
    client = through(retry=retry)
    client.version()  # connected at full speed
    proxy.trickle(0.05, 1024)  # 20 KB/s: each TLS record (16 KB at most) within a read timeout, 1.6 MB in 80 s

    def fetch() -> Any:
        return client.request("GET", "/openapi/v3/api/v1", timeout=timeout)

    elapsed, outcome = finishes_within(10, fetch, unblock=lambda: proxy.trickle(None))
    assert isinstance(outcome, dynkube.TransportError) and "timed out" in str(outcome), outcome
    assert elapsed < 5


def test_a_black_hole_fails_within_a_numeric_timeout_retries_included(through: Callable[..., dynkube.Client],
                                                                     proxy: FaultProxy) -> None:
    proxy.black_hole()
    client = through(timeout=2.0)
    elapsed, outcome = finishes_within(10, client.version, unblock=proxy.close)
    assert isinstance(outcome, dynkube.TransportError), outcome
    assert 1.9 < elapsed < 6  # not 2 s per attempt, as once
    assert proxy.held >= 1


def test_cli_request_timeout_bounds_the_command(proxy: FaultProxy, kubeconfig_path: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = yaml.safe_load(kubeconfig_path.read_text())
    for cluster in kubeconfig["clusters"]:
        cluster["cluster"]["server"] = proxy.url
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECACHEDIR", str(tmp_path / "cache"))
    proxy.black_hole()
    elapsed, code = finishes_within(
        15, lambda: main(["--kubeconfig", str(tmp_path / "kubeconfig"), "get", "configmaps", "--request-timeout=2s"]),
        unblock=proxy.close)
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "timed out" in err, err
    assert elapsed < 6


# ---- stopping is prompt whatever the socket does -------------------------------------------------

def test_informer_stop_is_prompt_while_its_list_trickles(through: Callable[..., Any], proxy: FaultProxy,
                                                         namespace: str) -> None:
    configmaps = through().resource("configmaps")
    informer = tools_for(configmaps).Informer(configmaps, namespace, use_watch_list=False, backoff=FAST_BACKOFF)
    proxy.trickle(0.1)
    informer.start()
    wait_for(lambda: proxy.server_bytes > 0, what="the list to be answering, slowly")
    elapsed, _ = finishes_within(5, informer.stop, unblock=lambda: proxy.trickle(None))
    assert elapsed < 3
    assert not informer.has_synced()


def test_watch_stop_is_prompt_while_connecting_to_a_black_hole(through: Callable[..., dynkube.Client],
                                                               proxy: FaultProxy, namespace: str) -> None:
    cms = through().resource("configmaps")
    start = cms.list_page(namespace).resource_version
    proxy.black_hole()
    proxy.cut_all()  # the pooled connection: the watch must make a new one, into the hole
    stream = cms.watch(namespace, resource_version=start, resume=True)
    reader = threading.Thread(target=lambda: list(stream), daemon=True)
    reader.start()
    wait_for(lambda: proxy.held >= 1, what="the watch to connect into the black hole")
    stream.stop()
    reader.join(5)
    assert not reader.is_alive(), "stop() did not end a watch waiting for a black hole to answer"


# ---- dead connections -----------------------------------------------------------------------------

def test_resumed_watch_notices_a_frozen_connection(through: Callable[..., dynkube.Client], client: dynkube.Client,
                                                    proxy: FaultProxy, namespace: str) -> None:
    cms = through().resource("configmaps")
    stream = cms.watch(namespace, resource_version=cms.list_page(namespace).resource_version, resume=True,
                   label_selector=SELECTOR, idle_timeout=1.5)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(e.object.metadata.name for e in stream
                                                         if e.type is EventType.ADDED), daemon=True)
    reader.start()
    try:
        client.resource("configmaps").create(labelled("before"), namespace=namespace)
        wait_for(lambda: seen == ["before"], what="the first event")
        assert proxy.freeze() >= 1
        client.resource("configmaps").create(labelled("after"), namespace=namespace)
        wait_for(lambda: seen == ["before", "after"], timeout=20, what="the event sent while the connection was dead")
    finally:
        stream.stop()
        reader.join(5)


def test_informer_notices_a_frozen_watch(through: Callable[..., Any], client: dynkube.Client, proxy: FaultProxy,
                                         namespace: str) -> None:
    configmaps = through().resource("configmaps")
    informer = tools_for(configmaps).Informer(configmaps, namespace, label_selector=SELECTOR, idle_timeout=1.5,
                                              backoff=FAST_BACKOFF)
    with informer:
        assert informer.wait_for_sync(30), informer.last_error
        client.resource("configmaps").create(labelled("before"), namespace=namespace)
        wait_for(lambda: informer.get("before") is not None, what="the first object")
        assert proxy.freeze() >= 1
        client.resource("configmaps").create(labelled("after"), namespace=namespace)
        wait_for(lambda: informer.get("after") is not None, timeout=20, what="the object made while the watch was dead")


def test_a_frozen_kept_alive_connection_is_replaced_once(through: Callable[..., dynkube.Client],
                                                         proxy: FaultProxy) -> None:
    client = through(timeout=(5.0, 1.0), retry=ONE_ATTEMPT)  # no retries by policy
    client.version()
    assert proxy.freeze() == 1
    elapsed, outcome = finishes_within(10, client.version, unblock=proxy.close)
    assert isinstance(outcome, dict) and outcome.get("major"), outcome
    assert proxy.connections == 2


def test_a_connection_idle_too_long_is_not_reused(through: Callable[..., dynkube.Client], proxy: FaultProxy,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "IDLE_CONNECTION_SECONDS", 0.0)  # read there by both transports
    client = through(timeout=(5.0, 20.0), retry=ONE_ATTEMPT)
    client.version()
    proxy.freeze()
    elapsed, outcome = finishes_within(10, client.version, unblock=proxy.close)
    assert isinstance(outcome, dict), outcome
    assert elapsed < 5, "the frozen connection was reused"


def test_connections_keep_alive_with_short_intervals(through_sync: Callable[..., dynkube.Client]) -> None:
    client = through_sync()
    client.version()
    pools = client.transport.session.get_adapter(client.config.server).poolmanager.pools
    sockets = [conn.sock for key in pools.keys() for conn in list(pools[key].pool.queue)
               if conn is not None and conn.sock is not None]
    assert sockets
    sock = sockets[0]
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    if hasattr(socket, "TCP_KEEPIDLE"):
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == transport.KEEPALIVE[0]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == transport.KEEPALIVE[1]


# ---- retries bridge a short outage ---------------------------------------------------------------

def test_default_retries_bridge_a_short_outage_mid_list(through: Callable[..., dynkube.Client],
                                                        client: dynkube.Client, proxy: FaultProxy,
                                                        namespace: str) -> None:
    for i in range(3):
        client.resource("configmaps").create(labelled(f"cm{i}"), namespace=namespace)
    pages = through().resource("configmaps").list(namespace, label_selector=SELECTOR, limit=1)  # default RetryPolicy
    names = [next(pages).metadata.name]
    proxy.outage()  # the apiserver restarts: connections refused for 3 s
    threading.Timer(3.0, proxy.restore).start()
    elapsed, rest = finishes_within(30, lambda: [o.metadata.name for o in pages], unblock=proxy.restore)
    assert not isinstance(rest, Exception), rest
    assert names + rest == ["cm0", "cm1", "cm2"]
    assert proxy.refused >= 2
