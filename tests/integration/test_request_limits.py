"""The real server's limit on request bodies (3 MiB by default) comes back as its own answer."""

from __future__ import annotations

from typing import Any

import pytest

import dynkube


@pytest.mark.parametrize("megabytes", [4, 40], ids=["read-whole", "cut-off-while-sending"])
def test_a_body_over_the_servers_limit_raises_request_entity_too_large(each_client: Any, namespace: str,
                                                                        megabytes: int) -> None:
    """At 4 MB the server reads the whole body before answering; at 40 MB it answers 413 and closes the
    connection while the body is still being sent, which TLS reports as an EOF (both clients)."""
    big = {"metadata": {"name": "big"}, "data": {"blob": "x" * (megabytes * 1024 * 1024)}}
    with pytest.raises(dynkube.RequestEntityTooLarge) as caught:
        each_client.resource("configmaps").create(big, namespace)
    assert caught.value.code == 413 and "Request entity too large" in str(caught.value)
    with pytest.raises(dynkube.NotFound):
        each_client.resource("configmaps").get("big", namespace)
    small = {"metadata": {"name": "small"}, "data": {"blob": "x"}}  # the client goes on after the 413
    each_client.resource("configmaps").create(small, namespace)
    assert each_client.resource("configmaps").get("small", namespace).data.blob == "x"
