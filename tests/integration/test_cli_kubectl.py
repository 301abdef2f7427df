"""What a new user found comparing dynkube with kubectl on the same server: waits that must follow the
object's uid, named gets that must be GETs, explain's NAME.GROUP, watch output, pipes, manifests."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dynkube

from .test_cli import SCRIPT, Run, cli, kubectl, one_error_line  # noqa: F401  (fixtures)
from ..support.waiting import until

ROOT_CA = "kube-root-ca.crt"  # the controller-manager re-creates it in every namespace


def uid_of(client: dynkube.Client, name: str, namespace: str) -> str | None:
    try:
        return str(client.resource("configmaps").get(name, namespace).metadata.uid)
    except dynkube.NotFound:
        return None


# ---- 1. waits follow the uid, not the name ------------------------------------------------------

def test_wait_for_delete_ends_when_the_uid_is_gone_though_the_name_is_back(client: dynkube.Client,
                                                                           namespace: str) -> None:
    cms = client.resource("configmaps")
    old = until(lambda: uid_of(client, ROOT_CA, namespace), "the namespace's root CA configmap")
    cms.delete(ROOT_CA, namespace)
    until(lambda: uid_of(client, ROOT_CA, namespace) not in (None, old), "the controller to re-create it")
    assert dynkube.wait_for(cms, ROOT_CA, namespace, condition="delete", uid=str(old), timeout=10) is None


@pytest.fixture
def finalized(client: dynkube.Client, namespace: str) -> Iterator[str]:
    """A configmap "held" with a finalizer; the finalizer is removed at the end if still there."""
    cms = client.resource("configmaps")
    cms.create({"metadata": {"name": "held", "finalizers": ["dynkube.io/test"]}}, namespace)
    yield "held"
    try:
        cms.patch("held", {"metadata": {"finalizers": None}}, namespace)
    except dynkube.NotFound:
        pass


class Observed:
    """A ResourceClient's get, with an event set once it has answered (to know a wait has begun)."""

    def __init__(self, resource: dynkube.ResourceClient) -> None:
        self.resource, self.plural, self.answered = resource, resource.plural, threading.Event()

    def get(self, name: str, namespace: str | None = None) -> dynkube.ApiObject:
        found = self.resource.get(name, namespace)
        self.answered.set()
        return found


def test_wait_for_delete_follows_the_uid_it_saw_first(client: dynkube.Client, namespace: str,
                                                      finalized: str) -> None:
    cms = client.resource("configmaps")
    first = cms.get(finalized, namespace).metadata.uid
    cms.delete(finalized, namespace)  # held by its finalizer until the test lets it go
    observed, outcome = Observed(cms), {}
    watched: Any = observed  # wait_for needs only get() and plural

    waiter = threading.Thread(target=lambda: outcome.update(
        returned=dynkube.wait_for(watched, finalized, namespace, condition="delete", timeout=30)))
    waiter.start()
    try:
        assert observed.answered.wait(10), "the wait did not start"
        cms.patch(finalized, {"metadata": {"finalizers": None}}, namespace)
        until(lambda: uid_of(client, finalized, namespace) != first, "the old object to go")
        cms.create({"metadata": {"name": finalized}}, namespace)
    finally:
        waiter.join(40)
    assert outcome == {"returned": None}


def test_delete_returns_when_the_object_is_replaced_under_its_name(cli: Callable[..., Run], client: dynkube.Client,
                                                                   namespace: str, finalized: str) -> None:
    cms = client.resource("configmaps")
    first = cms.get(finalized, namespace).metadata.uid

    def replace() -> None:  # once the delete has started: let the old object go, and make a new one
        until(lambda: cms.get(finalized, namespace).metadata.get("deletionTimestamp"), "the delete to start")
        cms.patch(finalized, {"metadata": {"finalizers": None}}, namespace)
        until(lambda: uid_of(client, finalized, namespace) != first, "the old object to go")
        cms.create({"metadata": {"name": finalized}}, namespace)

    thread = threading.Thread(target=replace)
    thread.start()
    try:
        ours = cli("delete", "cm", finalized, "-n", namespace, "--timeout=20s")
    finally:
        thread.join()
    assert ours.code == 0, ours.err
    assert ours.out == f'configmap "{finalized}" deleted\n'
    assert uid_of(client, finalized, namespace) not in (None, first)  # the new one is there all along


def test_delete_all_configmaps_with_the_recreated_root_ca(cli: Callable[..., Run], client: dynkube.Client,
                                                          namespace: str) -> None:
    until(lambda: uid_of(client, ROOT_CA, namespace), "the namespace's root CA configmap")
    client.resource("configmaps").create({"metadata": {"name": "mine"}}, namespace)
    ours = cli("delete", "cm", "--all", "-n", namespace, "--timeout=30s")
    assert ours.code == 0, ours.err
    assert sorted(ours.out.splitlines()) == [f'configmap "{ROOT_CA}" deleted', 'configmap "mine" deleted']


# ---- 2. a named get is a GET: RBAC resourceNames allow it --------------------------------------

@pytest.fixture
def nobody_may_get(client: dynkube.Client, namespace: str) -> str:
    """A configmap "allowed" that the envtest user "nobody" may get and watch (RBAC resourceNames), but
    not list; returns its name once the authorizer says so."""
    client.resource("configmaps").create({"metadata": {"name": "allowed"}, "data": {"k": "v"}}, namespace)
    client.resource("roles").create({"metadata": {"name": "get-one"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["allowed"], "verbs": ["get", "watch"]}]},
        namespace)
    client.resource("rolebindings").create({"metadata": {"name": "get-one"}, "subjects": [
        {"kind": "User", "name": "nobody", "apiGroup": "rbac.authorization.k8s.io"}], "roleRef": {
        "kind": "Role", "name": "get-one", "apiGroup": "rbac.authorization.k8s.io"}}, namespace)

    def allowed() -> bool:
        review = client.resource("subjectaccessreviews").create({"spec": {"user": "nobody", "resourceAttributes": {
            "namespace": namespace, "verb": "get", "resource": "configmaps", "name": "allowed"}}})
        return bool(review["status"].get("allowed"))

    until(allowed, "the role binding to take effect")
    return "allowed"


def test_named_get_needs_only_get_permission(cli: Callable[..., Run], kubectl: Callable[..., str], namespace: str,
                                             nobody_may_get: str) -> None:
    as_nobody = ("--context", "envtest-nobody")
    for args in (("get", "cm", nobody_may_get, "-n", namespace), ("get", f"cm/{nobody_may_get}", "-n", namespace),
                 ("get", "cm", nobody_may_get, "-n", namespace, "-o", "wide"),
                 ("get", "cm", nobody_may_get, "-n", namespace, "-o", "json")):
        ours = cli(*as_nobody, *args)
        assert ours.code == 0, ours.err
        theirs = kubectl(*as_nobody, *args)
        if "json" in args:
            assert ours.out == theirs
        else:  # AGE may tick between the two runs
            assert [line.split()[:2] for line in ours.out.splitlines()] == \
                [line.split()[:2] for line in theirs.splitlines()]
    listing = cli(*as_nobody, "get", "cm", "-n", namespace)
    assert listing.code == 1 and "cannot list" in one_error_line(listing)


def test_watch_of_a_named_object_needs_no_list_permission(cli: Callable[..., Run], namespace: str,
                                                          nobody_may_get: str) -> None:
    ours = cli("--context", "envtest-nobody", "get", "cm", nobody_may_get, "-n", namespace, "--watch",
               "--request-timeout=1")
    assert ours.code == 0, ours.err
    assert [line.split()[:2] for line in ours.out.splitlines()] == [["NAME", "DATA"], [nobody_may_get, "1"]]
    only = cli("--context", "envtest-nobody", "get", "cm", nobody_may_get, "-n", namespace, "--watch-only",
               "-o", "name", "--request-timeout=1")
    assert (only.code, only.out) == (0, ""), only.err


# ---- 4. a watch prints objects one by one -----------------------------------------------------

@pytest.mark.parametrize("output", ["json", "yaml", 'jsonpath={.metadata.name}{"\\n"}', "name"])
def test_watch_prints_each_object_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                             client: dynkube.Client, namespace: str, output: str) -> None:
    until(lambda: uid_of(client, ROOT_CA, namespace), "the namespace's root CA configmap")
    for name in ("a", "b"):
        client.resource("configmaps").create({"metadata": {"name": name}, "data": {"k": name}}, namespace)
    args = ("get", "cm", "-n", namespace, "--watch", "-o", output, "--request-timeout=1s")
    ours = cli(*args)
    assert ours.code == 0, ours.err
    assert ours.out == kubectl(*args)
    if output == "json":  # a stream of objects that jq reads one by one: no List
        assert ours.out.count('"kind": "ConfigMap"') == 3 and '"kind": "List"' not in ours.out


# ---- 3. explain takes NAME.GROUP, the form the ambiguity error asks for ---------------------------

@pytest.fixture
def twin_gateways(client: dynkube.Client) -> Iterator[tuple[str, str, str]]:
    """Two CRDs with the same plural in two groups (as Gateway API's gateways and another vendor's):
    (plural, group a, group b), both served with their schemas published."""
    suffix = uuid.uuid4().hex[:8]
    plural, groups = f"gateways{suffix}", (f"a{suffix}.example.com", f"b{suffix}.example.com")
    crds = client.resource("customresourcedefinitions")
    for group in groups:
        crds.create({"metadata": {"name": f"{plural}.{group}"}, "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": plural, "singular": f"gateway{suffix}", "kind": f"Gateway{suffix}"},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {"listeners": {
                    "type": "array", "description": f"Listeners of {group}.",
                    "items": {"type": "object", "properties": {"port": {"type": "integer"}}}}}}}}}}]}})
    try:
        for group in groups:
            dynkube.wait_for(crds, f"{plural}.{group}", condition="Established", timeout=30)
            until(lambda group=group: _published(client, group, f"Gateway{suffix}"), f"the schema of {group}")
        yield plural, groups[0], groups[1]
    finally:
        for group in groups:
            try:
                crds.delete(f"{plural}.{group}")
            except dynkube.NotFound:
                pass


def _published(client: dynkube.Client, group: str, kind: str) -> bool:
    try:
        client.schemas.explain(group, "v1", kind)
        return True
    except dynkube.SchemaUnavailable:
        return False


def test_explain_takes_name_dot_group(cli: Callable[..., Run], kubectl: Callable[..., str], gizmo_crds: None) -> None:
    for path in ("deployments.apps.spec.replicas", "deployments.apps", "gizmos.fixtures.dynkube.io.spec.size"):
        ours = cli("explain", path)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl("explain", path)
    # forms kubectl explain cannot take, as every other command can
    assert cli("explain", "deployments.v1.apps.spec.replicas").out == kubectl("explain", "deployments.spec.replicas")
    assert cli("explain", "storageclass.storage.provisioner").out == kubectl("explain", "storageclasses.provisioner")


def test_explain_of_an_ambiguous_name_works_as_the_error_says(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                               client: dynkube.Client,
                                                               twin_gateways: tuple[str, str, str]) -> None:
    plural, group_a, group_b = twin_gateways
    ambiguous = cli("explain", f"{plural}.spec.listeners")
    assert ambiguous.code == 1
    assert "NAME.GROUP" in one_error_line(ambiguous) and f"{plural}.{group_b}" in ambiguous.err
    for group in (group_a, group_b):
        path = f"{plural}.{group}.spec.listeners"
        ours = cli("explain", path)
        assert ours.code == 0, ours.err
        assert f"Listeners of {group}." in ours.out
        assert ours.out == kubectl("explain", path)
        assert client.explain(path).render() == ours.out
    assert client.explain(f"{plural}.{group_b}.spec.listeners.port").type == "integer"


# ---- 6. a mutation cut short by a closed pipe is not a success -----------------------------------

def test_apply_into_a_closed_pipe_stops_and_exits_141(kubeconfig_path: Path, cache_root: Path, client: dynkube.Client,
                                                      namespace: str, tmp_path: Path) -> None:
    env = {"KUBECACHEDIR": str(cache_root), "PATH": "/usr/bin:/bin"}
    cms = client.resource("configmaps")
    for attempt in range(3):  # until the reader has gone before the last object (it always has, by far)
        names = [f"bulk{attempt}-{i}" for i in range(300)]
        manifest = tmp_path / f"bulk{attempt}.yaml"
        manifest.write_text("".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {n}}}\n" for n in names))
        process = subprocess.Popen([str(SCRIPT), "--kubeconfig", str(kubeconfig_path), "apply", "-f", str(manifest),
                                    "-n", namespace], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()  # `| head -1`
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
        applied = sum(1 for cm in cms.list(namespace) if cm.metadata.name.startswith(f"bulk{attempt}-"))
        if applied < len(names):
            break
    assert first == f"configmap/{names[0]} created\n".encode()
    assert applied < len(names)
    assert code == 141, err
    errors = [line for line in err.splitlines() if not line.startswith("warning: ")]  # other suites' broken APIs
    assert "Traceback" not in err and len(errors) == 1 and "output was closed" in errors[0]


# ---- 7. forms kubectl accepts: apply --server-side, get -f ---------------------------------------

def test_apply_accepts_server_side(cli: Callable[..., Run], namespace: str, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n")
    for flag in ("--server-side", "--server-side=true"):
        ours = cli("apply", flag, "-f", str(manifest), "-n", namespace)
        assert ours.code == 0, ours.err
    assert ours.out == "configmap/ssa unchanged\n"


def test_get_f_shows_the_objects_a_manifest_names(cli: Callable[..., Run], kubectl: Callable[..., str],
                                                  client: dynkube.Client, namespace: str, tmp_path: Path) -> None:
    until(lambda: uid_of(client, ROOT_CA, namespace), "the namespace's root CA configmap")
    for name in ("a", "b"):
        client.resource("configmaps").create({"metadata": {"name": name}, "data": {"k": name}}, namespace)
    documents = [("ConfigMap", "a"), ("ConfigMap", ROOT_CA), ("Namespace", namespace), ("ConfigMap", "b")]
    manifest = tmp_path / "stack.yaml"
    manifest.write_text("".join(f"---\napiVersion: v1\nkind: {kind}\nmetadata: {{name: {name}}}\n"
                                for kind, name in documents))
    one = tmp_path / "one.yaml"
    one.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b, namespace: {namespace}}}\n")
    for args in (("get", "-f", str(manifest), "-n", namespace, "-o", "name"),
                 ("get", "-f", str(manifest), "-n", namespace, "-o", "json"),
                 ("get", "-f", str(one), "-o", "yaml")):
        ours = cli(*args)
        assert ours.code == 0, ours.err
        assert ours.out == kubectl(*args)
    table = cli("get", "-f", str(manifest), "-n", namespace)
    assert [line.split()[:1] for line in table.out.splitlines()] == \
        [line.split()[:1] for line in kubectl("get", "-f", str(manifest), "-n", namespace).splitlines()]
    assert table.out.splitlines()[1].startswith("configmap/a ")  # kinds shown, tables as kubectl groups them
    missing = tmp_path / "missing.yaml"
    missing.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nope}\n")
    gone = cli("get", "-f", str(missing), "-n", namespace)
    assert gone.code == 1 and one_error_line(gone) == 'Error from server (NotFound): configmaps "nope" not found'


# ---- 8. smaller ones --------------------------------------------------------------------------

def test_delete_of_an_empty_selection_says_so(cli: Callable[..., Run], kubectl: Callable[..., str],
                                              namespace: str) -> None:
    for args in (("delete", "cm", "-l", "no=match", "-n", namespace),
                 ("delete", "secrets", "--field-selector", "metadata.name=nope", "-n", namespace)):
        ours = cli(*args)
        assert (ours.code, ours.out, ours.err) == (0, "No resources found\n", "")
        assert ours.out == kubectl(*args)


def test_tree_footer_of_a_user_who_may_count_nothing(cli: Callable[..., Run], namespace: str) -> None:
    ours = cli("--context", "envtest-nobody", "tree", "--count", "-n", namespace)
    assert ours.code == 0, ours.err
    footer = ours.out.splitlines()[-1]
    assert "0 objects" not in footer
    forbidden = sum(1 for line in ours.out.splitlines()[:-1] if line.endswith(" forbidden"))
    assert forbidden > 50
    assert footer.endswith(f"no objects counted in namespace {namespace} (not counted: {forbidden} forbidden)")
    mine = cli("tree", "--count", "-n", namespace, "--api-group=batch")  # allowed, and truly empty
    assert mine.out.splitlines()[-1] == f"1 API groups, 2 resources, 0 objects in namespace {namespace}"
