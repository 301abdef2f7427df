"""diff_manifests and ``dynkube diff`` against kubectl diff --server-side on the same objects."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import dynkube
from dynkube.diff import diff_manifests

from .test_cli import Run, cli  # noqa: F401  (fixtures)

NOISE = ("creationTimestamp:", "uid:", "resourceVersion:", "generation:")


def kubectl_diff(kubeconfig_path: Path, *argv: str) -> tuple[int, str, str]:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig_path), "diff", "--server-side", *argv],
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def changes(text: str) -> list[str]:
    """The +/- lines of a diff, without file headers and the server-owned fields kubectl keeps."""
    return [line for line in text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
            and not any(noise in line for noise in NOISE)]


def files(text: str) -> list[str]:
    return [line.split("/")[-1] for line in text.splitlines() if line.startswith("diff -u -N")]


@pytest.fixture
def stack(client: dynkube.Client, namespace: str, tmp_path: Path) -> Path:
    """A configmap, a secret and a gizmo applied by the field manager "kubectl"; then a manifest that
    changes the first two, leaves the gizmo alone and adds a new configmap."""
    dynkube.apply_manifests(client, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": namespace},
         "data": {"a": "1", "b": "2"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": namespace},
         "stringData": {"password": "hunter2", "user": "admin"}},
        {"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "g1", "namespace": namespace},
         "spec": {"size": "small", "replicas": 1}}], field_manager="kubectl")
    path = tmp_path / "stack.yaml"
    path.write_text(f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: {namespace}}}
data: {{a: "1", b: "3"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sec, namespace: {namespace}}}
stringData: {{password: hunter3, user: admin}}
---
apiVersion: fixtures.dynkube.io/v1
kind: Gizmo
metadata: {{name: g1, namespace: {namespace}}}
spec: {{size: small, replicas: 1}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: new, namespace: {namespace}}}
data: {{x: "y"}}
""")
    return path


def test_diff_matches_kubectl_diff(cli: Callable[..., Run], kubeconfig_path: Path, stack: Path, namespace: str,
                                   gizmo_crds: None) -> None:
    ours = cli("diff", "-f", str(stack), "--field-manager=kubectl")
    code, theirs, err = kubectl_diff(kubeconfig_path, "-f", str(stack))
    assert (ours.code, code) == (1, 1), (ours.err, err)
    assert files(ours.out) == files(theirs) == [f"v1.ConfigMap.{namespace}.cfg", f"v1.ConfigMap.{namespace}.new",
                                                f"v1.Secret.{namespace}.sec"]
    assert changes(ours.out) == changes(theirs)
    assert "hunter" not in ours.out and "aHVudGVy" not in ours.out  # nor their base64


def test_library_diffs_are_structured(client: dynkube.Client, stack: Path, namespace: str, gizmo_crds: None) -> None:
    diffs = {d.name: d for d in diff_manifests(client, stack, field_manager="kubectl")}
    cfg, new = diffs[f"v1.ConfigMap.{namespace}.cfg"], diffs[f"v1.ConfigMap.{namespace}.new"]
    assert cfg.changed and (cfg.live or {})["data"] == {"a": "1", "b": "2"} and (cfg.merged or {})["data"]["b"] == "3"
    assert new.changed and new.live is None and "managedFields" not in (new.merged or {})["metadata"]
    gizmo = diffs[f"fixtures.dynkube.io.v1.Gizmo.{namespace}.g1"]
    assert not gizmo.changed and gizmo.unified() == ""
    secret = diffs[f"v1.Secret.{namespace}.sec"]
    assert (secret.live or {})["data"] == {"password": "*** (before)", "user": "***"}
    assert (secret.merged or {})["data"] == {"password": "*** (after)", "user": "***"}
    assert client.resource("configmaps").get("cfg", namespace).data.b == "2"  # nothing was changed
    with pytest.raises(dynkube.NotFound):
        client.resource("configmaps").get("new", namespace)


def test_no_difference_exits_0(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                               tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: same, namespace: {namespace}}}\n"
                    "data: {a: '1'}\n")
    dynkube.apply_manifests(client, path)
    ours = cli("diff", "-f", str(path))
    assert (ours.code, ours.out, ours.err) == (0, "", "")


def test_conflicts_and_bad_documents_exit_2(cli: Callable[..., Run], kubeconfig_path: Path, stack: Path,
                                            namespace: str, tmp_path: Path, gizmo_crds: None) -> None:
    ours = cli("diff", "-f", str(stack))  # another field manager than the one that applied them
    assert ours.code == 2 and 'Error from server (Conflict): Apply failed with 1 conflict: conflict with "kubectl"' \
        in ours.err
    assert f"v1.ConfigMap.{namespace}.new" in ours.out  # the others are still diffed
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Nope\nmetadata: {name: x}\n")
    broken = cli("diff", "-f", str(bad))
    assert broken.code == 2 and "Nope" in broken.err and "bad.yaml document 1" in broken.err
    missing = cli("diff", "-f", str(tmp_path / "absent.yaml"))
    assert missing.code == 2 and missing.err.strip().endswith("does not exist")
    assert kubectl_diff(kubeconfig_path, "-f", str(tmp_path / "absent.yaml"))[0] > 1
    usage = cli("diff")
    assert usage.code == 2 and "-f" in usage.err
