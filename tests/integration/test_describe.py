"""describe for built-ins (compared with kubectl describe on the same objects) and for a CRD."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

import dynkube
from dynkube.descriptions import Table, describe

from .test_cli import Run, cli, kubectl  # noqa: F401  (fixtures)
from ..support.waiting import until

LABELS = {"app": "web"}
DEPLOYMENT = {"metadata": {"name": "web", "labels": LABELS, "annotations": {"note": "hello"}}, "spec": {
    "replicas": 2, "selector": {"matchLabels": LABELS},
    "template": {"metadata": {"labels": LABELS},
                 "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}}


def sections(text: str) -> dict[str, list[str]]:
    """Top-level ``Key: value`` of a describe text, each with its value's lines (whitespace-normalised)."""
    out: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z][\w -]*):(?:\s+(.*))?$", line)
        if match:
            key = match.group(1)
            out[key] = [match.group(2).strip()] if match.group(2) else []
        elif key and line.strip():
            out[key].append(" ".join(line.split()))
    return out


def table_rows(lines: list[str], columns: int) -> list[list[str]]:
    """The rows of a table block (without header and dashes), the first ``columns`` columns."""
    body = lines[2:] if len(lines) > 1 and lines[1].startswith("-") else lines[1:]
    return [re.split(r"\s+", row)[:columns] for row in body]


def same_sections(ours: str, theirs: str, keys: list[str]) -> None:
    mine, reference = sections(ours), sections(theirs)
    for key in keys:
        assert mine.get(key) == reference.get(key), key


def ready_deployment(client: dynkube.Client, namespace: str) -> dynkube.ApiObject:
    deployments = client.resource("deployments")
    deployments.create(DEPLOYMENT, namespace)

    def available() -> dynkube.ApiObject | None:
        d = deployments.get("web", namespace)
        return d if (d.get("status") or {}).get("availableReplicas") == 2 else None

    deploy = until(available, "the deployment's two pods to be available")
    until(lambda: dynkube.events_for(client, deploy), "the deployment's event")
    return deploy


def test_deployment_sections_are_kubectls(client: dynkube.Client, kubectl: Callable[..., str],
                                          namespace: str) -> None:
    deploy = ready_deployment(client, namespace)
    theirs = kubectl("describe", "deployment", "web", "-n", namespace)
    ours = describe(client, client.resource("deployments").get("web", namespace)).render()
    same_sections(ours, theirs, ["Name", "Namespace", "CreationTimestamp", "Labels", "Annotations", "Selector",
                                 "Replicas", "StrategyType", "MinReadySeconds", "RollingUpdateStrategy",
                                 "Conditions", "OldReplicaSets", "NewReplicaSet"])
    assert table_rows(sections(ours)["Events"], 2) == table_rows(sections(theirs)["Events"], 2) == [
        ["Normal", "ScalingReplicaSet"]]
    assert deploy.metadata.name == "web"


def test_pod_sections_are_kubectls(client: dynkube.Client, kubectl: Callable[..., str], namespace: str) -> None:
    ready_deployment(client, namespace)
    pod = next(iter(client.resource("pods").list(namespace, label_selector=LABELS)))
    until(lambda: dynkube.events_for(client, pod), "the pod's Scheduled event")
    theirs = kubectl("describe", "pod", pod.metadata.name, "-n", namespace)
    ours = describe(client, client.resource("pods").get(pod.metadata.name, namespace)).render()
    same_sections(ours, theirs, ["Name", "Namespace", "Priority", "Node", "Start Time", "Labels", "Annotations",
                                 "Status", "IP", "Controlled By", "Conditions", "QoS Class", "Node-Selectors"])
    assert table_rows(sections(ours)["Events"], 2) == table_rows(sections(theirs)["Events"], 2)


def test_service_namespace_and_node_sections_are_kubectls(client: dynkube.Client, kubectl: Callable[..., str],
                                                          namespace: str) -> None:
    client.resource("services").create({"metadata": {"name": "web"}, "spec": {
        "selector": LABELS, "ports": [{"port": 80, "protocol": "TCP"}]}}, namespace)
    ours = describe(client, client.resource("services").get("web", namespace)).render()
    same_sections(ours, kubectl("describe", "service", "web", "-n", namespace),
                  ["Name", "Namespace", "Labels", "Annotations", "Selector", "Type", "IP Family Policy",
                   "IP Families", "IP", "IPs", "Port", "TargetPort", "Session Affinity"])
    ours = describe(client, client.resource("namespaces").get(namespace)).render()
    theirs = kubectl("describe", "namespace", namespace)  # then kubectl's quota and limit-range lines
    same_sections(ours, theirs, ["Name", "Labels", "Annotations"])
    assert sections(ours)["Status"] == sections(theirs)["Status"][:1] == ["Active"]
    node = next(iter(client.resource("nodes").list()))
    ours = describe(client, node).render()
    theirs = kubectl("describe", "node", node.metadata.name)
    same_sections(ours, theirs, ["Name", "Roles", "Labels", "Annotations", "CreationTimestamp", "Taints",
                                 "Unschedulable", "Addresses", "Capacity", "Allocatable"])
    assert table_rows(sections(ours)["Conditions"], 2) == table_rows(sections(theirs)["Conditions"], 2)


def test_custom_resource_conditions_are_a_table_with_ages(client: dynkube.Client, namespace: str,
                                                         crd_factory: Callable[..., str]) -> None:
    kind = crd_factory()
    things = client.resource(kind)
    things.create({"metadata": {"name": "t1", "labels": {"tier": "db"}}, "spec": {"size": 3, "mode": "fast"}},
                  namespace)
    status = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "Waiting", "message": "waiting for the disk",
         "lastTransitionTime": "2020-01-01T00:00:00Z"}]}
    thing = things.patch("t1", {"status": status}, namespace, subresource="status")
    owner = client.resource("configmaps").create({"metadata": {"name": "owner"}}, namespace)
    client.resource("v1", "Event").create({
        "metadata": {"name": "t1.e"}, "type": "Warning", "reason": "DiskSlow", "message": "the disk is slow",
        "involvedObject": {"apiVersion": thing.apiVersion, "kind": kind, "name": "t1", "namespace": namespace,
                           "uid": thing.metadata.uid}}, namespace)
    thing = things.patch("t1", {"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]}}, namespace)
    description = describe(client, thing)
    conditions = description.field("Conditions")
    assert conditions is not None and isinstance(conditions.value, Table)
    assert conditions.value.headers == ("Type", "Status", "Reason", "Age", "Message")
    (row,) = conditions.value.rows
    assert row[:3] == ("Ready", "False", "Waiting") and re.fullmatch(r"\d+d", row[3]) and row[4].startswith("waiting")
    text = description.render()
    parts = sections(text)
    assert parts["Kind"] == [f"{kind} ({thing.apiVersion})"] and parts["Labels"] == ["tier=db"]
    assert sorted(parts["Spec"]) == ["mode: fast", "size: 3"] and parts["Status"] == ["phase: Running"]
    assert table_rows(parts["Owner References"], 2) == [["ConfigMap", "owner"]]
    assert table_rows(parts["Events"], 2) == [["Warning", "DiskSlow"]]


def test_printer_columns_of_a_crd_are_shown(client: dynkube.Client, namespace: str, gizmo_crds: None) -> None:
    gizmo = client.resource("gizmos").create({"metadata": {"name": "g1"}, "spec": {"size": "large", "replicas": 4}},
                                             namespace)
    parts = sections(describe(client, gizmo).render())
    assert parts["Columns"] == ["Size: large", "Replicas: 4"]


def test_describe_refuses_what_is_not_an_object(client: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="read from the server"):
        describe(client, {"metadata": {"name": "x"}})


def test_cli_describe_by_selector_and_by_name(cli: Callable[..., Run], kubectl: Callable[..., str],
                                             client: dynkube.Client, namespace: str, gizmo_crds: None) -> None:
    ready_deployment(client, namespace)
    ours = cli("describe", "pods", "-l", "app=web", "-n", namespace)
    theirs = kubectl("describe", "pods", "-l", "app=web", "-n", namespace)
    names = lambda text: re.findall(r"^Name:\s+(\S+)", text, re.M)  # noqa: E731
    assert ours.code == 0 and names(ours.out) == names(theirs) and len(names(theirs)) == 2
    client.resource("gizmos").create({"metadata": {"name": "g1"}, "spec": {"size": "small"}}, namespace)
    one = cli("describe", "gizmo/g1", "-n", namespace)
    assert one.code == 0 and sections(one.out)["Name"] == ["g1"]
    missing = cli("describe", "gizmo", "nope", "-n", namespace)
    assert (missing.code, missing.err.strip()) == (
        1, 'Error from server (NotFound): gizmos.fixtures.dynkube.io "nope" not found')
    unknown = cli("describe", "nosuchkind", "x", "-n", namespace)
    assert unknown.code == 1 and "nosuchkind" in unknown.err and unknown.err.strip().splitlines()[-1].startswith(
        "error: the server doesn't have a resource type 'nosuchkind'")  # after any discovery warnings


def test_a_secret_is_described_without_its_values(client: dynkube.Client, namespace: str) -> None:
    secret = client.resource("secrets").create({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}},
                                               namespace)
    text = describe(client, secret).render()
    assert "hunter2" not in text and "aHVudGVyMg" not in text
    assert sections(text)["Columns"] == ["Type: Opaque", "Data: 1"]
