"""``Client.request`` goes through the transport's retry policy: a read is retried after a 503, a write
is not, as for every verb."""

from __future__ import annotations

import pytest

import dynkube

from ..support.faultproxy import FaultProxy
from .test_transport_faults import proxy, via_proxy  # noqa: F401  (fixtures)


def test_a_raw_read_is_retried_after_503(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("GET", r"^/readyz", 503, b"busy", times=2)
    assert via_proxy.request("GET", "/readyz", accept="text") == "ok"
    assert len(proxy.requests_to(r"^/readyz")) == 3


def test_a_raw_write_is_not_retried_after_503(via_proxy: dynkube.Client, proxy: FaultProxy) -> None:
    proxy.inject("POST", r"^/api/v1/namespaces$", 503, b'{"kind":"Status","code":503,"reason":"ServiceUnavailable"}')
    with pytest.raises(dynkube.ServerError):
        via_proxy.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "never-made"}})
    assert len(proxy.requests_to(r"^/api/v1/namespaces$")) == 1
