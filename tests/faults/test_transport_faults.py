"""Retries, throttling and bad answers, end to end through a fault-injecting proxy in front of the
real server."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from pathlib import Path

import pytest

import dynkube
from dynkube.config import Config
from dynkube.discovery import clear_memory_cache
from dynkube.transport import RetryPolicy

from ..support.credentials import StaticToken
from ..support.faultproxy import FaultProxy
from ..support.rawsession import raw_session

TOO_MANY = b"Too many requests, please try again later.\n"


@pytest.fixture(scope="module")
def proxy(kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    session, server = raw_session(kubeconfig_path, tmp_path_factory.mktemp("proxy"))
    running = FaultProxy(session, server).start()
    yield running
    running.stop()


@pytest.fixture
def via_proxy(proxy: FaultProxy, tmp_path: Path, open_client: Callable[..., Any]) -> Iterator[Any]:
    """A client (sync, then async) of the proxy."""
    proxy.faults.clear()
    proxy.seen.clear()
    clear_memory_cache()
    policy = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2, total_seconds=20)
    yield open_client(Config(server=proxy.url), cache_dir=tmp_path, retry=policy)
    clear_memory_cache()


def test_get_survives_a_429_storm_honouring_retry_after(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    cms = via_proxy.resource("configmaps")
    proxy.inject("GET", r"/api/v1/namespaces/default/configmaps\b", 429, TOO_MANY, times=2,
                 headers={"Retry-After": "1", "Content-Type": "text/plain"})
    started = time.monotonic()
    page = cms.list_page("default")
    assert page.kind == "ConfigMapList"
    assert time.monotonic() - started >= 2.0
    assert len(proxy.requests_to(r"/configmaps")) == 3


def test_post_rejected_with_429_is_retried_once_created(via_proxy: dynkube.Client, proxy: FaultProxy,
                                                          namespace: str) -> None:
    proxy.inject("POST", r"/configmaps", 429, TOO_MANY, headers={"Retry-After": "0"})
    created = via_proxy.resource("configmaps").create({"metadata": {"name": "once"}}, namespace)
    assert created.metadata.name == "once"
    posts = [s for s in proxy.requests_to(r"/configmaps") if s.method == "POST"]
    assert [s.faulted for s in posts] == [True, False]


def test_post_answered_503_is_not_retried(via_proxy: dynkube.Client, proxy: FaultProxy, namespace: str,
                                          client: dynkube.Client) -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503, "reason": "ServiceUnavailable",
              "message": "the server is shutting down"}
    proxy.inject("POST", r"/configmaps", 503, json.dumps(status).encode(), headers={"Retry-After": "0"})
    with pytest.raises(dynkube.ServerError, match="shutting down"):
        via_proxy.resource("configmaps").create({"metadata": {"name": "never"}}, namespace)
    assert len([s for s in proxy.requests_to(r"/configmaps") if s.method == "POST"]) == 1
    with pytest.raises(dynkube.NotFound):
        client.resource("configmaps").get("never", namespace)


@pytest.mark.parametrize("code", [500, 503, 504])
def test_reads_are_retried_on_server_errors(via_proxy: dynkube.Client, proxy: FaultProxy, code: int) -> None:
    proxy.inject("GET", r"/api/v1/namespaces/default$", code, b"oops", times=2)
    assert via_proxy.resource("namespaces").get("default").metadata.name == "default"
    assert len(proxy.requests_to(r"/api/v1/namespaces/default$")) == 3


def test_retries_are_bounded(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"/api/v1/namespaces/default$", 429, TOO_MANY, times=100)
    with pytest.raises(dynkube.TooManyRequests, match="Too many requests"):
        via_proxy.resource("namespaces").get("default")
    assert len(proxy.requests_to(r"/api/v1/namespaces/default$")) == 4


@pytest.mark.parametrize(("body", "content_type"), [
    (b"<html><body>Please log in to the corporate proxy</body></html>", "text/html"),
    (b'{"kind": "APIGroupDiscoveryList", "items": [{"metadata"', "application/json"),
])
def test_bad_discovery_answer_is_a_clear_error_and_keeps_the_good_cache(via_proxy: dynkube.Client, proxy: FaultProxy,
                                                                        tmp_path: Path, body: bytes,
                                                                        content_type: str) -> None:
    good = via_proxy.api_map()
    [cache_file] = tmp_path.rglob("dynkube.json")
    saved = cache_file.read_bytes()
    proxy.inject("GET", r"^/apis$", 200, body, headers={"Content-Type": content_type})
    with pytest.raises(dynkube.DiscoveryError) as caught:
        via_proxy.discovery.refresh()
    assert "/apis" in str(caught.value) and repr(body[:20])[2:-1] in str(caught.value)
    assert cache_file.read_bytes() == saved
    assert via_proxy.api_map(cached=True) is good  # the failed refresh left the map it had (asking again
    # would revalidate against a server whose other CRDs may be changing)


def test_discovery_answer_of_the_wrong_shape(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"^/api$", 200, b'{"kind": "APIVersions", "versions": "v1"}',
                 headers={"Content-Type": "application/json"})
    with pytest.raises(dynkube.DiscoveryError, match="versions"):
        via_proxy.api_map()


def test_credentials_are_not_sent_over_plain_http(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.seen.clear()
    config = Config(server=proxy.url, credentials=StaticToken("plain-http-secret"))
    with dynkube.Client(config, cache_dir=tmp_path) as client:
        client.version()
    assert proxy.seen and all("Authorization" not in s.headers for s in proxy.seen)


def test_user_agent_names_dynkube(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    via_proxy.version()
    assert proxy.seen[-1].headers["User-Agent"].startswith(f"dynkube/{dynkube.__version__}")


def test_connection_refused_is_a_transport_error_after_bounded_retries(tmp_path: Path) -> None:
    port_file_name = f"refused-{uuid.uuid4().hex[:6]}"
    policy = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.05)
    with dynkube.Client(Config(server="https://127.0.0.1:9"), cache_dir=tmp_path / port_file_name,
                        retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(dynkube.TransportError, match="127.0.0.1:9"):
            client.version()
        assert time.monotonic() - started < 5
