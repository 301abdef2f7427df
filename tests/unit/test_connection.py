"""What both transports share without an HTTP library: the proxy for the server from the
environment, read as requests read it for the sync transport (HTTPS_PROXY/HTTP_PROXY/ALL_PROXY, lower
case first; NO_PROXY with names, domains, addresses, CIDR ranges and host:port), and the TLS context
of WebSocket upgrades, built once per client certificate."""

from __future__ import annotations

import asyncio

import pytest
import requests

from dynkube.aio.transport import AsyncTransport
from dynkube.config import Config
from dynkube.connection import environment_proxy
from dynkube.core.http import Request
from dynkube.transport import Transport

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.mark.parametrize(("url", "no_proxy", "proxied"), [
    ("https://api.example.com:6443", "", True),
    ("https://api.example.com:6443", "*", False),
    ("https://api.example.com:6443", "example.com", False),  # a domain covers the names in it
    ("https://api.example.com:6443", ".example.com", False),
    ("https://api.example.com:6443", "other.com, api.example.com", False),
    ("https://api.example.com:6443", "api.example.com:6443", False),
    ("https://api.example.com:6443", "api.example.com:443", True),  # host:port covers that port only
    ("https://api.example.com:6443", "ample.com", True),
    ("https://10.1.2.3:6443", "10.0.0.0/8", False),
    ("https://10.1.2.3:6443", "192.168.0.0/16,10.1.2.3", False),
    ("https://10.1.2.3:6443", "192.168.0.0/16", True),
    ("https://10.1.2.3:6443", "not/a-network", True),
    ("http://127.0.0.1:8080", "", True),
])
def test_no_proxy_is_read_as_requests_reads_it(monkeypatch: pytest.MonkeyPatch, url: str, no_proxy: str,
                                               proxied: bool) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://secure-proxy:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    proxy = "http://secure-proxy:3128" if url.startswith("https") else "http://plain-proxy:3128"
    expected = proxy if proxied else None
    assert environment_proxy(url) == expected
    scheme = url.partition(":")[0]
    assert requests.utils.get_environ_proxies(url).get(scheme) == expected  # what the sync transport used


def test_lower_case_names_win_and_all_proxy_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://any-proxy:3128")
    assert environment_proxy("https://api.example.com") == "http://any-proxy:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:3128")
    monkeypatch.setenv("https_proxy", "http://lower:3128")
    assert environment_proxy("https://api.example.com") == "http://lower:3128"
    monkeypatch.setenv("no_proxy", "example.com")
    monkeypatch.setenv("NO_PROXY", "")
    assert environment_proxy("https://api.example.com") is None


def test_the_sync_transport_takes_the_proxy_from_the_same_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://secure-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8")
    config = Config.from_url("https://10.1.2.3:6443", insecure_skip_tls_verify=True)
    assert Transport(config).upgrade_target(Request("GET", "/api")).proxy is None
    config = Config.from_url("https://api.example.com:6443", insecure_skip_tls_verify=True)
    assert Transport(config).upgrade_target(Request("GET", "/api")).proxy == "http://secure-proxy:3128"


def test_websocket_upgrades_of_both_transports_build_their_tls_context_once() -> None:
    config = Config.from_url("https://10.1.2.3:6443", insecure_skip_tls_verify=True)
    sync = Transport(config)
    first = sync.upgrade_target(Request("GET", "/api")).ssl_context
    assert first is not None and sync.upgrade_target(Request("GET", "/apis")).ssl_context is first

    async def two_upgrades() -> list[object]:
        transport = AsyncTransport(config)
        return [(await transport.upgrade_target(Request("GET", path))).ssl_context for path in ("/api", "/apis")]

    contexts = asyncio.run(two_upgrades())
    assert contexts[0] is not None and contexts[1] is contexts[0]
