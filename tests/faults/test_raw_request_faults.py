"""``Client.request`` goes through the transport's retry policy: a read is retried after a 503, a write
is not, as for every verb."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dynkube
from dynkube import Config, RetryPolicy
from dynkube.discovery import clear_memory_cache

from ..support.faultproxy import FaultProxy
from ..support.rawsession import raw_session


@pytest.fixture(scope="module")
def proxy(kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    session, server = raw_session(kubeconfig_path, tmp_path_factory.mktemp("proxy"))
    running = FaultProxy(session, server).start()
    yield running
    running.stop()


@pytest.fixture
def via_proxy(proxy: FaultProxy, tmp_path: Path) -> Iterator[dynkube.Client]:
    proxy.faults.clear()
    proxy.seen.clear()
    clear_memory_cache()
    policy = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2, total_seconds=20)
    with dynkube.Client(Config(server=proxy.url), cache_dir=tmp_path, retry=policy) as client:
        yield client


def test_a_raw_read_is_retried_after_503(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"^/readyz", 503, b"busy", times=2)
    assert via_proxy.request("GET", "/readyz", accept="text") == "ok"
    assert len(proxy.requests_to(r"^/readyz")) == 3


def test_a_raw_write_is_not_retried_after_503(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("POST", r"^/api/v1/namespaces$", 503, b'{"kind":"Status","code":503,"reason":"ServiceUnavailable"}')
    with pytest.raises(dynkube.ServerError):
        via_proxy.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "never-made"}})
    assert len(proxy.requests_to(r"^/api/v1/namespaces$")) == 1
