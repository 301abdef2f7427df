"""Events of any object (events_for, list_events, watch_events) and ``dynkube events``, against kubectl."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

import dynkube
from dynkube.events import watch_events

from .test_cli import Run, cli, kubectl  # noqa: F401  (fixtures)
from ..support.waiting import until

DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {
    "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
    "template": {"metadata": {"labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}}}


def core_event(name: str, about: dict[str, Any], reason: str, message: str, type_: str = "Normal",
               count: int = 1) -> dict[str, Any]:
    """A core v1 Event about ``about`` (an object read from the server), as a controller records it."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = about["metadata"]
    return {"metadata": {"name": name}, "type": type_, "reason": reason, "message": message, "count": count,
            "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "dynkube-test"},
            "involvedObject": {"apiVersion": about["apiVersion"], "kind": about["kind"], "name": meta["name"],
                               "namespace": meta.get("namespace"), "uid": meta["uid"]}}


def test_events_of_a_deployment_come_from_its_controller(client: dynkube.Client, namespace: str) -> None:
    deploy = client.resource("deployments").create(DEPLOYMENT, namespace)
    found = until(lambda: dynkube.events_for(client, deploy), "the deployment controller's event")
    assert [(e.type, e.reason, e.object) for e in found] == [("Normal", "ScalingReplicaSet", "Deployment/web")]
    assert found[0].source == "deployment-controller" and found[0].object_uid == deploy.metadata.uid


def test_events_of_a_custom_resource_written_to_core_v1(client: dynkube.Client, namespace: str,
                                                        gizmo_crds: None) -> None:
    gizmo = client.resource("gizmos").create({"metadata": {"name": "g1"}, "spec": {"size": "small"}}, namespace)
    events = client.resource("v1", "Event")
    events.create(core_event("g1.a", gizmo, "Started", "starting", count=3), namespace)
    events.create(core_event("g1.b", gizmo, "Broken", "it broke", type_="Warning"), namespace)
    found = dynkube.events_for(client, gizmo)
    assert {(e.reason, e.count, e.message) for e in found} == {("Started", 3, "starting"), ("Broken", 1, "it broke")}
    assert [e.reason for e in dynkube.events_for(client, gizmo, types=["warning"])] == ["Broken"]


def test_events_of_an_earlier_object_of_the_same_name_are_not_shown(client: dynkube.Client, namespace: str) -> None:
    cms = client.resource("configmaps")
    old = cms.create({"metadata": {"name": "cfg"}}, namespace)
    client.resource("v1", "Event").create(core_event("cfg.old", old, "Old", "about the old one"), namespace)
    cms.delete("cfg", namespace)
    new = cms.create({"metadata": {"name": "cfg"}}, namespace)
    assert dynkube.events_for(client, new) == []
    assert [e.reason for e in dynkube.list_events(client, namespace)] == ["Old"]


def test_events_of_a_cluster_scoped_object_are_found_in_any_namespace(client: dynkube.Client,
                                                                       namespace: str) -> None:
    ns = client.resource("namespaces").get(namespace)
    events = client.resource("v1", "Event")  # the server keeps events of cluster-scoped objects in "default"
    events.create(core_event(f"{namespace}.a", ns, "Looked", "at the namespace"), "default")
    try:
        assert [(e.reason, e.object, e.namespace) for e in dynkube.events_for(client, ns)] == [
            ("Looked", f"Namespace/{namespace}", "default")]
    finally:
        events.delete(f"{namespace}.a", "default")


def test_an_object_without_uid_is_refused_before_any_request(client: dynkube.Client) -> None:
    with pytest.raises(dynkube.InvalidInput, match="no metadata.uid"):
        dynkube.events_for(client, {"kind": "Pod", "metadata": {"name": "p"}})
    with pytest.raises(dynkube.InvalidInput, match="unknown event type 'Bad'"):
        dynkube.list_events(client, "default", types=["Bad"])


def test_watch_events_yields_current_then_new_events(client: dynkube.Client, namespace: str) -> None:
    cm = client.resource("configmaps").create({"metadata": {"name": "cfg"}}, namespace)
    events = client.resource("v1", "Event")
    events.create(core_event("cfg.1", cm, "First", "one"), namespace)
    seen: list[str] = []
    stream = watch_events(client, for_object=cm)
    done = threading.Event()

    def follow() -> None:
        for event in stream:
            seen.append(event.reason)
            if len(seen) == 2:
                break
        done.set()

    threading.Thread(target=follow, daemon=True).start()
    until(lambda: seen, "the current event")
    events.create(core_event("cfg.2", cm, "Second", "two"), namespace)
    assert done.wait(30), seen
    assert seen == ["First", "Second"]


# ---- the CLI against kubectl events ----------------------------------------------------------

def rows(text: str) -> list[list[str]]:
    """The table's rows without LAST SEEN (ages may differ by the second between the two runs)."""
    lines = text.splitlines()
    return [re.split(r"\s{2,}", line.strip(), maxsplit=4)[1:] for line in lines[1:]]


def test_cli_events_match_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str], client: dynkube.Client,
                                  namespace: str) -> None:
    client.resource("deployments").create(DEPLOYMENT, namespace)
    until(lambda: len(dynkube.list_events(client, namespace)) >= 2, "the deployment and replica set events")
    theirs = kubectl("events", "-n", namespace)
    ours = cli("events", "-n", namespace)
    assert ours.code == 0 and ours.out.splitlines()[0] == theirs.splitlines()[0]
    assert rows(ours.out) == rows(theirs)
    theirs = kubectl("events", "-n", namespace, "--for", "deployment/web")
    ours = cli("events", "-n", namespace, "--for", "deployment/web")
    assert rows(ours.out) == rows(theirs) == [["Normal", "ScalingReplicaSet", "Deployment/web",
                                               rows(theirs)[0][3]]]


def test_cli_events_types_filter_as_kubectl(cli: Callable[..., Run], kubectl: Callable[..., str],
                                            client: dynkube.Client, namespace: str) -> None:
    cm = client.resource("configmaps").create({"metadata": {"name": "cfg"}}, namespace)
    events = client.resource("v1", "Event")
    events.create(core_event("cfg.1", cm, "Fine", "fine"), namespace)
    events.create(core_event("cfg.2", cm, "Bad", "bad", type_="Warning", count=2), namespace)
    theirs = kubectl("events", "-n", namespace, "--types=Warning")
    ours = cli("events", "-n", namespace, "--types=Warning")
    assert rows(ours.out) == rows(theirs) == [["Warning", "Bad", "ConfigMap/cfg", "bad"]]
    assert re.match(r"\S+ \(x2 over \S+\)", ours.out.splitlines()[1])


def test_cli_events_bad_input(cli: Callable[..., Run], namespace: str) -> None:
    bad = cli("events", "-n", namespace, "--types=Oops")
    assert (bad.code, bad.err.strip()) == (1, "error: unknown event type 'Oops'; expected one of: Normal, Warning")
    gone = cli("events", "-n", namespace, "--for", "configmap/nope")
    assert gone.code == 1 and gone.err.strip() == 'Error from server (NotFound): configmaps "nope" not found'
    usage = cli("events", "-n", namespace, "--for", "configmap")
    assert usage.code == 2 and "KIND/NAME" in usage.err
