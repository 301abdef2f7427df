"""Every verb on the kinds users meet most, built-in and custom, against the real server."""

from __future__ import annotations

import copy
import gc
from collections.abc import Iterator
from typing import Any

import pytest

import dynkube

POD_TEMPLATE = {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}
SELECTOR = {"matchLabels": {"app": "x"}}

KINDS: dict[str, dict[str, Any]] = {
    "services": {"spec": {"ports": [{"port": 80}]}},
    "deployments": {"spec": {"replicas": 1, "selector": SELECTOR, "template": POD_TEMPLATE}},
    "replicasets": {"spec": {"replicas": 1, "selector": SELECTOR, "template": POD_TEMPLATE}},
    "statefulsets": {"spec": {"replicas": 1, "serviceName": "s", "selector": SELECTOR, "template": POD_TEMPLATE}},
    "daemonsets": {"spec": {"selector": SELECTOR, "template": POD_TEMPLATE}},
    "ingresses": {"spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}},
    "replicationcontrollers": {"spec": {"replicas": 1, "selector": {"app": "x"}, "template": POD_TEMPLATE}},
    "secrets": {"stringData": {"k": "v"}},
    "configmaps": {"data": {"k": "v"}},
    "pods": {"spec": POD_TEMPLATE["spec"]},
    "namespaces": {},
    "gizmos": {"spec": {"size": "small", "replicas": 1}},
    "clustergizmos": {"spec": {"replicas": 1}},
}


@pytest.fixture
def cleanup(client: dynkube.Client) -> Iterator[list[tuple[str, str]]]:
    """Cluster-scoped objects a test created, removed afterwards."""
    made: list[tuple[str, str]] = []
    yield made
    for resource, name in made:
        try:
            client.resource(resource).delete(name)
        except dynkube.NotFound:
            pass


@pytest.mark.parametrize("plural", list(KINDS))
def test_every_verb(each_client: Any, each_tools: Any, namespace: str, gizmo_crds: None, plural: str,
                    cleanup: list[tuple[str, str]]) -> None:
    resource = each_client.resource(plural)
    ns = namespace if resource.namespaced else None
    name = f"{namespace}-obj" if not resource.namespaced else "obj"
    body = {"metadata": {"name": name, "labels": {"suite": namespace}}, **copy.deepcopy(KINDS[plural])}
    if not resource.namespaced:
        cleanup.append((plural, name))

    created = resource.create(body, ns)
    assert created.kind == resource.kind and created.metadata.name == name
    seen = _follow(resource.watch(ns, field_selector={"metadata.name": name},
                                  resource_version=created.metadata.resourceVersion))

    fetched = resource.get(name, ns)
    assert fetched.metadata.uid == created.metadata.uid

    listed = list(resource.list(ns, label_selector={"suite": namespace}))
    assert [o.metadata.name for o in listed] == [name]
    assert listed[0].kind == resource.kind and listed[0].apiVersion == resource.api_version

    def replace() -> dynkube.ApiObject:  # controllers (replicaset, statefulset...) write status meanwhile
        current = resource.get(name, ns)
        current.metadata.setdefault("annotations", {})["replaced"] = "yes"
        return resource.replace(current, namespace=ns)

    replaced = each_tools.retry_on_conflict(replace)
    assert replaced.metadata.annotations["replaced"] == "yes"
    assert replaced.metadata.resourceVersion != fetched.metadata.resourceVersion

    patched = resource.patch(name, {"metadata": {"annotations": {"patched": "yes"}}}, ns)
    assert patched.metadata.annotations.items() >= {"replaced": "yes", "patched": "yes"}.items()

    with pytest.raises(dynkube.Conflict):  # stale resourceVersion
        resource.replace(fetched, namespace=ns)

    resource.delete(name, ns)
    if plural != "namespaces":  # a namespace lingers while the namespace controller finalizes it
        each_tools.wait_for(resource, name, ns, condition="delete", timeout=30)
        with pytest.raises(dynkube.NotFound):
            resource.get(name, ns)
    expected = {"MODIFIED"} if plural == "namespaces" else {"MODIFIED", "DELETED"}
    _wait_until(lambda: expected <= {t for t, _ in seen.events}, what=f"watch events {expected} for {plural}")
    seen.watch.stop()
    assert all(n == name for _, n in seen.events if n)


class _Followed:
    def __init__(self, watch: dynkube.Watch) -> None:
        self.watch = watch
        self.events: list[tuple[str, str]] = []


def _follow(watch: dynkube.Watch) -> _Followed:
    """Collect (type, name) of a watch's events on a thread."""
    import threading

    followed = _Followed(watch)

    def run() -> None:
        for event in watch:
            followed.events.append((event.type.value, event.object.get("metadata", {}).get("name", "")))

    threading.Thread(target=run, daemon=True).start()
    return followed


def _wait_until(condition: Any, *, what: str, timeout: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_all_patch_types_on_a_deployment(each_client: Any, namespace: str) -> None:
    deployments = each_client.resource("deployments")
    deployments.create({"metadata": {"name": "d"}, **copy.deepcopy(KINDS["deployments"])}, namespace)
    merged = deployments.patch("d", {"spec": {"replicas": 2}}, namespace)
    assert merged.spec.replicas == 2
    json_patched = deployments.patch("d", [{"op": "replace", "path": "/spec/replicas", "value": 3}], namespace)
    assert json_patched.spec.replicas == 3
    strategic = deployments.patch("d", {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "registry.example/side:1"}]}}}}, namespace, patch_type="strategic")
    assert [c.name for c in strategic.spec.template.spec.containers] == ["sidecar", "c"]  # merged by name
    applied = deployments.patch("d", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                      "spec": {"replicas": 4}}, namespace, patch_type="apply", force=True)
    assert applied.spec.replicas == 4


def test_strategic_merge_patch_on_a_crd_is_refused_by_the_server(each_client: Any, namespace: str,
                                                                 gizmo_crds: None) -> None:
    gizmos = each_client.resource("gizmos")
    gizmos.create({"metadata": {"name": "g"}, "spec": {"size": "small"}}, namespace)
    with pytest.raises(dynkube.UnsupportedMediaType):
        gizmos.patch("g", {"spec": {"size": "large"}}, namespace, patch_type="strategic")


def test_server_side_apply_conflict_and_force(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": {"owner": "alice"}}
    cms.apply(manifest, namespace, field_manager="alice")
    bob = {**manifest, "data": {"owner": "bob"}}
    with pytest.raises(dynkube.Conflict) as caught:
        cms.apply(bob, namespace, field_manager="bob")
    assert "alice" in str(caught.value)
    assert any(c.get("reason") == "FieldManagerConflict" for c in caught.value.causes)
    taken = cms.apply(bob, namespace, field_manager="bob", force=True)
    assert taken.data.owner == "bob"
    assert {m.manager for m in taken.metadata.managedFields} >= {"bob"}


def test_dry_run_leaves_nothing_behind(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    answer = cms.create({"metadata": {"name": "ghost"}, "data": {"a": "1"}}, namespace, dry_run=True)
    assert answer.metadata.name == "ghost"
    cms.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ghost2"}}, namespace, dry_run=True)
    assert list(cms.list(namespace)) == [] or all(o.metadata.name == "kube-root-ca.crt" for o in cms.list(namespace))
    real = cms.create({"metadata": {"name": "real"}}, namespace)
    cms.delete("real", namespace, dry_run=True)
    assert cms.get("real", namespace).metadata.uid == real.metadata.uid


def test_pagination_over_many_objects(kubeconfig_path, namespace: str, cache_root) -> None:
    # The server deletes a collection one object at a time: 1,050 of them can outlast the default
    # 60 s on a loaded machine, so this client waits up to 5 minutes for each answer.
    with dynkube.Client(kubeconfig=kubeconfig_path, cache_dir=cache_root, qps=None, timeout=300) as fast:
        cms = fast.resource("configmaps")
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: cms.create({"metadata": {"name": f"cm-{i:04d}", "labels": {"bulk": "yes"}}},
                                               namespace), range(1050)))
        first = cms.list_page(namespace, label_selector="bulk=yes", limit=100)
        assert len(first.items) == 100 and first.continue_token
        names = [o.metadata.name for o in cms.list(namespace, label_selector="bulk=yes", limit=100)]
        assert names == [f"cm-{i:04d}" for i in range(1050)]
        assert fast.resource("configmaps").delete_collection(namespace, label_selector="bulk=yes")
        assert list(cms.list(namespace, label_selector="bulk=yes")) == []



def test_a_list_holds_one_page_at_a_time(client: dynkube.Client, namespace: str) -> None:
    """No page of a list is alive while the next is fetched (the asyncio client's test in test_aio.py)."""
    cms = client.resource("configmaps")
    for name in ("a", "b", "c"):
        cms.create({"metadata": {"name": name, "labels": {"paged": "yes"}}}, namespace)

    def pages_alive() -> int:
        """The pages of this namespace's ConfigMaps that are still in memory."""
        return sum(1 for o in gc.get_objects() if isinstance(o, dynkube.ApiList)
                   and any(item.metadata.get("namespace") == namespace for item in o.items))

    send, alive_at_each_request = client.transport.send, []

    def observed(*args: Any, **kwargs: Any) -> Any:
        alive_at_each_request.append(pages_alive())
        return send(*args, **kwargs)

    client.transport.send = observed  # type: ignore[method-assign]
    try:
        names = [cm.metadata.name for cm in cms.list(namespace, label_selector="paged=yes", limit=1)]
    finally:
        del client.transport.send
    assert names == ["a", "b", "c"]
    assert len(alive_at_each_request) >= 3 and not any(alive_at_each_request), alive_at_each_request

def test_selectors(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    for name, tier in (("a", "front"), ("b", "back"), ("c", "front")):
        cms.create({"metadata": {"name": name, "labels": {"tier": tier}}}, namespace)
    assert {o.metadata.name for o in cms.list(namespace, label_selector="tier=front")} == {"a", "c"}
    assert {o.metadata.name for o in cms.list(namespace, label_selector={"tier": "back"})} == {"b"}
    assert [o.metadata.name for o in cms.list(namespace, field_selector={"metadata.name": "c"})] == ["c"]
    with pytest.raises(dynkube.BadRequest):
        list(cms.list(namespace, label_selector="tier in (("))


def test_delete_preconditions(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    cm = cms.create({"metadata": {"name": "p"}}, namespace)
    with pytest.raises(dynkube.Conflict):
        cms.delete("p", namespace, preconditions={"uid": "00000000-0000-0000-0000-000000000000"})
    cms.delete("p", namespace, preconditions={"uid": cm.metadata.uid, "resourceVersion": cm.metadata.resourceVersion})
    with pytest.raises(dynkube.NotFound):
        cms.get("p", namespace)


def test_retry_on_conflict_with_two_writers(each_client: Any, each_tools: Any, namespace: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cms = each_client.resource("configmaps")
    cms.create({"metadata": {"name": "counter"}, "data": {"n": "0"}}, namespace)
    conflicts = []

    def increment() -> None:
        def attempt() -> None:
            cm = cms.get("counter", namespace)
            cm.data["n"] = str(int(cm.data["n"]) + 1)
            try:
                cms.replace(cm, namespace=namespace)
            except dynkube.Conflict:
                conflicts.append(1)
                raise
        each_tools.retry_on_conflict(attempt, attempts=50)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: increment(), range(40)))
    assert cms.get("counter", namespace).data.n == "40"


def test_status_and_scale_subresources(each_client: Any, namespace: str, gizmo_crds: None,
                                       cleanup: list[tuple[str, str]]) -> None:
    gizmos = each_client.resource("gizmos")
    gizmos.create({"metadata": {"name": "g"}, "spec": {"size": "small", "replicas": 1}}, namespace)
    status = gizmos.patch("g", {"status": {"phase": "Ready", "replicas": 1}}, namespace, subresource="status")
    assert status.status.phase == "Ready"
    ignored = gizmos.patch("g", {"status": {"phase": "Ignored"}}, namespace)  # main resource ignores status
    assert ignored.status.phase == "Ready"
    scale = gizmos.get("g", namespace, subresource="scale")
    assert scale.kind == "Scale" and scale.spec.replicas == 1
    gizmos.patch("g", {"spec": {"replicas": 5}}, namespace, subresource="scale")
    assert gizmos.get("g", namespace).spec.replicas == 5

    cluster = each_client.resource("clustergizmos")
    name = f"{namespace}-cg"
    cleanup.append(("clustergizmos", name))
    cluster.create({"metadata": {"name": name}, "spec": {"replicas": 2}})
    current = cluster.get(name, subresource="status")
    current["status"] = {"replicas": 2}
    assert cluster.replace(current, subresource="status").status.replicas == 2
    assert cluster.get(name, subresource="scale").status.replicas == 2

    deployments = each_client.resource("deployments")
    deployments.create({"metadata": {"name": "d"}, **copy.deepcopy(KINDS["deployments"])}, namespace)
    deployments.patch("d", {"spec": {"replicas": 3}}, namespace, subresource="scale")
    assert deployments.get("d", namespace, subresource="scale").spec.replicas == 3


def test_generic_subresources(each_client: Any, each_tools: Any, namespace: str) -> None:
    each_client.resource("serviceaccounts").create({"metadata": {"name": "robot"}}, namespace)
    token = each_client.resource("serviceaccounts").create(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
        namespace, subresource="token", name="robot")
    assert token.kind == "TokenRequest" and token.status.token
    pods = each_client.resource("pods")
    pods.create({"metadata": {"name": "p"}, **copy.deepcopy(KINDS["pods"])}, namespace)
    pods.create({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"}},
                namespace, subresource="eviction", name="p")
    each_tools.wait_for(pods, "p", namespace, condition="delete", timeout=30)


def test_scope_errors_before_any_request(each_client: Any) -> None:
    with pytest.raises(dynkube.InvalidInput, match="cluster-scoped"):
        each_client.resource("namespaces").get("default", namespace="kube-system")
    with pytest.raises(dynkube.InvalidInput, match="does not match"):
        each_client.resource("configmaps").create({"metadata": {"name": "x", "namespace": "a"}}, namespace="b")
    with pytest.raises(dynkube.ResourceNotFound, match="no subresource 'scale'"):
        each_client.resource("configmaps").get("x", subresource="scale")
    with pytest.raises(dynkube.InvalidInput, match="is a Secret"):
        each_client.resource("configmaps").create({"kind": "Secret", "metadata": {"name": "x"}})
    with pytest.raises(dynkube.InvalidInput, match="force"):
        each_client.resource("configmaps").patch("x", {}, force=True)
    with pytest.raises(dynkube.InvalidInput, match="patch type"):
        each_client.resource("configmaps").patch("x", {}, patch_type="yaml")
    with pytest.raises(dynkube.InvalidInput):
        each_client.resource("configmaps").create(["not", "a", "dict"])  # type: ignore[arg-type]


def test_table_listing(each_client: Any, namespace: str, gizmo_crds: None) -> None:
    gizmo = {"metadata": {"name": "t"}, "spec": {"size": "large", "replicas": 2}}
    each_client.resource("gizmos").create(gizmo, namespace)
    table = each_client.resource("gizmos").list_page(namespace, as_table=True)
    assert [c["name"] for c in table.columns][:3] == ["Name", "Size", "Replicas"]
    assert table.rows[0]["cells"][:3] == ["t", "large", 2]


def test_field_validation_and_warnings(each_client: Any, namespace: str) -> None:
    cms = each_client.resource("configmaps")
    with pytest.warns(dynkube.ServerWarning, match="unknown field"):
        cms.create({"metadata": {"name": "w"}, "bogus": 1}, namespace, field_validation="Warn")
    with pytest.raises(dynkube.BadRequest, match="bogus"):
        cms.create({"metadata": {"name": "s"}, "bogus": 1}, namespace, field_validation="Strict")
    with pytest.raises(dynkube.NotFound):
        cms.get("s", namespace)


def test_invalid_object_carries_field_causes(each_client: Any, namespace: str) -> None:
    with pytest.raises(dynkube.Invalid) as caught:
        each_client.resource("configmaps").create({"metadata": {"name": "Not_Valid"}}, namespace)
    assert caught.value.code == 422
    assert any(c.get("field") == "metadata.name" for c in caught.value.causes)
