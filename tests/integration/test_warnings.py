"""Server warnings (the Warning header: deprecated APIs, unknown fields) are Python warnings that
point at the caller's line, however deep in dynkube the request was made; for the asyncio client,
at the line of the ``await`` (or ``async for``/``async with``) in the caller's coroutine. The asyncio
test is written as asyncio code: through the test bridge, the caller would be the bridge."""

from __future__ import annotations

import asyncio
import inspect
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
import dynkube.aio

DEPRECATION = "gadgets v1 is going away; use v2"


def warned_at(call: Callable[[], Any]) -> list[tuple[str, int, str]]:
    """(filename, line, text) of the ServerWarnings raised while ``call()`` runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(w.filename, w.lineno, str(w.message)) for w in caught if issubclass(w.category, dynkube.ServerWarning)]


def here() -> int:
    """The line of the caller."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


@pytest.fixture(scope="module")
def gadgets(client: dynkube.Client) -> Iterator[dynkube.ResourceClient]:
    """A CRD whose only version is marked deprecated, with a deprecationWarning."""
    group = f"d{uuid.uuid4().hex[:8]}.example.com"
    crds = client.resource("customresourcedefinitions")
    crds.create({"metadata": {"name": f"gadgets.{group}"}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True, "deprecated": True,
                      "deprecationWarning": DEPRECATION, "schema": {"openAPIV3Schema": {
                          "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    dynkube.wait_for(crds, f"gadgets.{group}", condition="Established", timeout=30)
    yield client.resource(f"gadgets.{group}")
    crds.delete(f"gadgets.{group}")


def test_a_deprecated_crd_version_warns_at_the_callers_line(gadgets: dynkube.ResourceClient, namespace: str) -> None:
    body = {"apiVersion": gadgets.api_version, "kind": "Gadget", "metadata": {"name": "g"}}
    calls: list[tuple[int, Callable[[], Any]]] = [
        (here(), lambda: gadgets.create(body, namespace)),
        (here(), lambda: gadgets.get("g", namespace)),
        (here(), lambda: list(gadgets.list(namespace))),  # the request is made inside a generator
        (here(), lambda: next(iter(gadgets.watch(namespace)))),
        (here(), lambda: gadgets.delete("g", namespace)),
    ]
    for line, call in calls:
        assert warned_at(call) == [(__file__, line, DEPRECATION)]


def test_a_deprecated_built_in_api_warns_at_the_callers_line(client: dynkube.Client) -> None:
    statuses = client.resource("componentstatuses")
    line = here() + 1
    found = warned_at(lambda: list(statuses.list()))
    assert [(f, n) for f, n, _ in found] == [(__file__, line)] and "ComponentStatus is deprecated" in found[0][2]


def test_an_awaited_call_warns_at_the_line_of_its_await(kubeconfig_path: Path, gadgets: dynkube.ResourceClient,
                                                       namespace: str) -> None:
    body = {"apiVersion": gadgets.api_version, "kind": "Gadget", "metadata": {"name": "g"}}
    name = f"{gadgets.resource.plural}.{gadgets.resource.group}"

    async def main() -> tuple[list[int], list[tuple[str, int, str]]]:
        lines: list[int] = []
        async with dynkube.aio.Client(kubeconfig=kubeconfig_path, cache_dir=False) as client:
            gadgets = await client.resource(name)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                lines.append(here() + 1)
                await gadgets.create(body, namespace)
                lines.append(here() + 1)
                await gadgets.get("g", namespace)
                lines.append(here() + 1)
                async for _ in gadgets.list(namespace):  # the request is made inside an async generator
                    pass
                async with gadgets.watch(namespace) as changes:
                    lines.append(here() + 1)
                    await changes.__anext__()  # the watch connects on the first step
                lines.append(here() + 1)
                await gadgets.delete("g", namespace)
        return lines, [(w.filename, w.lineno, str(w.message)) for w in caught
                       if issubclass(w.category, dynkube.ServerWarning)]

    lines, found = asyncio.run(main())
    assert [(__file__, line, DEPRECATION) for line in lines] == found
