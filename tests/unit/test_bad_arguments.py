"""Unusable arguments to Client() and unencodable bodies raise InvalidInput naming the argument
(constructing a client makes no request, so no server is needed)."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.objects import encode_json

CONFIG = dynkube.Config.from_url("https://127.0.0.1:1")


@pytest.mark.parametrize(("arguments", "named"), [
    ({"timeout": "x"}, "timeout"),
    ({"timeout": (10, "x")}, "timeout"),
    ({"timeout": math.inf}, "timeout"),
    ({"timeout": -1}, "timeout"),
    ({"qps": "fast"}, "qps"),
    ({"qps": math.nan}, "qps"),
    ({"burst": 2.5}, "burst"),
    ({"burst": 10 ** 400}, "burst"),
    ({"retry": (5, 0.2)}, "retry"),
    ({"discovery_ttl": "6h"}, "discovery_ttl"),
    ({"cache_dir": 7}, "cache_dir"),
    ({"namespace": 7}, "namespace"),
])
def test_client_refuses_unusable_settings(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match=f"^{named} must be"):
        dynkube.Client(CONFIG, **arguments)


@pytest.mark.parametrize(("arguments", "named"), [
    ({"kubeconfig": 123}, "kubeconfig"),
    ({"kubeconfig": "/nonexistent", "context": 5}, "context"),
    ({"config": {"server": "https://x"}}, "config"),
])
def test_client_refuses_unusable_configuration_arguments(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match=f"^{named} must be"):
        dynkube.Client(**arguments)


def test_client_accepts_its_documented_settings(tmp_path: Path) -> None:
    client = dynkube.Client(CONFIG, timeout=(3, None), qps=None, burst=0, cache_dir=tmp_path, discovery_ttl=0)
    assert client.transport.timeout == (3, None)


def _circular() -> dict[str, Any]:
    value: dict[str, Any] = {"data": {}}
    value["data"]["self"] = value
    return value


def _deep() -> list[Any]:
    value: list[Any] = []
    for _ in range(100_000):
        value = [value]
    return value


@pytest.mark.parametrize(("body", "where"), [
    ({"data": {"when": datetime.date(2024, 1, 1)}}, "data.when is of type date"),
    ({"data": {"raw": b"\x00"}}, "data.raw is of type bytes"),
    ({"spec": {"tags": {"a", "b"}}}, "spec.tags is of type set"),
    ({"spec": {"items": [1, object()]}}, r"spec.items\[1\] is of type object"),
    ({"spec": {"ratio": math.nan}}, "spec.ratio is nan"),
    ({"spec": {"ratio": -math.inf}}, "spec.ratio is -inf"),
    ({"spec": {(1, 2): "tuple key"}}, "spec has a key of type tuple"),
    (_circular(), "data.self contains itself"),
    ({"spec": _deep()}, "it is nested too deeply"),
])
def test_a_body_that_is_not_json_is_refused_saying_where(body: Any, where: str) -> None:
    with pytest.raises(dynkube.InvalidInput, match=f"^the body cannot be sent as JSON: {where}"):
        encode_json(body, "the body")


def test_json_bodies_encode_compactly() -> None:
    assert encode_json({"a": [1, 2.5, None, True, "é"], 3: "int key"}, "body") == \
        b'{"a":[1,2.5,null,true,"\\u00e9"],"3":"int key"}'
