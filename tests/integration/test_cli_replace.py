"""``dynkube replace`` beside ``kubectl replace`` on the same server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)


def manifest(tmp_path: Path, name: str, value: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}-{value}.yaml"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data: {{k: {value}}}\n")
    return path


def test_replace_puts_the_manifest_like_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                client: dynkube.Client, namespace: str, tmp_path: Path) -> None:
    cms = client.resource("configmaps")
    for name in ("ours", "theirs"):
        cms.create({"metadata": {"name": name, "labels": {"gone": "yes"}}, "data": {"k": "old"}}, namespace)
    ours = cli("replace", "-n", namespace, "-f", str(manifest(tmp_path, "ours", "new")))
    assert (ours.code, ours.out) == (0, "configmap/ours replaced\n"), ours.err
    assert kubectl("replace", "-n", namespace, "-f", str(manifest(tmp_path, "theirs", "new"))) == \
        "configmap/theirs replaced\n"
    for name in ("ours", "theirs"):  # the whole object replaced: the label is gone
        replaced = cms.get(name, namespace)
        assert (replaced["data"], replaced.metadata.get("labels")) == ({"k": "new"}, None)


def test_a_stale_resource_version_is_a_conflict(cli: Callable[..., Run], client: dynkube.Client, namespace: str,
                                                tmp_path: Path) -> None:
    cms = client.resource("configmaps")
    stale = cms.create({"metadata": {"name": "cm"}, "data": {"k": "v"}}, namespace).metadata.resourceVersion
    cms.patch("cm", {"data": {"k": "changed"}}, namespace)
    path = manifest(tmp_path, "cm", "mine", f"  resourceVersion: '{stale}'\n")
    run = cli("replace", "-n", namespace, "-f", str(path))
    assert run.code == 1
    assert one_error_line(run).startswith("Error from server (Conflict): error when replacing ")
    assert cms.get("cm", namespace)["data"] == {"k": "changed"}


def test_force_deletes_and_creates_again(cli: Callable[..., Run], kubectl: Callable[..., str], client: dynkube.Client,
                                         namespace: str, tmp_path: Path) -> None:
    cms = client.resource("configmaps")
    old = cms.create({"metadata": {"name": "cm"}, "data": {"k": "v"}}, namespace).metadata.uid
    run = cli("replace", "--force", "-n", namespace, "-f", str(manifest(tmp_path, "cm", "new")))
    assert (run.code, run.out) == (0, 'configmap "cm" deleted\nconfigmap/cm replaced\n'), run.err
    again = cms.get("cm", namespace)
    assert again.metadata.uid != old and again["data"] == {"k": "new"}
    assert kubectl("replace", "--force", "-n", namespace, "-f", str(manifest(tmp_path, "cm", "newer"))) == run.out


def test_replacing_what_does_not_exist_fails_like_kubectl(cli: Callable[..., Run], namespace: str,
                                                          tmp_path: Path) -> None:
    path = manifest(tmp_path, "absent", "v")
    run = cli("replace", "-n", namespace, "-f", str(path))
    assert run.code == 1
    assert one_error_line(run) == (f"Error from server (NotFound): error when replacing {path} document 1: "
                                   'configmaps "absent" not found')
