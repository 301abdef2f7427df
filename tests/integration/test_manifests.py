"""apply_manifests against the real server: ordering, CRDs then their objects, per-document results,
broken documents that fail alone. Each test runs with ``dynkube.apply_manifests`` over the sync
client, then ``dynkube.aio.apply_manifests`` over an asyncio one (through the bridge)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube

from ..support.bridge import BridgedTools, SyncTools

Tools = SyncTools | BridgedTools


@pytest.fixture
def group(client: dynkube.Client) -> Iterator[str]:
    name = f"m{uuid.uuid4().hex[:8]}.example.com"
    yield name
    try:
        client.resource("crd").delete(f"widgets.{name}")
    except dynkube.NotFound:
        pass


def _stack(group: str, namespace: str) -> str:
    # The objects come before their CRD and namespace on purpose: apply_manifests reorders.
    return f"""
apiVersion: {group}/v1
kind: Widget
metadata: {{name: w1, namespace: {namespace}}}
spec: {{size: 1}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {namespace}}}
data: {{a: "1"}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: broken, namespace: {namespace}
data: [unclosed
---
apiVersion: {group}/v1
kind: Nonexistent
metadata: {{name: x, namespace: {namespace}}}
---
# a comment-only document is skipped
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {{type: object, properties: {{size: {{type: integer}}}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: {namespace}}}
"""


def test_multi_document_stack_with_a_crd_and_broken_documents(each_client: Any, each_tools: Tools, group: str,
                                                              tmp_path: Path) -> None:
    namespace = f"m-{uuid.uuid4().hex[:8]}"
    manifest = tmp_path / "stack.yaml"
    manifest.write_text(_stack(group, namespace))
    try:
        results = each_tools.apply_manifests(each_client, manifest)
        summary = [(r.document.body or {}).get("kind") if r.document.body else None for r in results]
        assert summary[:2] == ["Namespace", "CustomResourceDefinition"]
        by_kind = {((r.document.body or {}).get("kind"), r.action) for r in results}
        assert {("Namespace", "created"), ("CustomResourceDefinition", "created"), ("Widget", "created"),
                ("ConfigMap", "created"), ("Nonexistent", "failed"), (None, "failed")} == by_kind
        broken = next(r for r in results if r.document.body is None)
        assert isinstance(broken.error, dynkube.ManifestError)
        assert f"{manifest} document 3" in str(broken.error)
        unknown = next(r for r in results if (r.document.body or {}).get("kind") == "Nonexistent")
        assert isinstance(unknown.error, dynkube.ResourceNotFound)
        assert each_client.resource(f"widgets.{group}").get("w1", namespace).spec.size == 1

        again = each_tools.apply_manifests(each_client, manifest)
        assert {r.action for r in again if r.ok} == {"unchanged"}
        manifest.write_text(_stack(group, namespace).replace("spec: {size: 1}", "spec: {size: 2}"))
        changed = {(r.document.body or {}).get("kind"): r.action
                   for r in each_tools.apply_manifests(each_client, manifest) if r.ok}
        assert changed["Widget"] == "configured" and changed["ConfigMap"] == "unchanged"
    finally:
        each_client.resource("namespaces").delete(namespace)


def test_dry_run_creates_nothing(each_client: Any, each_tools: Tools, namespace: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: dry, namespace: {namespace}}}\n"
    [result] = each_tools.apply_manifests(each_client, text, dry_run=True)
    assert result.ok and result.action == "created"
    with pytest.raises(dynkube.NotFound):
        each_client.resource("cm").get("dry", namespace)


def test_directory_and_list_documents(each_client: Any, each_tools: Tools, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: {namespace}}}\n")
    (tmp_path / "sub" / "b.json").write_text(
        '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", '
        f'"metadata": {{"name": "b", "namespace": "{namespace}"}}}}]}}')
    (tmp_path / "notes.txt").write_text("not a manifest")
    applied = each_tools.apply_manifests(each_client, tmp_path)
    assert [str(r) for r in applied] == ["configmap/a created", "configmap/b created"]
    top_only = each_tools.apply_manifests(each_client, tmp_path, recursive=False)
    assert [str(r) for r in top_only] == ["configmap/a unchanged"]


def test_default_namespace_and_conflicting_namespace(each_client: Any, each_tools: Tools, namespace: str) -> None:
    [ok] = each_tools.apply_manifests(each_client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nsless}\n",
                                   namespace=namespace)
    assert ok.ok and ok.object.metadata.namespace == namespace
    [bad] = each_tools.apply_manifests(
        each_client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: other}\n", namespace=namespace)
    assert isinstance(bad.error, dynkube.InvalidInput) and "does not match" in str(bad.error)


def test_missing_file_is_a_manifest_error(each_client: Any, each_tools: Tools, tmp_path: Path) -> None:
    with pytest.raises(dynkube.ManifestError, match="cannot read manifest"):
        each_tools.apply_manifests(each_client, tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "message"), [
    ("- just\n- a list\n", "expected a mapping"),
    ("kind: ConfigMap\nmetadata: {name: x}\n", "missing apiVersion or kind"),
    ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata.name"),
])
def test_documents_that_cannot_be_objects(each_client: Any, each_tools: Tools, text: str, message: str) -> None:
    [result] = each_tools.apply_manifests(each_client, text)
    assert result.action == "failed" and message in str(result.error)


def test_every_document_ends_applied_or_failed_and_yaml_dates_apply_as_strings(each_client: Any, each_tools: Tools,
                                                                               namespace: str) -> None:
    cm = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: %s, namespace: {namespace}}}\n"
    text = "---\n".join([
        cm % "first",
        cm % "2024-01-01" + "data: {day: 2024-01-02, raw: !!binary aGVsbG8=}\n",
        cm.replace("ConfigMap", "null") % "nokind",
        cm.replace("ConfigMap", "7") % "sevenkind",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [not, a, mapping]\n",
        cm % "tags" + "data: !!set {a, b}\n",
        cm % "last",
    ])
    results = each_tools.apply_manifests(each_client, text)
    assert [str(r) if r.ok else f"failed {r.document.index + 1}" for r in results] == [
        "configmap/first created", "configmap/2024-01-01 created", "failed 3", "failed 4", "failed 5",
        "configmap/tags created", "configmap/last created"]  # a !!set is a mapping of nulls, as for kubectl
    assert "must be a string" in str(results[3].error) and "metadata must be a mapping" in str(results[4].error)
    assert each_client.resource("cm").get("2024-01-01", namespace).data == {"day": "2024-01-02", "raw": "hello"}


def test_an_alias_bomb_fails_alone(each_client: Any, each_tools: Tools, namespace: str) -> None:
    rows = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + \
        [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb, namespace: {namespace}}}\ndata:\n" + \
        "".join(f"  {row}\n" for row in rows)
    fine = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: fine, namespace: {namespace}}}\n"
    failed, applied = each_tools.apply_manifests(each_client, f"{bomb}---\n{fine}")
    assert "excessive aliasing" in str(failed.error) and str(applied) == "configmap/fine created"


def test_a_cluster_scoped_object_with_a_namespace_applies_as_kubectl_does(each_client: Any, each_tools: Tools,
                                                                          namespace: str) -> None:
    name = f"{namespace}-role"
    text = (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nrules: []\n")
    try:
        [result] = each_tools.apply_manifests(each_client, text)
        assert str(result) == f"clusterrole/{name} created"
        [again] = each_tools.apply_manifests(each_client, text, namespace=namespace)
        assert str(again) == f"clusterrole/{name} unchanged"
        assert "namespace" not in each_client.resource("clusterroles").get(name).metadata
    finally:
        each_client.resource("clusterroles").delete(name)


def test_a_stopped_apply_says_what_it_did(each_client: Any, each_tools: Tools, namespace: str) -> None:
    text = "---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: {namespace}}}\n"
                        for i in range(3))

    def stop_after_the_first(result: dynkube.ApplyResult, done: int, total: int) -> None:
        if done == 1:
            raise RuntimeError("enough")

    with pytest.raises(dynkube.ApplyIncomplete, match="after 1 of 3 document") as stopped:
        each_tools.apply_manifests(each_client, text, on_result=stop_after_the_first)
    assert [str(r) for r in stopped.value.results] == ["configmap/c0 created"]
    assert [d.index for d in stopped.value.remaining] == [1, 2]
    assert isinstance(stopped.value.__cause__, RuntimeError)
