"""apply_manifests with several CRDs against the real server: sent together, waited for together,
one discovery refresh before the objects that use them, every document reported, memory kept small.
Each test runs with ``dynkube.apply_manifests`` over the sync client, then ``dynkube.aio.apply_manifests``
over an asyncio one (through the bridge)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube

from ..support.bridge import AsyncBridge, BridgedTools, SyncTools

Tools = SyncTools | BridgedTools

KINDS = ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot")


@pytest.fixture
def group(client: dynkube.Client) -> Iterator[str]:
    name = f"c{uuid.uuid4().hex[:8]}.example.com"
    yield name
    crds = client.resource("crd")
    for crd in [c for c in crds.list() if c["spec"]["group"] == name]:
        try:
            crds.delete(crd["metadata"]["name"])
        except dynkube.NotFound:
            pass


def _crd(group: str, kind: str, scope: str = "Namespaced") -> str:
    return f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {kind.lower()}s.{group}
spec:
  group: {group}
  scope: {scope}
  names: {{plural: {kind.lower()}s, singular: {kind.lower()}, kind: {kind}}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-validations:
            - rule: "self.metadata.name.size() <= 253"
          properties:
            spec: {{type: object, properties: {{size: {{type: integer}}}}}}
"""


def _object(group: str, kind: str, namespace: str) -> str:
    return f"apiVersion: {group}/v1\nkind: {kind}\nmetadata: {{name: one, namespace: {namespace}}}\nspec: {{size: 1}}\n"


def applying_discovery(client: Any) -> Any:
    """The discovery the apply resolves kinds with: the client's, or for an asyncio client, its sync
    twin's (``dynkube.aio.apply_manifests`` runs the sync apply with ``client.blocking()``)."""
    return client.target.blocking().discovery if isinstance(client, AsyncBridge) else client.discovery


def _write_set(folder: Path, group: str, namespace: str) -> None:
    """One CRD a file, and their objects in a file sorted before them (apply_manifests reorders)."""
    folder.mkdir()
    (folder / "0-objects.yaml").write_text("---\n".join(_object(group, kind, namespace) for kind in KINDS))
    for kind in KINDS:
        (folder / f"crd-{kind.lower()}.yaml").write_text(_crd(group, kind))


def test_crds_are_applied_together_and_their_objects_after_one_refresh(
        each_client: Any, each_tools: Tools, group: str, namespace: str, tmp_path: Path) -> None:
    _write_set(tmp_path / "set", group, namespace)
    discovery = applying_discovery(each_client)
    assert discovery.map  # loaded before: what follows counts only the refreshes the apply needs
    before = discovery.stats["requests"]
    stages: list[tuple[str, int, int]] = []
    seen: list[tuple[str, int, int]] = []

    results = each_tools.apply_manifests(each_client, tmp_path / "set", on_progress=lambda *p: stages.append(p),
                                       on_result=lambda r, done, total: seen.append((str(r), done, total)))

    assert [r.action for r in results] == ["created"] * 12, [str(r) for r in results]
    assert [(r.document.body or {})["kind"] for r in results] == ["CustomResourceDefinition"] * 6 + list(KINDS)
    assert [done for _, done, _ in seen] == list(range(1, 13)) and {total for *_, total in seen} == {12}
    assert [s for s in stages if s[0] == "applying"] == [("applying", i, 6) for i in range(1, 7)]
    # one refresh (two aggregated documents) unless the server was slow to serve a kind; never one per CRD
    assert discovery.stats["requests"] - before <= 4


def test_an_unchanged_set_is_reported_unchanged(each_client: Any, each_tools: Tools, group: str, namespace: str,
                                                tmp_path: Path) -> None:
    _write_set(tmp_path / "set", group, namespace)
    assert all(r.ok for r in each_tools.apply_manifests(each_client, tmp_path / "set"))

    again = each_tools.apply_manifests(each_client, tmp_path / "set")

    assert [r.action for r in again] == ["unchanged"] * 12, [str(r) for r in again]
    (tmp_path / "set" / "crd-alpha.yaml").write_text(_crd(group, "Alpha").replace("size: {type: integer}",
                                                                                   "size: {type: integer, minimum: 0}"))
    changed = each_tools.apply_manifests(each_client, tmp_path / "set" / "crd-alpha.yaml")
    assert [r.action for r in changed] == ["configured"]


def test_a_broken_crd_fails_alone_and_the_others_are_applied(each_client: Any, each_tools: Tools, group: str,
                                                              namespace: str, tmp_path: Path) -> None:
    _write_set(tmp_path / "set", group, namespace)
    (tmp_path / "set" / "crd-bravo.yaml").write_text(_crd(group, "Bravo", scope="Sideways"))

    results = each_tools.apply_manifests(each_client, tmp_path / "set")

    failed = {r.document.source.rsplit("/", 1)[-1]: r for r in results if not r.ok}
    assert len(results) == 12 and sorted(failed) == ["0-objects.yaml", "crd-bravo.yaml"], [str(r) for r in results]
    assert isinstance(failed["crd-bravo.yaml"].error, dynkube.ApiError)
    assert (failed["0-objects.yaml"].document.body or {})["kind"] == "Bravo"  # its kind is not served


def test_a_crd_never_established_fails_when_waited_for_and_not_when_unused(each_client: Any, each_tools: Tools,
                                                                           group: str, namespace: str,
                                                                           tmp_path: Path) -> None:
    _write_set(tmp_path / "set", group, namespace)
    assert all(r.ok for r in each_tools.apply_manifests(each_client, tmp_path / "set"))
    # the same kind under another plural: the server never accepts its names, so never Establishes it
    clash = _crd(group, "Alpha").replace(f"name: alphas.{group}", f"name: clashes.{group}") \
        .replace("plural: alphas, singular: alpha", "plural: clashes, singular: clash")

    [waited] = each_tools.apply_manifests(each_client, clash, wait_timeout=3)
    [unused] = each_tools.apply_manifests(each_client, clash, wait_timeout=3, wait_for_crds="used")

    assert isinstance(waited.error, dynkube.WaitTimeout) and "clashes." in str(waited.error)
    assert unused.ok and unused.action == "unchanged"


def test_collect_false_keeps_no_results_and_reports_crds_by_name(each_client: Any, each_tools: Tools, group: str,
                                                                namespace: str, tmp_path: Path) -> None:
    _write_set(tmp_path / "set", group, namespace)
    seen: list[dynkube.ApplyResult] = []

    kept = each_tools.apply_manifests(each_client, tmp_path / "set", collect=False,
                                      on_result=lambda r, d, t: seen.append(r))

    assert kept == [] and len(seen) == 12 and all(r.ok for r in seen)
    crd = seen[0].object
    assert crd is not None and dict(crd) == {"apiVersion": "apiextensions.k8s.io/v1",
                                             "kind": "CustomResourceDefinition",
                                             "metadata": {"name": f"alphas.{group}"}}


def test_wait_for_crds_refuses_an_unknown_mode(each_client: Any, each_tools: Tools) -> None:
    with pytest.raises(dynkube.InvalidInput, match="wait_for_crds"):
        each_tools.apply_manifests(each_client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                                   wait_for_crds="some")
