"""Rollouts on the real cluster (kwok nodes run the pods): status, restart, history and undo, with
kubectl rollout on the same objects as the reference."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.rollout import rollout_history, rollout_restart, rollout_status, rollout_undo, wait_for_rollout

from .test_cli import Run, cli, kubectl  # noqa: F401  (fixtures)
from ..support.waiting import until

LABELS = {"app": "web"}


def workload(kind: str, image: str = "registry.example/app:1") -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": LABELS}, "template": {
        "metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "app", "image": image}]}}}
    if kind != "DaemonSet":
        spec["replicas"] = 2
    if kind == "StatefulSet":
        spec["serviceName"] = "web"
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web"}, "spec": spec}


def kubectl_result(kubeconfig_path: Path, *argv: str) -> tuple[int, str, str]:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr.strip()


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_status_follows_to_kubectls_final_line(cli: Callable[..., Run], kubectl: Callable[..., str],
                                               client: dynkube.Client, namespace: str, kind: str) -> None:
    client.resource("apps/v1", kind).create(workload(kind), namespace)
    ours = cli("rollout", "status", f"{kind.lower()}/web", "-n", namespace, "--timeout=120s")
    assert ours.code == 0, ours.err
    theirs = kubectl("rollout", "status", f"{kind.lower()}/web", "-n", namespace)
    assert ours.out.splitlines()[-1] == theirs.splitlines()[-1]
    assert "successfully rolled out" in theirs or "roll out complete" in theirs
    once = cli("rollout", "status", f"{kind.lower()}/web", "-n", namespace, "--watch=false")
    assert once.out == theirs.splitlines()[-1] + "\n"


def test_restart_history_and_undo_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                             client: dynkube.Client, namespace: str) -> None:
    deployments = client.resource("deployments")
    deployments.create(workload("Deployment"), namespace)
    assert cli("rollout", "status", "deploy/web", "-n", namespace, "--timeout=120s").code == 0
    restarted = cli("rollout", "restart", "deploy/web", "-n", namespace)
    assert restarted.out == "deployment.apps/web restarted\n"
    template = deployments.get("web", namespace).spec.template
    assert "kubectl.kubernetes.io/restartedAt" in template.metadata.annotations
    deploy = wait_for_rollout(client, deployments.get("web", namespace), timeout=120)
    assert deploy.done
    ours = cli("rollout", "history", "deploy/web", "-n", namespace)
    assert ours.out == kubectl("rollout", "history", "deploy/web", "-n", namespace)
    assert [r.number for r in rollout_history(client, deployments.get("web", namespace))] == [1, 2]
    undone = cli("rollout", "undo", "deploy/web", "-n", namespace)
    assert undone.out == "deployment.apps/web rolled back\n"
    assert "restartedAt" not in str(deployments.get("web", namespace).spec.template)
    wait_for_rollout(client, deployments.get("web", namespace), timeout=120)
    assert cli("rollout", "history", "deploy/web", "-n", namespace).out == \
        kubectl("rollout", "history", "deploy/web", "-n", namespace)


def test_undo_errors_are_kubectls(cli: Callable[..., Run], kubeconfig_path: Path, client: dynkube.Client,
                                  namespace: str) -> None:
    deploy = client.resource("deployments").create(workload("Deployment"), namespace)
    until(lambda: rollout_history(client, deploy), "the first revision")
    args = ("rollout", "undo", "deploy/web", "-n", namespace, "--to-revision=9")
    ours = cli(*args)
    code, _, err = kubectl_result(kubeconfig_path, *args)
    assert (ours.code, ours.err.strip()) == (code, err) == (1, "error: unable to find specified revision 9 in history")
    with pytest.raises(dynkube.RolloutError, match='no rollout history found for deployment "web"'):
        rollout_undo(client, deploy)
    assert rollout_undo(client, deploy, to_revision=1) is None  # already that template


def test_custom_resource_with_a_ready_condition(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                                                crd_factory: Callable[..., str]) -> None:
    kind = crd_factory()
    things = client.resource(kind)
    things.create({"metadata": {"name": "t1"}, "spec": {}}, namespace)
    ready = {"type": "Ready", "status": "False", "reason": "Starting", "message": "pulling"}
    thing = things.patch("t1", {"status": {"conditions": [ready]}}, namespace, subresource="status")
    assert rollout_status(thing) == dynkube.rollout.RolloutStatus(
        False, f'Waiting for {kind.lower()} "t1" rollout to finish: Ready=False (Starting: pulling)')
    timed_out = cli("rollout", "status", f"{kind}/t1", "-n", namespace, "--timeout=1s")
    assert (timed_out.code, timed_out.err.strip()) == (1, "error: timed out waiting for the condition")
    things.patch("t1", {"status": {"conditions": [{**ready, "status": "True"}]}}, namespace, subresource="status")
    ours = cli("rollout", "status", f"{kind}/t1", "-n", namespace, "--timeout=30s")
    assert (ours.code, ours.out) == (0, f'{kind.lower()} "t1" successfully rolled out\n')


def test_kinds_without_a_rollout_are_refused(cli: Callable[..., Run], client: dynkube.Client,
                                             namespace: str) -> None:
    svc = client.resource("services").create({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}},
                                             namespace)
    status = cli("rollout", "status", "svc/web", "-n", namespace)
    assert status.code == 1 and status.err.startswith("error: Service 'web' has no rollout status")
    restart = cli("rollout", "restart", "svc/web", "-n", namespace)
    assert restart.code == 1 and "has no spec.template" in restart.err
    history = cli("rollout", "history", "svc/web", "-n", namespace)
    assert history.code == 1 and "works on Deployments, not Service 'web'" in history.err
    with pytest.raises(dynkube.InvalidInput):
        rollout_restart(client, svc)
    usage = cli("rollout", "status", "deployments", "-n", namespace)
    assert usage.code == 2 and "names" in usage.err
