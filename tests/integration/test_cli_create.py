"""``dynkube create`` beside ``kubectl create`` on the same server: the same objects made, the same lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dynkube

from .test_cli import Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)


def test_create_f_posts_each_object_and_reports_existing_ones(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                             namespace: str, tmp_path: Path, gizmo_crds: None,
                                                             client: dynkube.Client) -> None:
    manifest = tmp_path / "two.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
                        "apiVersion: fixtures.dynkube.io/v1\nkind: Gizmo\nmetadata: {name: g}\nspec: {size: small}\n")
    made = cli("create", "-n", namespace, "-f", str(manifest))
    assert made.code == 0, made.err
    assert made.out.splitlines() == ["configmap/one created", "gizmo.fixtures.dynkube.io/g created"]
    client.resource("configmaps").delete("one", namespace)
    again = cli("create", "-n", namespace, "-f", str(manifest))
    assert again.code == 1
    assert again.out == "configmap/one created\n"  # the other object is still created
    assert one_error_line(again) == (f'Error from server (AlreadyExists): error when creating {manifest} document 2: '
                                     'gizmos.fixtures.dynkube.io "g" already exists')
    client.resource("configmaps").delete("one", namespace)
    client.resource("gizmos").delete("g", namespace)
    assert kubectl("create", "-n", namespace, "-f", str(manifest)) == made.out


def test_create_f_output_and_dry_run(cli: Callable[..., Run], namespace: str, tmp_path: Path,
                                     client: dynkube.Client) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\ndata: {k: v}\n")
    server = cli("create", "-n", namespace, "-f", str(manifest), "--dry-run=server")
    assert server.out == "configmap/dry created (server dry run)\n", server.err
    local = cli("create", "-n", namespace, "-f", str(manifest), "--dry-run=client", "-o", "name")
    assert local.out == "configmap/dry\n"
    assert not list(client.resource("configmaps").list(namespace, field_selector="metadata.name=dry"))
    shown = cli("create", "-n", namespace, "-f", str(manifest), "-o", "yaml")
    assert shown.code == 0 and "uid: " in shown.out and "  k: v\n" in shown.out
