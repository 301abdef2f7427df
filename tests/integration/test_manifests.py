"""apply_manifests against the real server: ordering, CRDs then their objects, per-document results,
broken documents that fail alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynkube


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


def test_multi_document_stack_with_a_crd_and_broken_documents(client: dynkube.Client, group: str,
                                                              tmp_path: Path) -> None:
    namespace = f"m-{uuid.uuid4().hex[:8]}"
    manifest = tmp_path / "stack.yaml"
    manifest.write_text(_stack(group, namespace))
    try:
        results = dynkube.apply_manifests(client, manifest)
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
        assert client.resource(f"widgets.{group}").get("w1", namespace).spec.size == 1

        again = dynkube.apply_manifests(client, manifest)
        assert {r.action for r in again if r.ok} == {"unchanged"}
        manifest.write_text(_stack(group, namespace).replace("spec: {size: 1}", "spec: {size: 2}"))
        changed = {(r.document.body or {}).get("kind"): r.action
                   for r in dynkube.apply_manifests(client, manifest) if r.ok}
        assert changed["Widget"] == "configured" and changed["ConfigMap"] == "unchanged"
    finally:
        client.resource("namespaces").delete(namespace)


def test_dry_run_creates_nothing(client: dynkube.Client, namespace: str) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: dry, namespace: {namespace}}}\n"
    [result] = dynkube.apply_manifests(client, text, dry_run=True)
    assert result.ok and result.action == "created"
    with pytest.raises(dynkube.NotFound):
        client.resource("cm").get("dry", namespace)


def test_directory_and_list_documents(client: dynkube.Client, namespace: str, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: {namespace}}}\n")
    (tmp_path / "sub" / "b.json").write_text(
        '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", '
        f'"metadata": {{"name": "b", "namespace": "{namespace}"}}}}]}}')
    (tmp_path / "notes.txt").write_text("not a manifest")
    assert [str(r) for r in dynkube.apply_manifests(client, tmp_path)] == ["configmap/a created", "configmap/b created"]
    assert [str(r) for r in dynkube.apply_manifests(client, tmp_path, recursive=False)] == ["configmap/a unchanged"]


def test_default_namespace_and_conflicting_namespace(client: dynkube.Client, namespace: str) -> None:
    [ok] = dynkube.apply_manifests(client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nsless}\n",
                                   namespace=namespace)
    assert ok.ok and ok.object.metadata.namespace == namespace
    [bad] = dynkube.apply_manifests(
        client, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: other}\n", namespace=namespace)
    assert isinstance(bad.error, dynkube.InvalidInput) and "does not match" in str(bad.error)


def test_missing_file_is_a_manifest_error(client: dynkube.Client, tmp_path: Path) -> None:
    with pytest.raises(dynkube.ManifestError, match="cannot read manifest"):
        dynkube.apply_manifests(client, tmp_path / "missing.yaml")


@pytest.mark.parametrize(("text", "message"), [
    ("- just\n- a list\n", "expected a mapping"),
    ("kind: ConfigMap\nmetadata: {name: x}\n", "missing apiVersion or kind"),
    ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata.name"),
])
def test_documents_that_cannot_be_objects(client: dynkube.Client, text: str, message: str) -> None:
    [result] = dynkube.apply_manifests(client, text)
    assert result.action == "failed" and message in str(result.error)


def test_every_document_ends_applied_or_failed_and_yaml_dates_apply_as_strings(client: dynkube.Client,
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
    results = dynkube.apply_manifests(client, text)
    assert [str(r) if r.ok else f"failed {r.document.index + 1}" for r in results] == [
        "configmap/first created", "configmap/2024-01-01 created", "failed 3", "failed 4", "failed 5",
        "configmap/tags created", "configmap/last created"]  # a !!set is a mapping of nulls, as for kubectl
    assert "must be a string" in str(results[3].error) and "metadata must be a mapping" in str(results[4].error)
    assert client.resource("cm").get("2024-01-01", namespace).data == {"day": "2024-01-02", "raw": "hello"}


def test_an_alias_bomb_fails_alone(client: dynkube.Client, namespace: str) -> None:
    rows = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + \
        [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb, namespace: {namespace}}}\ndata:\n" + \
        "".join(f"  {row}\n" for row in rows)
    fine = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: fine, namespace: {namespace}}}\n"
    failed, applied = dynkube.apply_manifests(client, f"{bomb}---\n{fine}")
    assert "excessive aliasing" in str(failed.error) and str(applied) == "configmap/fine created"


def test_a_cluster_scoped_object_with_a_namespace_applies_as_kubectl_does(client: dynkube.Client,
                                                                          namespace: str) -> None:
    name = f"{namespace}-role"
    text = (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            f"metadata: {{name: {name}, namespace: {namespace}}}\nrules: []\n")
    try:
        [result] = dynkube.apply_manifests(client, text)
        assert str(result) == f"clusterrole/{name} created"
        [again] = dynkube.apply_manifests(client, text, namespace=namespace)
        assert str(again) == f"clusterrole/{name} unchanged"
        assert "namespace" not in client.resource("clusterroles").get(name).metadata
    finally:
        client.resource("clusterroles").delete(name)


def test_a_stopped_apply_says_what_it_did(client: dynkube.Client, namespace: str) -> None:
    text = "---\n".join(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: {namespace}}}\n"
                        for i in range(3))

    def stop_after_the_first(result: dynkube.ApplyResult, done: int, total: int) -> None:
        if done == 1:
            raise RuntimeError("enough")

    with pytest.raises(dynkube.ApplyIncomplete, match="after 1 of 3 document") as stopped:
        dynkube.apply_manifests(client, text, on_result=stop_after_the_first)
    assert [str(r) for r in stopped.value.results] == ["configmap/c0 created"]
    assert [d.index for d in stopped.value.remaining] == [1, 2]
    assert isinstance(stopped.value.__cause__, RuntimeError)
