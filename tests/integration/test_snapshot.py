"""Snapshots taken from the real server and read back with no server: discovery, explain and
validation answer as the live cluster does; what a snapshot cannot do fails with SnapshotError."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dynkube
from dynkube.snapshot import SnapshotError, open_snapshot, save_snapshot

from .test_cli import cli  # noqa: F401  (fixture)
from .test_export import resolved


def stable(group: str) -> bool:
    """Groups no other test adds or removes while this one runs (CRDs of other tests come and go)."""
    return group in ("", "fixtures.dynkube.io") or group.endswith(".k8s.io") or "." not in group


def described(resources: list[dynkube.Resource]) -> set[tuple[Any, ...]]:
    return {(r.group, r.version, r.plural, r.kind, r.namespaced, r.verbs, r.short_names, r.preferred)
            for r in resources if stable(r.group)}


@pytest.fixture(scope="module")
def snapshot_file(client: dynkube.Client, gizmo_crds: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snapshot") / "cluster.snap"
    saved = save_snapshot(client, path)
    assert saved["schemas"] > 10 and saved["bytes"] == path.stat().st_size
    return path


@pytest.fixture
def offline(snapshot_file: Path) -> dynkube.Client:
    return dynkube.open_snapshot(snapshot_file)


def test_discovery_offline_is_the_servers(client: dynkube.Client, offline: dynkube.Client) -> None:
    assert described(offline.api_map().resources) == described(client.api_map().resources)
    assert described(offline.api_resources()) == described(client.api_resources())
    assert offline.resource("gz").resource == client.resource("gz").resource
    assert offline.resource("deploy").resource == client.resource("deploy").resource
    assert offline.version()["gitVersion"] == client.version()["gitVersion"]


@pytest.mark.parametrize("path", ["gizmos.spec.size", "deployments.spec.strategy", "pods.spec.containers.ports"])
def test_explain_offline_is_the_servers(client: dynkube.Client, offline: dynkube.Client, path: str) -> None:
    assert offline.explain(path).render() == client.explain(path).render()
    assert offline.explain(path, recursive=True).render() == client.explain(path, recursive=True).render()


def manifests() -> list[dict[str, Any]]:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    gizmo = {"apiVersion": "fixtures.dynkube.io/v1", "kind": "Gizmo", "metadata": {"name": "g"},
             "spec": {"size": "small"}}
    return [
        deployment,
        {**deployment, "spec": {**deployment["spec"], "replicas": "two"}},
        {**deployment, "spec": {**deployment["spec"], "paused": True, "surprise": 1}},
        gizmo,
        {**gizmo, "spec": {"size": "huge"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": 1}},
    ]


def test_validation_offline_is_the_servers_and_agrees_with_its_dry_run(
        client: dynkube.Client, offline: dynkube.Client, namespace: str) -> None:
    for body in manifests():
        offline_issues = [str(i) for i in offline.validate(body, strict=True)]
        assert offline_issues == [str(i) for i in client.validate(body, strict=True)]
        try:
            client.resource_for(body).create(body, namespace, dry_run=True, field_validation="Strict")
            server_rejects = False
        except (dynkube.Invalid, dynkube.BadRequest):
            server_rejects = True
        assert bool(offline_issues) == server_rejects, (body, offline_issues)


def test_a_snapshot_holds_no_objects_and_is_read_only(offline: dynkube.Client) -> None:
    with pytest.raises(SnapshotError, match="holds no objects .* read-only"):
        list(offline.resource("configmaps").list(namespace="default"))
    with pytest.raises(SnapshotError, match="is read-only: cannot POST"):
        offline.resource("configmaps").create({"metadata": {"name": "x"}}, "default")
    result = dynkube.apply_manifests(offline, [{"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "x", "namespace": "default"}}])[0]
    assert isinstance(result.error, SnapshotError) and "read-only" in str(result.error)


def rewritten(path: Path, target: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    document = json.loads(gzip.decompress(path.read_bytes()))
    target.write_bytes(gzip.compress(json.dumps(change(document)).encode()))
    return target


@pytest.mark.parametrize("damage, message", [
    (lambda raw, path: path.write_bytes(raw[: len(raw) // 2]), "corrupt or truncated"),
    (lambda raw, path: path.write_bytes(b"not a snapshot at all"), "corrupt or truncated"),
    (lambda raw, path: path.write_bytes(gzip.compress(b"{not json")), "not JSON"),
    (lambda raw, path: path.write_bytes(gzip.compress(b'{"format": "something/else"}')), "is not a dynkube snapshot"),
    (lambda raw, path: path.unlink(), "No such file"),
], ids=["truncated", "not-gzip", "not-json", "not-a-snapshot", "missing"])
def test_a_damaged_snapshot_is_a_snapshot_error(snapshot_file: Path, tmp_path: Path,
                                                damage: Callable[[bytes, Path], Any], message: str) -> None:
    path = tmp_path / "damaged.snap"
    path.write_bytes(snapshot_file.read_bytes())
    damage(snapshot_file.read_bytes(), path)
    with pytest.raises(SnapshotError, match=message):
        dynkube.open_snapshot(path)


def test_a_snapshot_of_another_format_version_is_refused(snapshot_file: Path, tmp_path: Path) -> None:
    path = rewritten(snapshot_file, tmp_path / "v2.snap", lambda d: {**d, "version": 2})
    with pytest.raises(SnapshotError, match="format version 2; this dynkube reads version 1"):
        open_snapshot(path)


def test_the_cli_answers_from_a_snapshot(cli: Callable[..., Any], snapshot_file: Path, tmp_path: Path) -> None:
    live = cli("api-resources")
    saved = cli("snapshot", "save", str(tmp_path / "c.snap"))
    assert saved.code == 0 and saved.out.startswith("saved a snapshot of https://"), saved.err
    offline = cli("--snapshot", str(tmp_path / "c.snap"), "api-resources", kubeconfig=tmp_path / "absent")
    assert offline.code == 0, offline.err

    def rows(text: str) -> set[str]:
        return {line for line in text.splitlines() if stable(line.split()[-3].rpartition("/")[0])
                and line.split()[-3] != "APIVERSION"}
    assert rows(offline.out) == rows(live.out)
    explained = cli("--snapshot", str(snapshot_file), "explain", "gizmos.spec.size", kubeconfig=None)
    assert explained.code == 0 and "ENUM:" in explained.out
    listed = cli("--snapshot", str(snapshot_file), "get", "pods", kubeconfig=None)
    assert listed.code == 1 and listed.err.count("\n") == 1 and "holds no objects" in listed.err
    broken = tmp_path / "broken.snap"
    broken.write_bytes(b"\x1f\x8b\x08garbage")
    bad = cli("--snapshot", str(broken), "api-versions", kubeconfig=None)
    assert bad.code == 1 and bad.err.startswith("error: the snapshot ") and bad.err.count("\n") == 1


def test_validate_reports_every_problem_for_ci(cli: Callable[..., Any], snapshot_file: Path, tmp_path: Path) -> None:
    import yaml

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "all.yaml").write_text(yaml.safe_dump_all(manifests()))
    (tmp_path / "m" / "broken.yaml").write_text("kind: [\n")
    done = cli("--snapshot", str(snapshot_file), "validate", "-f", str(tmp_path / "m"), "-o", "json", kubeconfig=None)
    assert done.code == 1
    report = json.loads(done.out)
    assert report["documents"] == 8
    where = {(Path(p["file"]).name, p["index"], p["path"]) for p in report["problems"]}
    assert ("all.yaml", 1, "spec.replicas") in where and ("all.yaml", 2, "spec.surprise") in where
    assert ("all.yaml", 4, "spec.size") in where and ("all.yaml", 6, "data[k]") in where
    assert ("broken.yaml", 0, "") in where
    assert not {index for name, index, _ in where if name == "all.yaml"} & {0, 3, 5}
    text = cli("--snapshot", str(snapshot_file), "validate", "-f", str(tmp_path / "m" / "all.yaml"), kubeconfig=None)
    assert text.code == 1 and text.out == "3 of 7 document(s) valid\n"
    assert any(line.endswith("(gizmo/g): spec.size: 'huge' is not one of ['small', 'medium', 'large']")
               for line in text.err.splitlines())
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(manifests()[0]))
    good = cli("--snapshot", str(snapshot_file), "validate", "-f", str(tmp_path / "good.yaml"), kubeconfig=None)
    assert good.code == 0 and good.out == "1 of 1 document(s) valid\n" and not good.err


def test_a_crd_deleted_while_the_snapshot_is_taken_is_left_out(client: dynkube.Client, tmp_path: Path,
                                                               crd_factory: Callable[..., str]) -> None:
    """A deleted CRD's group-version stays in the OpenAPI index for about a second while its document
    answers an empty body: the snapshot waits for the index to drop it instead of failing."""
    resource = resolved(client, crd_factory()).resource
    key = f"apis/{resource.group}/v1"

    def indexed() -> bool:
        client.schemas.invalidate()
        return key in client.schemas.group_versions()

    deadline = time.monotonic() + 30
    while not indexed():
        assert time.monotonic() < deadline, "the CRD's schema was never published"
        time.sleep(0.05)
    url = f"/openapi/v3/{key}"
    client.resource("customresourcedefinitions").delete(resource.group_resource)
    deadline = time.monotonic() + 30
    while client.transport.request("GET", url, headers={"Accept": "application/json"}).content:
        assert time.monotonic() < deadline, "the deleted CRD's document never answered empty"
        time.sleep(0.01)
    save_snapshot(client, tmp_path / "during.snap")  # the index lists it, its document answers empty
    answers = json.loads(gzip.decompress((tmp_path / "during.snap").read_bytes()))["answers"]
    assert url not in answers
