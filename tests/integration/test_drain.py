"""cordon, uncordon and drain on a kwok node of the shared cluster. Only this test's pods are
drained (``pod_selector`` with a label unique to the test), and the node is uncordoned afterwards,
so other tests keep both nodes."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.drain import cordon, drain, uncordon

from .test_cli import Run, cli  # noqa: F401  (fixtures)
from ..support.waiting import until

NODE = "envtest-node-2"
CONTAINERS = [{"name": "c", "image": "registry.example/app:1"}]


@pytest.fixture
def node(client: dynkube.Client) -> Iterator[str]:
    """envtest's second kwok node, uncordoned again after the test."""
    try:
        client.resource("nodes").get(NODE)
    except dynkube.NotFound:
        pytest.fail(f"the test cluster has no node {NODE}; these tests need envtest's kwok nodes", pytrace=False)
    yield NODE
    uncordon(client, NODE)


@pytest.fixture
def label() -> dict[str, str]:
    return {"drain-test": uuid.uuid4().hex[:10]}


def selector(label: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in label.items())


def pods_on(client: dynkube.Client, namespace: str, label: dict[str, str], node: str) -> list[dynkube.ApiObject]:
    return [p for p in client.resource("pods").list(namespace, label_selector=label)
            if p.spec.get("nodeName") == node and not p.metadata.get("deletionTimestamp")]


def running(pod: dynkube.ApiObject) -> bool:
    return pod.get("status", {}).get("phase") == "Running"


def pinned_deployment(client: dynkube.Client, namespace: str, label: dict[str, str], node: str, *,
                      replicas: int = 2, volumes: list[dict[str, Any]] | None = None) -> list[dynkube.ApiObject]:
    """A Deployment whose pods run on ``node``; returns them once Running."""
    spec: dict[str, Any] = {"nodeSelector": {"kubernetes.io/hostname": node}, "containers": CONTAINERS}
    if volumes:
        spec["volumes"] = volumes
    client.resource("deployments").create({"metadata": {"name": f"d{uuid.uuid4().hex[:6]}"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": label},
        "template": {"metadata": {"labels": label}, "spec": spec}}}, namespace)
    return until(lambda: (lambda ps: ps if len(ps) == replicas and all(map(running, ps)) else None)(
        pods_on(client, namespace, label, node)), "the deployment's pods to run")


def bare_pod(client: dynkube.Client, namespace: str, label: dict[str, str], node: str) -> str:
    pods = client.resource("pods")
    pods.create({"metadata": {"name": "lone", "labels": label}, "spec": {"nodeName": node, "containers": CONTAINERS}},
                namespace)
    until(lambda: running(pods.get("lone", namespace)), "the bare pod to run")
    return "lone"


def test_cordon_and_uncordon_lines_are_kubectls(cli: Callable[..., Run], kubeconfig_path: Path, node: str) -> None:
    def kubectl(*argv: str) -> str:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True,
                              text=True, timeout=60, check=True).stdout

    ours = [cli("cordon", node).out, cli("cordon", node).out]
    assert client_unschedulable(cli, node)
    ours += [cli("uncordon", node).out, cli("uncordon", node).out]
    theirs = [kubectl("cordon", node), kubectl("cordon", node), kubectl("uncordon", node), kubectl("uncordon", node)]
    assert ours == theirs == [f"node/{node} cordoned\n", f"node/{node} already cordoned\n",
                              f"node/{node} uncordoned\n", f"node/{node} already uncordoned\n"]


def client_unschedulable(cli: Callable[..., Run], node: str) -> bool:
    return cli("get", "node", node, "-o", "jsonpath={.spec.unschedulable}").out == "true"


def test_drain_evicts_and_honours_a_disruption_budget(client: dynkube.Client, namespace: str, node: str,
                                                      label: dict[str, str]) -> None:
    pods = pinned_deployment(client, namespace, label, node)
    budgets = client.resource("poddisruptionbudgets")
    budgets.create({"metadata": {"name": "pdb"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": label}}},
                   namespace)
    until(lambda: budgets.get("pdb", namespace).get("status", {}).get("currentHealthy") == 2, "the budget's status")
    lines: list[str] = []
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(drain(client, node, pod_selector=selector(label), timeout=120, retry_interval=0.2,
                                 report=lines.append))
        except Exception as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    until(lambda: any("disruption budget" in line for line in lines), "an eviction the budget refuses")
    assert pods_on(client, namespace, label, node), "nothing may be evicted while the budget forbids it"
    budgets.patch("pdb", {"spec": {"minAvailable": 0}}, namespace)  # now the drain may go on
    worker.join(180)
    (result,) = outcome
    assert isinstance(result, dynkube.drain.DrainResult), result
    assert sorted(result.evicted) == sorted(f"{namespace}/{p.metadata.name}" for p in pods)
    assert not pods_on(client, namespace, label, node)
    assert client.resource("nodes").get(node).spec.unschedulable is True
    assert lines[0] == f"node/{node} cordoned" and f"pod/{pods[0].metadata.name} evicted" in lines


def test_a_budget_that_never_allows_it_times_out(client: dynkube.Client, namespace: str, node: str,
                                                 label: dict[str, str]) -> None:
    pinned_deployment(client, namespace, label, node, replicas=1)
    budgets = client.resource("poddisruptionbudgets")
    budgets.create({"metadata": {"name": "pdb"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": label}}},
                   namespace)
    until(lambda: budgets.get("pdb", namespace).get("status", {}).get("currentHealthy") == 1, "the budget's status")
    with pytest.raises(dynkube.WaitTimeout, match="disruption budget"):
        drain(client, node, pod_selector=selector(label), timeout=3, retry_interval=0.2)
    assert len(pods_on(client, namespace, label, node)) == 1


def test_unmanaged_pods_are_refused_without_force(client: dynkube.Client, namespace: str, node: str,
                                                  label: dict[str, str]) -> None:
    managed = pinned_deployment(client, namespace, label, node, replicas=1)
    bare_pod(client, namespace, label, node)
    with pytest.raises(dynkube.DrainError, match="declare no controller .*use --force.*lone") as caught:
        drain(client, node, pod_selector=selector(label), timeout=60)
    assert caught.value.pods == [f"{namespace}/lone"] and "now cordoned" in str(caught.value)
    assert len(pods_on(client, namespace, label, node)) == 2  # nothing evicted
    result = drain(client, node, pod_selector=selector(label), force=True, timeout=60)
    assert sorted(result.evicted) == sorted([f"{namespace}/lone", f"{namespace}/{managed[0].metadata.name}"])


def test_daemonset_pods_are_refused_or_skipped(client: dynkube.Client, namespace: str, node: str,
                                               label: dict[str, str]) -> None:
    client.resource("daemonsets").create({"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": label},
        "template": {"metadata": {"labels": label}, "spec": {"containers": CONTAINERS}}}}, namespace)
    (pod,) = until(lambda: [p for p in pods_on(client, namespace, label, node) if running(p)], "the agent on the node")
    with pytest.raises(dynkube.DrainError, match="DaemonSet-managed Pods \\(use --ignore-daemonsets"):
        drain(client, node, pod_selector=selector(label), timeout=60)
    lines: list[str] = []
    result = drain(client, node, pod_selector=selector(label), ignore_daemonsets=True, timeout=60,
                   report=lines.append)
    name = f"{namespace}/{pod.metadata.name}"
    assert result.evicted == [] and result.skipped == [(name, "ignoring DaemonSet-managed Pods")]
    assert f"Warning: ignoring DaemonSet-managed Pods: {name}" in lines


def test_emptydir_pods_need_delete_emptydir_data(client: dynkube.Client, namespace: str, node: str,
                                                 label: dict[str, str]) -> None:
    (pod,) = pinned_deployment(client, namespace, label, node, replicas=1,
                               volumes=[{"name": "scratch", "emptyDir": {}}])
    with pytest.raises(dynkube.DrainError, match="local storage \\(use --delete-emptydir-data"):
        drain(client, node, pod_selector=selector(label), timeout=60)
    result = drain(client, node, pod_selector=selector(label), delete_emptydir_data=True, timeout=60)
    assert result.evicted == [f"{namespace}/{pod.metadata.name}"]


def test_cli_drain(cli: Callable[..., Run], client: dynkube.Client, namespace: str, node: str,
                   label: dict[str, str]) -> None:
    (pod,) = pinned_deployment(client, namespace, label, node, replicas=1)
    ours = cli("drain", node, f"--pod-selector={selector(label)}", "--timeout=60s")
    assert ours.code == 0, ours.err
    assert ours.out.splitlines() == [f"node/{node} cordoned", f"evicting pod {namespace}/{pod.metadata.name}",
                                     f"pod/{pod.metadata.name} evicted", f"node/{node} drained"]
    bare_pod(client, namespace, label, node)
    refused = cli("drain", node, f"--pod-selector={selector(label)}")
    assert refused.code == 1 and refused.err.count("\n") == 1 and f"{namespace}/lone" in refused.err
    missing = cli("drain", "no-such-node")
    assert (missing.code, missing.err.strip()) == (1, 'Error from server (NotFound): nodes "no-such-node" not found')
    usage = cli("cordon", "pod/x")
    assert usage.code == 2


def test_bad_arguments_are_refused_before_any_request(client: dynkube.Client) -> None:
    for bad in ({"timeout": -1}, {"grace_period_seconds": "soon"}, {"retry_interval": 0}):
        with pytest.raises(dynkube.InvalidInput):
            drain(client, NODE, **bad)
    with pytest.raises(dynkube.InvalidInput, match="node name"):
        cordon(client, "")
