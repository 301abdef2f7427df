"""patch, label, annotate and scale, compared with kubectl on the same objects; bad input changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)


def _configmap(client: dynkube.Client, namespace: str, name: str, labels: dict[str, str] | None = None) -> None:
    client.resource("configmaps").create({"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": name, "labels": labels or {}},
                                          "data": {"a": "1"}}, namespace)


def _gizmo(client: dynkube.Client, namespace: str, name: str) -> None:
    client.resource("gizmos").create({"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo",
                                      "metadata": {"name": name}, "spec": {"size": "small", "replicas": 1}}, namespace)


def _deployment(client: dynkube.Client, namespace: str, name: str) -> None:
    labels = {"app": name}
    client.resource("deployments").create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}, namespace)


def _kubectl_fails(kubeconfig_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), *argv], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1, done
    return done


def _data(client: dynkube.Client, namespace: str, name: str) -> Any:
    return client.resource("configmaps").get(name, namespace)


def test_patch_lines_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                   client: dynkube.Client, namespace: str) -> None:
    _configmap(client, namespace, "mine")
    _configmap(client, namespace, "theirs")
    for patch in ('{"data":{"a":"2"}}', '{"data":{"a":"2"}}'):
        ours = cli("patch", "-n", namespace, "cm", "mine", "-p", patch)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl("patch", "-n", namespace, "cm", "theirs", "-p", patch).replace("theirs", "mine")
    assert ours.out == "configmap/mine patched (no change)\n"
    json_patch = '[{"op":"add","path":"/data/b","value":"3"}]'
    ours = cli("patch", "-n", namespace, "configmap/mine", "--type", "json", "-p", json_patch, "-o", "name")
    assert ours.out == kubectl("patch", "-n", namespace, "configmap/theirs", "--type", "json", "-p", json_patch,
                               "-o", "name").replace("theirs", "mine")
    assert _data(client, namespace, "mine").data == {"a": "2", "b": "3"}
    dry = cli("patch", "-n", namespace, "cm", "mine", "--type", "merge", "-p", '{"data":{"b":"9"}}', "--dry-run=server")
    assert dry.code == 0 and dry.out == "configmap/mine patched\n"
    assert _data(client, namespace, "mine").data["b"] == "3"


def test_patch_status_subresource_of_a_crd(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                                           gizmo_crds: None) -> None:
    _gizmo(client, namespace, "g1")
    ours = cli("patch", "-n", namespace, "gizmo/g1", "--type", "merge", "--subresource", "status",
               "-p", '{"status":{"replicas":4}}')
    assert ours.code == 0 and ours.out == "gizmo.fixtures.dynkube.io/g1 patched\n", ours.err
    assert client.resource("gizmos").get("g1", namespace).status.replicas == 4


@pytest.mark.parametrize("args", [["-p", "{bad"], ["--type", "json", "-p", '{"data":{}}'],
                                  ["--type", "merge", "-p", "[1]"], ["--subresource", "scale", "-p", "{}"]])
def test_bad_patch_is_one_line_and_changes_nothing(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                                                   args: list[str]) -> None:
    _configmap(client, namespace, "x")
    version = _data(client, namespace, "x").metadata.resourceVersion
    ours = cli("patch", "-n", namespace, "cm", "x", *args)
    assert ours.code == 1 and one_error_line(ours).startswith("error: ")
    assert _data(client, namespace, "x").metadata.resourceVersion == version


def test_label_lines_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], kubeconfig_path: Path,
                                   client: dynkube.Client, namespace: str) -> None:
    for name in ("mine", "theirs"):
        _configmap(client, namespace, name)
    steps = [["a=1"], ["a=1"], ["a=2", "--overwrite"], ["b=1", "a-"], ["a-"]]
    for step in steps:
        ours = cli("label", "-n", namespace, "cm", "mine", *step)
        theirs = kubectl("label", "-n", namespace, "cm", "theirs", *step).replace("theirs", "mine")
        assert ours.code == 0, ours.err
        if step != ["a-"]:  # kubectl says "labeled" after 'label "a" not found.'; dynkube "not labeled"
            assert ours.out == theirs, step
    assert ours.out == "configmap/mine not labeled\n" and ours.err == 'label "a" not found.\n'
    assert _data(client, namespace, "mine").metadata.labels == {"b": "1"}
    assert cli("label", "-n", namespace, "cm", "mine", "--list").out == \
        kubectl("label", "-n", namespace, "cm", "theirs", "--list")


def test_label_without_overwrite_is_refused_before_any_change(cli: Callable[..., Run], kubeconfig_path: Path,
                                                              client: dynkube.Client, namespace: str) -> None:
    _configmap(client, namespace, "c1", {"app": "web", "tier": "front"})
    _configmap(client, namespace, "c2", {"app": "web", "tier": "back"})
    ours = cli("label", "-n", namespace, "cm", "-l", "app=web", "tier=front", "new=1")
    assert ours.code == 1
    assert one_error_line(ours) == "error: configmap/c2: 'tier' already has a value (back), and --overwrite is false"
    assert "new" not in (_data(client, namespace, "c1").metadata.labels or {})
    theirs = _kubectl_fails(kubeconfig_path, "label", "-n", namespace, "cm", "c2", "tier=front")
    assert "already has a value (back), and --overwrite is false" in theirs.stderr
    ours = cli("label", "-n", namespace, "cm", "--all", "tier=mid", "--overwrite")
    assert {"configmap/c1 labeled", "configmap/c2 labeled"} <= set(ours.out.splitlines())  # and kube-root-ca.crt
    assert {_data(client, namespace, n).metadata.labels["tier"] for n in ("c1", "c2")} == {"mid"}


def test_annotate_lines_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], kubeconfig_path: Path,
                                      client: dynkube.Client, namespace: str, gizmo_crds: None) -> None:
    for name in ("mine", "theirs"):
        _gizmo(client, namespace, name)
    for step in (["note=1"], ["note=1"], ["note=2", "--overwrite"], ["note-"]):
        ours = cli("annotate", "-n", namespace, "gizmos", "mine", *step)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl("annotate", "-n", namespace, "gizmos", "theirs", *step).replace("theirs", "mine")
    cli("annotate", "-n", namespace, "gizmos", "mine", "note=1")
    ours = cli("annotate", "-n", namespace, "gizmos", "mine", "note=3")
    assert ours.code == 1 and "--overwrite is false" in one_error_line(ours)
    assert client.resource("gizmos").get("mine", namespace).metadata.annotations["note"] == "1"


def test_scale_matches_kubectl_for_a_deployment_and_a_crd(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                          client: dynkube.Client, namespace: str,
                                                          gizmo_crds: None) -> None:
    for name in ("mine", "theirs"):
        _deployment(client, namespace, name)
    ours = cli("scale", "-n", namespace, "deploy", "mine", "--replicas=3")
    assert ours.code == 0 and ours.out == \
        kubectl("scale", "-n", namespace, "deploy", "theirs", "--replicas=3").replace("theirs", "mine")
    assert client.resource("deployments").get("mine", namespace).spec.replicas == 3
    _gizmo(client, namespace, "g1")
    ours = cli("scale", "-n", namespace, "gizmo/g1", "--replicas=5", "--current-replicas=1")
    assert ours.code == 0 and ours.out == "gizmo.fixtures.dynkube.io/g1 scaled\n", ours.err
    assert client.resource("gizmos").get("g1", namespace).spec.replicas == 5


def test_scale_refusals_change_nothing(cli: Callable[..., Run], kubeconfig_path: Path, client: dynkube.Client,
                                       namespace: str) -> None:
    _configmap(client, namespace, "x")
    ours = cli("scale", "-n", namespace, "cm", "x", "--replicas=2")
    assert ours.code == 1
    assert one_error_line(ours) == "error: configmaps has no scale subresource: its objects cannot be scaled"
    _deployment(client, namespace, "web")
    ours = cli("scale", "-n", namespace, "deploy/web", "--current-replicas=5", "--replicas=3")
    theirs = _kubectl_fails(kubeconfig_path, "scale", "-n", namespace, "deploy/web", "--current-replicas=5",
                            "--replicas=3")
    assert ours.code == 1 and one_error_line(ours) == theirs.stderr.strip() == "error: Expected replicas to be 5, was 1"
    assert client.resource("deployments").get("web", namespace).spec.replicas == 1


def test_label_usage_errors_exit_2(cli: Callable[..., Run], namespace: str) -> None:
    ours = cli("label", "-n", namespace, "cm", "x", "=bad")
    assert ours.code == 2 and "KEY=VALUE or KEY-" in one_error_line(ours)
    assert cli("label", "-n", namespace, "cm", "x").code == 2
