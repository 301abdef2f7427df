"""The ownership graph (owner_tree, owner_chain, root_owner) and ``dynkube tree KIND NAME``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

import dynkube
from dynkube.owners import owner_chain, owner_tree, root_owner

from .test_cli import Run, cli  # noqa: F401  (fixtures)
from ..support.waiting import until

LABELS = {"app": "web"}
DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {
    "replicas": 2, "selector": {"matchLabels": LABELS},
    "template": {"metadata": {"labels": LABELS},
                 "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}}


def owned_by(owner: dynkube.ApiObject, controller: bool = False) -> dict[str, Any]:
    ref = {"apiVersion": owner.apiVersion, "kind": owner.kind, "name": owner.metadata.name, "uid": owner.metadata.uid}
    return {**ref, "controller": True} if controller else ref


def shape(node: Any) -> list[tuple[int, str, str]]:
    return [(depth, n.ref.kind, n.ref.name) for depth, n in node.walk()]


def running_deployment(client: dynkube.Client, namespace: str) -> dynkube.ApiObject:
    deployments = client.resource("deployments")
    deployments.create(DEPLOYMENT, namespace)

    def ready() -> dynkube.ApiObject | None:
        d = deployments.get("web", namespace)
        return d if (d.get("status") or {}).get("readyReplicas") == 2 else None

    return until(ready, "two ready pods")


def test_deployment_owns_replica_set_owns_pods(client: dynkube.Client, namespace: str) -> None:
    deploy = running_deployment(client, namespace)
    tree = owner_tree(client, deploy)
    pods = sorted(p.metadata.name for p in client.resource("pods").list(namespace))
    (rs,) = tree.children
    assert (tree.ref.kind, rs.ref.kind) == ("Deployment", "ReplicaSet")
    assert [(p.ref.kind, p.ref.name, p.ready) for p in rs.children] == [("Pod", name, "True") for name in pods]
    assert (tree.ready, tree.reason) == ("True", "MinimumReplicasAvailable") and rs.ready == ""


def test_owner_chain_goes_up_to_the_root(client: dynkube.Client, namespace: str) -> None:
    running_deployment(client, namespace)
    pod = next(iter(client.resource("pods").list(namespace)))
    chain = owner_chain(client, pod)
    assert [r.kind for r in chain] == ["Pod", "ReplicaSet", "Deployment"]
    root = root_owner(client, pod)
    assert (root.kind, root.metadata.name, root.spec.replicas) == ("Deployment", "web", 2)


def test_custom_resource_owning_configmaps(client: dynkube.Client, namespace: str,
                                          crd_factory: Callable[..., str]) -> None:
    kind = crd_factory()
    things = client.resource(kind)
    thing = things.create({"metadata": {"name": "t1"}, "spec": {}}, namespace)
    things.patch("t1", {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Waiting"}]}},
                 namespace, subresource="status")
    cms = client.resource("configmaps")
    for name in ("b-cfg", "a-cfg"):
        cms.create({"metadata": {"name": name, "ownerReferences": [owned_by(thing)]}}, namespace)
    secrets = client.resource("secrets")
    secrets.create({"metadata": {"name": "s", "ownerReferences": [owned_by(thing)]}, "data": {"k": "dg=="}}, namespace)
    tree = owner_tree(client, thing)
    assert shape(tree) == [(0, kind, "t1"), (1, "ConfigMap", "a-cfg"), (1, "ConfigMap", "b-cfg"), (1, "Secret", "s")]
    assert (tree.ready, tree.reason) == ("False", "Waiting")
    assert [c.ready for c in tree.children] == ["", "", ""]  # no status subresource: not read


def test_cluster_scoped_owner_of_namespaced_and_cluster_scoped_objects(client: dynkube.Client, namespace: str,
                                                                       crd_factory: Callable[..., str]) -> None:
    kind = crd_factory(scope="Cluster")
    things = client.resource(kind)
    name = f"owner-{uuid.uuid4().hex[:8]}"
    thing = things.create({"metadata": {"name": name}})
    roles = client.resource("clusterroles")
    try:
        client.resource("configmaps").create({"metadata": {"name": "cfg", "ownerReferences": [owned_by(thing)]}},
                                             namespace)
        roles.create({"metadata": {"name": name, "ownerReferences": [owned_by(thing)]}, "rules": []})
        tree = owner_tree(client, thing)
        assert sorted((n.ref.kind, n.ref.namespace) for n in tree.children) == [
            ("ClusterRole", ""), ("ConfigMap", namespace)]
        assert owner_chain(client, roles.get(name))[-1].uid == thing.metadata.uid
    finally:
        things.delete(name)
        try:
            roles.delete(name)
        except dynkube.NotFound:
            pass


def test_dangling_owner_is_a_typed_error(client: dynkube.Client, namespace: str) -> None:
    cms = client.resource("configmaps")
    owner = cms.create({"metadata": {"name": "owner"}}, namespace)
    stale = {**owned_by(owner), "uid": str(uuid.uuid4())}
    dependent = cms.create({"metadata": {"name": "dependent", "ownerReferences": [stale]}}, namespace)
    with pytest.raises(dynkube.DanglingOwner, match="names owner ConfigMap/owner .* was replaced") as caught:
        owner_chain(client, dependent)
    assert caught.value.obj == f"ConfigMap/{namespace}/dependent"
    gone = {**owned_by(owner), "name": "nope"}
    orphan = cms.create({"metadata": {"name": "orphan", "ownerReferences": [gone]}}, namespace)
    with pytest.raises(dynkube.DanglingOwner, match="ConfigMap/nope .* does not exist"):
        root_owner(client, orphan)


def test_owner_cycle_is_a_typed_error_and_the_tree_ends(client: dynkube.Client, namespace: str) -> None:
    cms = client.resource("configmaps")
    a = cms.create({"metadata": {"name": "a"}}, namespace)
    b = cms.create({"metadata": {"name": "b", "ownerReferences": [owned_by(a)]}}, namespace)
    a = cms.patch("a", {"metadata": {"ownerReferences": [owned_by(b)]}}, namespace)
    with pytest.raises(dynkube.OwnerCycle, match="cycle"):
        owner_chain(client, a)
    assert shape(owner_tree(client, a)) == [(0, "ConfigMap", "a"), (1, "ConfigMap", "b")]


def test_an_object_not_read_from_the_server_is_refused(client: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="metadata.uid"):
        owner_tree(client, {"kind": "ConfigMap", "metadata": {"name": "x"}})


def test_cli_tree_of_an_object(cli: Callable[..., Run], client: dynkube.Client, namespace: str) -> None:
    running_deployment(client, namespace)
    pods = sorted(p.metadata.name for p in client.resource("pods").list(namespace))
    rs = next(iter(client.resource("replicasets").list(namespace))).metadata.name
    ours = cli("tree", "deployment", "web", "-n", namespace)
    assert ours.code == 0, ours.err
    lines = ours.out.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "REASON", "AGE"]
    assert [line.split()[1:3] for line in lines[1:]] == [
        ["Deployment/web", "True"], [f"└─ReplicaSet/{rs}", "-"], [f"├─Pod/{pods[0]}", "True"],
        [f"└─Pod/{pods[1]}", "True"]]
    up = cli("tree", f"pod/{pods[0]}", "--root", "-n", namespace, "-o", "json")
    assert up.code == 0 and '"kind": "Deployment"' in up.out
    bad = cli("tree", "deploy", "web", "--count", "-n", namespace)
    assert bad.code == 2 and "cluster overview" in bad.err
    assert cli("tree", "--root").code == 2
    missing = cli("tree", "deploy/nope", "-n", namespace)
    assert (missing.code, missing.err.strip()) == (1, 'Error from server (NotFound): deployments.apps "nope" not found')
