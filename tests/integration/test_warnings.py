"""Server warnings (the Warning header: deprecated APIs, unknown fields) are Python warnings that
point at the caller's line, however deep in dynkube the request was made."""

from __future__ import annotations

import inspect
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import dynkube

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
