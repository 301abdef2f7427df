"""Proof that the test server is a real kube-apiserver: plain `requests` with the kubeconfig's
credentials (no dynkube code involved) creates a CRD, waits for it, round-trips objects, and a wrong
token is refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from ..support.rawsession import raw_session


@pytest.fixture(scope="module")
def raw(kubeconfig_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[requests.Session, str]]:
    """A requests session authenticated as the kubeconfig's current context says."""
    session, server = raw_session(kubeconfig_path, tmp_path_factory.mktemp("raw"))
    yield session, server
    session.close()


def test_crd_custom_object_and_configmap_round_trip(raw: tuple[requests.Session, str]) -> None:
    session, server = raw
    group = f"g{uuid.uuid4().hex[:8]}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}}}}}}}]},
    }
    crds = f"{server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert session.post(crds, json=crd).status_code == 201
    try:
        _wait_established(session, f"{crds}/widgets.{group}")
        ns = f"raw-{uuid.uuid4().hex[:8]}"
        assert session.post(f"{server}/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
        widget = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
        widgets = f"{server}/apis/{group}/v1/namespaces/{ns}/widgets"
        created = _post_when_served(session, widgets, widget)
        assert created.status_code == 201, created.text
        cm = {"metadata": {"name": "cm1"}, "data": {"k": "v"}}
        assert session.post(f"{server}/api/v1/namespaces/{ns}/configmaps", json=cm).status_code == 201

        assert session.get(f"{widgets}/w1").json()["spec"] == {"size": 3}
        assert session.get(f"{server}/api/v1/namespaces/{ns}/configmaps/cm1").json()["data"] == {"k": "v"}
        session.delete(f"{server}/api/v1/namespaces/{ns}")
    finally:
        session.delete(f"{crds}/widgets.{group}")


def test_wrong_token_is_unauthorized(raw: tuple[requests.Session, str]) -> None:
    session, server = raw
    answer = requests.get(f"{server}/api/v1/namespaces", verify=session.verify,
                          headers={"Authorization": "Bearer not-a-real-token"})
    assert answer.status_code == 401
    assert answer.json()["reason"] == "Unauthorized"


def _wait_established(session: requests.Session, url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conditions = (session.get(url).json().get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} not Established after {timeout}s")


def _post_when_served(session: requests.Session, url: str, body: dict, timeout: float = 30) -> requests.Response:
    """POST, retrying while the new CRD's endpoint is not yet served (404 for a few moments)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = session.post(url, json=body)
        if answer.status_code != 404 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)
