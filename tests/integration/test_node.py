"""The envtest nodes (kwok, see docs/envtest.md): workloads get scheduled and run, and the API server
reaches the nodes' kubelet API for logs, exec and port-forward. kubectl is the reference client
for the paths dynkube has no verb for yet."""

from __future__ import annotations

import contextlib
import re
import selectors
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import dynkube

from .test_cli import kubectl  # noqa: F401  (fixture)

KWOK_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# What every container's log on envtest's nodes starts with (kubelet-streaming's seed lines).
CONTAINER_LOG = "envtest: container started\nenvtest: hello from a kwok node\nenvtest: last line\n"
ECHO_PORT = 7  # a port-forward to this pod port of an envtest node is an echo
LABELS = {"app": "node-test"}
CONTAINERS = [{"name": "c", "image": "registry.example/app:1"}]
TEMPLATE = {"metadata": {"labels": LABELS}, "spec": {"containers": CONTAINERS}}


@pytest.fixture(scope="module")
def kwok_nodes(client: dynkube.Client) -> list[str]:
    """The names of the nodes kwok manages (envtest starts two)."""
    key, value = KWOK_ANNOTATION
    names = [n.metadata.name for n in client.resource("nodes").list()
             if (n.metadata.get("annotations") or {}).get(key) == value]
    if not names:
        pytest.fail("the test cluster has no kwok nodes; these tests need envtest's (scripts/envtest up)",
                    pytrace=False)
    return names




def _is_running_and_ready(pod: dynkube.ApiObject) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])


@pytest.fixture
def running_pod(client: dynkube.Client, namespace: str, kwok_nodes: list[str]) -> str:
    """A pod scheduled to a kwok node, Running and Ready."""
    pods = client.resource("pods")
    pods.create({"metadata": {"name": "p", "labels": LABELS}, "spec": {"containers": CONTAINERS}}, namespace)
    pod = dynkube.wait_for(pods, "p", namespace, condition=_is_running_and_ready, timeout=60)
    assert pod is not None and pod.spec.nodeName in kwok_nodes
    return "p"


def test_deployment_pods_are_scheduled_and_become_ready(client: dynkube.Client, namespace: str,
                                                        kwok_nodes: list[str]) -> None:
    deployments = client.resource("deployments")
    deployments.create({"metadata": {"name": "web"}, "spec": {
        "replicas": 3, "selector": {"matchLabels": LABELS}, "template": TEMPLATE}}, namespace)
    dynkube.wait_for(deployments, "web", namespace, condition=lambda d: d.get("status", {}).get("readyReplicas") == 3,
                     timeout=90)
    pods = list(client.resource("pods").list(namespace, label_selector=LABELS))
    assert len(pods) == 3
    for pod in pods:
        assert pod.spec.nodeName in kwok_nodes
        assert _is_running_and_ready(pod)
        assert pod.status.podIP and pod.status.hostIP


def test_daemonset_runs_one_pod_per_node(client: dynkube.Client, namespace: str, kwok_nodes: list[str]) -> None:
    daemonsets = client.resource("daemonsets")
    daemonsets.create({"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": LABELS},
                                                               "template": TEMPLATE}}, namespace)
    dynkube.wait_for(daemonsets, "agent", namespace, timeout=90,
                     condition=lambda d: d.get("status", {}).get("numberReady") == len(kwok_nodes))
    nodes = sorted(p.spec.nodeName for p in client.resource("pods").list(namespace, label_selector=LABELS))
    assert nodes == sorted(kwok_nodes)


def test_job_completes(client: dynkube.Client, namespace: str) -> None:
    jobs = client.resource("jobs")
    jobs.create({"metadata": {"name": "once"}, "spec": {"template": {
        "spec": {"restartPolicy": "Never", "containers": CONTAINERS}}}}, namespace)
    job = dynkube.wait_for(jobs, "once", namespace, condition="Complete", timeout=90)
    assert job is not None and job.status.succeeded == 1


def test_deleting_a_running_pod_finishes(client: dynkube.Client, namespace: str, running_pod: str) -> None:
    pods = client.resource("pods")
    deleting = pods.delete(running_pod, namespace)  # the default grace period: the node finishes it
    assert deleting.metadata.get("deletionTimestamp")
    assert dynkube.wait_for(pods, running_pod, namespace, condition="delete", timeout=60) is None


def test_pod_logs_come_from_the_node(kubectl: Callable[..., str], namespace: str, running_pod: str) -> None:
    assert kubectl("get", "--raw", f"/api/v1/namespaces/{namespace}/pods/{running_pod}/log") == CONTAINER_LOG
    assert kubectl("logs", "-n", namespace, running_pod, "--tail=1") == CONTAINER_LOG.splitlines(keepends=True)[-1]


def test_exec_runs_the_command(kubectl: Callable[..., str], namespace: str, running_pod: str) -> None:
    assert kubectl("exec", "-n", namespace, running_pod, "--", "echo", "hello from exec") == "hello from exec\n"


def test_port_forward_to_the_echo_port(kubeconfig_path: Path, namespace: str, running_pod: str) -> None:
    with port_forward(kubeconfig_path, namespace, running_pod, ECHO_PORT) as local_port:
        with socket.create_connection(("127.0.0.1", local_port), timeout=30) as conn:
            message = b"through the node and back\n"
            conn.sendall(message)
            received = b""
            while len(received) < len(message):
                chunk = conn.recv(len(message) - len(received))
                assert chunk, f"the connection closed after {received!r}"
                received += chunk
    assert received == message


@contextlib.contextmanager
def port_forward(kubeconfig: Path, namespace: str, pod: str, port: int) -> Iterator[int]:
    """Run kubectl port-forward until it reports its local port (bounded); yield that port, then stop it."""
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is needed on PATH as the reference client of the node tests", pytrace=False)
    proc = subprocess.Popen(["kubectl", "--kubeconfig", str(kubeconfig), "port-forward", "-n", namespace,
                             f"pod/{pod}", f":{port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        pattern = re.compile(rf"Forwarding from 127\.0\.0\.1:(\d+) -> {port}")
        seen = ""
        deadline = time.monotonic() + 30
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while not (match := pattern.search(seen)):
                remaining = deadline - time.monotonic()
                assert remaining > 0 and proc.poll() is None, f"kubectl port-forward did not start: {seen!r}"
                if selector.select(remaining):
                    seen += proc.stdout.readline()
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
