"""Without the ``stream`` extra, the streams say which extra to install (dynkube.MissingExtra)."""

from __future__ import annotations

import sys

import pytest

import dynkube
from dynkube.core.http import Request
from dynkube.streaming import open_websocket
from dynkube.transport import Transport


def test_without_websockets_a_stream_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "websockets.sync.client", None)  # what an absent package does to import
    monkeypatch.setitem(sys.modules, "websockets.sync", None)
    transport = Transport(dynkube.Config(server="https://127.0.0.1:1"))
    with pytest.raises(dynkube.MissingExtra, match=r"pip install 'dynkube\[stream\]'") as caught:
        open_websocket(transport, Request("GET", "/api/v1/namespaces/a/pods/p/exec"), dynkube.StreamProtocol)
    assert caught.value.extra == "stream" and isinstance(caught.value, ImportError)


def test_the_upgrade_target_hides_its_headers() -> None:
    config = dynkube.Config.from_url("https://127.0.0.1:6443", token="s3cret-token", insecure_skip_tls_verify=True)
    target = Transport(config).upgrade_target(Request("GET", "/api/v1/namespaces/a/pods/p/exec",
                                                      {"command": ["a", "b"], "stdout": "true"}))
    assert target.url == "wss://127.0.0.1:6443/api/v1/namespaces/a/pods/p/exec?command=a&command=b&stdout=true"
    assert dict(target.headers)["Authorization"] == "Bearer s3cret-token"
    assert "s3cret" not in repr(target) and "command=" not in repr(target)
