"""Export and import against the real server: a namespace with a Deployment (whose ReplicaSet and Pods
the controllers and kwok nodes really make), Services, a ConfigMap, a Secret, a CRD and its objects is
exported, imported into another namespace (or into itself after it and the CRD were deleted), compared
with what the server then holds, and applied again."""

from __future__ import annotations

import io
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import dynkube
from dynkube.export import clean, export, import_export

from ..conftest import fresh_namespace
from ..faults.watchkit import wait_for
from .test_cli import cli  # noqa: F401  (fixture)

LABELS = {"app": "web"}


def deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": LABELS},
            "spec": {"replicas": 2, "selector": {"matchLabels": LABELS}, "template": {
                "metadata": {"labels": LABELS},
                "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}}}}


def resolved(client: dynkube.Client, kind: str) -> dynkube.ResourceClient:
    """The resource of a CRD just Established: discovery may take a moment more to serve it."""
    found: list[dynkube.ResourceClient] = []

    def served() -> bool:
        try:
            found.append(client.resource(kind))
        except dynkube.ResourceNotFound:
            return False
        return True

    wait_for(served, timeout=30, what=f"discovery to serve {kind}")
    return found[-1]


@pytest.fixture
def stocked(client: dynkube.Client, namespace: str, crd_factory: Callable[..., str]) -> dict[str, Any]:
    """The namespace's objects: created, and the Deployment's ReplicaSet and Pods made by the cluster."""
    kind = crd_factory()
    things = resolved(client, kind)
    client.resource("deployments").create(deployment(), namespace)
    client.resource("services").create({"metadata": {"name": "web"}, "spec": {
        "selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]}}, namespace)
    client.resource("services").create({"metadata": {"name": "edge"}, "spec": {
        "type": "NodePort", "selector": LABELS, "ports": [{"port": 443}]}}, namespace)
    client.resource("services").create({"metadata": {"name": "headless"}, "spec": {
        "clusterIP": "None", "selector": LABELS, "ports": [{"port": 80}]}}, namespace)
    client.resource("configmaps").create({"metadata": {"name": "settings"}, "data": {"mode": "fast"}}, namespace)
    client.resource("secrets").create({"metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}},
                                      namespace)
    client.resource("jobs").create({"metadata": {"name": "once"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "once", "image": "registry.example/once:1"}]}}}}, namespace)
    things.create({"metadata": {"name": "t1"}, "spec": {"size": 3, "tags": ["a", "b"]}}, namespace)
    wait_for(lambda: len(list(client.resource("pods").list(namespace, label_selector=LABELS))) == 2,
             timeout=60, what="the Deployment's two Pods")
    for resource, name in (("configmaps", "kube-root-ca.crt"), ("endpoints", "web"),  # what controllers add
                           ("serviceaccounts", "default")):
        dynkube.wait_for(client.resource(resource), name, namespace, condition="create", timeout=60)
    return {"kind": kind, "plural": things.resource.plural, "group": things.resource.group}


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.yaml")}


def test_a_namespace_exports_as_a_tree_without_owned_or_cluster_made_objects(
        client: dynkube.Client, namespace: str, stocked: dict[str, Any], tmp_path: Path) -> None:
    result = export(client, tmp_path / "out", namespace=namespace, include_secrets=True)
    assert result.ok, result.failures
    kind, group, plural = stocked["kind"], stocked["group"], stocked["plural"]
    assert tree(tmp_path / "out") == {
        f"{namespace}/apps/Deployment/web.yaml", f"{namespace}/core/Service/web.yaml",
        f"{namespace}/core/Service/edge.yaml", f"{namespace}/core/Service/headless.yaml",
        f"{namespace}/core/ConfigMap/settings.yaml", f"{namespace}/core/Secret/creds.yaml",
        f"{namespace}/core/ServiceAccount/default.yaml", f"{namespace}/{group}/{kind}/t1.yaml",
        f"{namespace}/batch/Job/once.yaml",
        f"_cluster/core/Namespace/{namespace}.yaml",
        f"_cluster/apiextensions.k8s.io/CustomResourceDefinition/{plural}.{group}.yaml",
    }
    assert result.skipped["owned"] >= 3  # the ReplicaSet and its Pods, the Job's Pod, the EndpointSlices
    assert result.skipped["managed"] >= 2  # kube-root-ca.crt, the Endpoints


def test_exported_objects_are_clean(client: dynkube.Client, namespace: str, stocked: dict[str, Any],
                                    tmp_path: Path) -> None:
    export(client, tmp_path, namespace=namespace, include_secrets=True)
    for path in tmp_path.rglob("*.yaml"):
        body = yaml.safe_load(path.read_text())
        assert "status" not in body, path
        assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp", "generation",
                    "ownerReferences"} & set(body["metadata"]), path
        assert "kubectl.kubernetes.io/last-applied-configuration" not in body["metadata"].get("annotations", {})
    web = yaml.safe_load((tmp_path / namespace / "core" / "Service" / "web.yaml").read_text())
    assert "clusterIP" not in web["spec"] and "clusterIPs" not in web["spec"]
    edge = yaml.safe_load((tmp_path / namespace / "core" / "Service" / "edge.yaml").read_text())
    assert all("nodePort" not in port for port in edge["spec"]["ports"])
    headless = yaml.safe_load((tmp_path / namespace / "core" / "Service" / "headless.yaml").read_text())
    assert headless["spec"]["clusterIP"] == "None"
    job = yaml.safe_load((tmp_path / namespace / "batch" / "Job" / "once.yaml").read_text())
    assert "selector" not in job["spec"] and "batch.kubernetes.io/controller-uid" not in job["metadata"]["labels"]


def test_secrets_are_left_out_unless_asked_for_and_then_written_0600(
        client: dynkube.Client, namespace: str, stocked: dict[str, Any], tmp_path: Path) -> None:
    without = export(client, tmp_path / "without", namespace=namespace)
    assert not list((tmp_path / "without").rglob("Secret")) and "secrets" in without.kinds_left_out
    export(client, tmp_path / "with", namespace=namespace, include_secrets=True)
    secret = tmp_path / "with" / namespace / "core" / "Secret" / "creds.yaml"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "with" / namespace / "core" / "ConfigMap" / "settings.yaml").stat().st_mode) \
        == 0o644
    with pytest.raises(dynkube.InvalidInput, match="include_secrets"):
        export(client, tmp_path / "named", namespace=namespace, kinds=["secrets"])


def live(client: dynkube.Client, path: Path, namespace: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the exported body moved to ``namespace``, the cleaned object the server holds there)."""
    body = yaml.safe_load(path.read_text())
    if namespace and body["kind"] == "Namespace":
        body["metadata"]["name"] = namespace
    elif namespace and "namespace" in body["metadata"]:
        body["metadata"]["namespace"] = namespace
    resource = client.resource_for(body)
    held = resource.get(body["metadata"]["name"], body["metadata"].get("namespace"))
    return body, clean(held)


def test_an_import_into_another_namespace_recreates_every_object(
        client: dynkube.Client, namespace: str, stocked: dict[str, Any], tmp_path: Path) -> None:
    export(client, tmp_path, namespace=namespace, include_secrets=True)
    with fresh_namespace(client) as other:
        results = import_export(client, tmp_path, namespace=other)
        assert all(r.ok for r in results), [str(r) for r in results]
        assert len(results) == len(tree(tmp_path))
        for path in tmp_path.rglob("*.yaml"):
            exported, held = live(client, path, other)
            if exported["kind"] == "Namespace":
                continue  # its labels: the fresh namespace's own
            assert held == exported, path
        original = client.resource("secrets").get("creds", namespace)
        assert client.resource("secrets").get("creds", other)["data"] == original["data"]
        wait_for(lambda: len(list(client.resource("pods").list(other, label_selector=LABELS))) == 2,
                 timeout=60, what="the imported Deployment's own Pods")


def test_an_export_applies_again_without_conflict(client: dynkube.Client, namespace: str, stocked: dict[str, Any],
                                                  tmp_path: Path) -> None:
    export(client, tmp_path, namespace=namespace, include_secrets=True)
    again = import_export(client, tmp_path)  # onto the objects it came from, made by another field manager
    assert all(r.ok for r in again), [str(r) for r in again]
    assert {r.action for r in again} <= {"unchanged", "configured"}
    assert client.resource("services").get("edge", namespace)["spec"]["ports"][0]["nodePort"]  # kept its port


def test_an_export_of_several_namespaces_cannot_be_moved_into_one(client: dynkube.Client, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: one}\n---\n"
                                     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: two}\n")
    with pytest.raises(dynkube.InvalidInput, match="2 namespaces"):
        import_export(client, tmp_path, namespace="three")


def test_a_stream_export_round_trips_through_the_cli(cli: Callable[..., Any], client: dynkube.Client,
                                                     namespace: str, stocked: dict[str, Any], tmp_path: Path) -> None:
    done = cli("export", "-", "-n", namespace, "--kinds", "deploy,cm")
    assert done.code == 0, done.err
    assert "exported 2 object(s) of 2 kind(s)" in done.err
    bodies = list(yaml.safe_load_all(done.out))
    assert sorted((b["kind"], b["metadata"]["name"]) for b in bodies) == [("ConfigMap", "settings"),
                                                                           ("Deployment", "web")]
    (tmp_path / "web.yaml").write_text(done.out)
    with fresh_namespace(client) as other:
        imported = cli("import", str(tmp_path / "web.yaml"), "-n", other)
        assert imported.code == 0, imported.err
        assert "deployment.apps/web created" in imported.out and "configmap/settings created" in imported.out
        assert imported.out.splitlines()[-1] == "2 created"
        assert client.resource("configmaps").get("settings", other)["data"] == {"mode": "fast"}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_only(cli: Callable[..., Any], namespace: str, stocked: dict[str, Any],
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = cli("export", str(tmp_path / "plain"), "-n", namespace)
    assert plain.code == 0 and "\r" not in plain.err and "kinds]" not in plain.err
    assert plain.out.startswith("exported 10 object(s) of ")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli("export", str(tmp_path / "tty"), "-n", namespace).code == 0
    assert "kinds] " in terminal.getvalue() and "objects written" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")  # cleared before the summary


@pytest.fixture
def nobody_may_list_configmaps(client: dynkube.Client, namespace: str) -> None:
    """The envtest user "nobody" may list configmaps in the namespace, and nothing else."""
    client.resource("roles").create({"metadata": {"name": "list-cm"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]}, namespace)
    client.resource("rolebindings").create({"metadata": {"name": "list-cm"}, "subjects": [
        {"kind": "User", "name": "nobody", "apiGroup": "rbac.authorization.k8s.io"}], "roleRef": {
        "kind": "Role", "name": "list-cm", "apiGroup": "rbac.authorization.k8s.io"}}, namespace)

    def allowed() -> bool:
        review = client.resource("subjectaccessreviews").create({"spec": {"user": "nobody", "resourceAttributes": {
            "namespace": namespace, "verb": "list", "resource": "configmaps"}}})
        return bool(review["status"].get("allowed"))

    wait_for(allowed, what="the role binding to take effect")


def test_forbidden_kinds_are_listed_at_the_end_and_the_rest_is_written(
        cli: Callable[..., Any], client: dynkube.Client, namespace: str, nobody_may_list_configmaps: None,
        tmp_path: Path) -> None:
    client.resource("configmaps").create({"metadata": {"name": "visible"}, "data": {"k": "v"}}, namespace)
    done = cli("--context", "envtest-nobody", "export", str(tmp_path), "-n", namespace)
    assert done.code == 1
    assert (tmp_path / namespace / "core" / "ConfigMap" / "visible.yaml").exists()
    lines = done.err.splitlines()
    assert any(line.startswith("error: cannot export deployments.apps: ") and "forbidden" in line for line in lines)
    assert any(line.startswith(f"error: cannot export namespaces/{namespace}: ") for line in lines)
    assert lines[-1].startswith("error: ") and "kind(s) failed; the rest was written" in lines[-1]
    assert done.out.startswith("exported 1 object(s)")


def test_an_unusable_output_is_refused_before_any_request(cli: Callable[..., Any], client: dynkube.Client,
                                                          tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.yaml").write_text("x: 1\n")
    with pytest.raises(dynkube.InvalidInput, match="not empty"):
        export(client, tmp_path / "full", namespace="default")
    (tmp_path / "file").write_text("")
    done = cli("export", str(tmp_path / "file" / "sub"), "-n", "default")
    assert done.code == 1 and done.err.count("\n") == 1 and done.err.startswith("error: cannot export into ")
    assert not done.out


def test_named_kinds_are_exported_exactly_cluster_scoped_ones_too(client: dynkube.Client, namespace: str,
                                                                   gizmo_crds: None, tmp_path: Path) -> None:
    client.resource("configmaps").create({"metadata": {"name": "only"}}, namespace)
    result = export(client, tmp_path, namespace=namespace, kinds=["cm", "crd"])
    assert result.ok and result.kinds == 2
    found = tree(tmp_path)
    assert f"{namespace}/core/ConfigMap/only.yaml" in found
    assert f"{namespace}/core/ConfigMap/kube-root-ca.crt.yaml" not in found  # still the cluster's own
    assert "_cluster/apiextensions.k8s.io/CustomResourceDefinition/gizmos.fixtures.dynkube.io.yaml" in found
    assert not any(path.startswith("_cluster/core/Namespace") for path in found)
    with pytest.raises(dynkube.InvalidInput, match="tokenreviews.authentication.k8s.io cannot be exported"):
        export(client, tmp_path / "other", namespace=namespace, kinds=["tokenreviews"])


def test_an_all_namespaces_export_takes_every_namespace_and_cluster_scoped_kind(
        client: dynkube.Client, namespace: str, tmp_path: Path) -> None:
    mark = {"dynkube-export-test": namespace}
    client.resource("configmaps").create({"metadata": {"name": "marked", "labels": mark}}, namespace)
    client.resource("clusterroles").create({"metadata": {"name": f"marked-{namespace}", "labels": mark}, "rules": []})
    try:
        result = export(client, tmp_path, all_namespaces=True, label_selector=f"dynkube-export-test={namespace}")
        assert tree(tmp_path) == {f"{namespace}/core/ConfigMap/marked.yaml",
                                  f"_cluster/rbac.authorization.k8s.io/ClusterRole/marked-{namespace}.yaml"}
        assert all("/" in failure.what for failure in result.failures), result.failures  # only group-versions
    finally:
        client.resource("clusterroles").delete(f"marked-{namespace}")


def gone(get: Callable[[], object]) -> bool:
    try:
        get()
    except dynkube.NotFound:
        return True
    return False


def test_a_deleted_namespace_and_its_crd_come_back_from_the_export_as_they_were(
        client: dynkube.Client, namespace: str, stocked: dict[str, Any], tmp_path: Path) -> None:
    result = export(client, tmp_path, namespace=namespace, include_secrets=True)
    assert result.ok, result.failures
    crd_name = f"{stocked['plural']}.{stocked['group']}"
    assert (tmp_path / "_cluster" / "apiextensions.k8s.io" / "CustomResourceDefinition" / f"{crd_name}.yaml").exists()
    before = {path: live(client, path, None)[1] for path in tmp_path.rglob("*.yaml")}
    secret = client.resource("secrets").get("creds", namespace)["data"]
    namespaces, crds = client.resource("namespaces"), client.resource("customresourcedefinitions")
    namespaces.delete(namespace)
    wait_for(lambda: gone(lambda: namespaces.get(namespace)), timeout=120,
             what=f"the controller-manager to finish deleting namespace {namespace}")
    crds.delete(crd_name)
    wait_for(lambda: gone(lambda: crds.get(crd_name)), timeout=60, what=f"CRD {crd_name} to be deleted")

    results = import_export(client, tmp_path)
    assert all(r.ok for r in results), [str(r) for r in results]
    made = {r.action for r in results if r.object and r.object["kind"] != "ServiceAccount"}
    assert made == {"created"}  # the default ServiceAccount: made by the controller-manager or by the import
    assert len(results) == len(before)
    for path, original in before.items():
        exported, held = live(client, path, None)
        assert held == original, path
        assert held == exported, path
    assert client.resource("secrets").get("creds", namespace)["data"] == secret == {"password": "czNjcmV0"}
    wait_for(lambda: len(list(client.resource("pods").list(namespace, label_selector=LABELS))) == 2,
             timeout=60, what="the restored Deployment's own Pods")
