"""Which pod and container logs are read from, without a server: kubectl's order of pods for logs
(podutils.ByLogging), a workload's selector (SelectorsForObject) and the default container."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from dynkube import errors
from dynkube.objects import ApiList
from dynkube.podlogs import (ListPods, ReadObject, WatchPods, _by_logging, _containers, choose_sources,
                             label_selector_string, selector_of)


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready_since: str | None = "2024-01-01T00:00:10Z",
        restarts: int = 0, created: str = "2024-01-01T00:00:00Z", **spec: Any) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": ready_since}] if ready_since else []
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "ns1", "creationTimestamp": created},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], **spec},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def best_first(*pods: dict[str, Any]) -> list[str]:
    return [p["metadata"]["name"] for p in sorted(pods, key=functools.cmp_to_key(_by_logging))]


def test_scheduled_pods_come_before_unscheduled_ones() -> None:
    assert best_first(pod("a", node="", phase="Pending", ready_since=None), pod("b")) == ["b", "a"]


def test_running_comes_before_unknown_before_pending() -> None:
    assert best_first(pod("p", phase="Pending"), pod("u", phase="Unknown"), pod("r")) == ["r", "u", "p"]


def test_ready_before_not_ready_and_ready_longer_first() -> None:
    assert best_first(pod("late", ready_since="2024-01-01T00:05:00Z"), pod("never", ready_since=None),
                      pod("early", ready_since="2024-01-01T00:01:00Z")) == ["early", "late", "never"]


def test_more_restarts_then_older_first() -> None:
    assert best_first(pod("calm"), pod("restarted", restarts=3)) == ["restarted", "calm"]
    assert best_first(pod("young", created="2024-01-02T00:00:00Z"), pod("old")) == ["old", "young"]


def test_a_workloads_selector_as_the_server_takes_it() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"selector": {
        "matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]}, {"key": "old", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]}, {"key": "team", "operator": "Exists"}]}}}
    assert selector_of(deployment) == "app=web,tier in (a,b),!old,env notin (dev),team"
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}}
    assert selector_of(service) == "app=web"


def test_kinds_without_pods_and_services_without_a_selector_are_refused() -> None:
    with pytest.raises(errors.InvalidInput, match="defined without a selector"):
        selector_of({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {}})
    with pytest.raises(errors.InvalidInput, match="cannot get the logs from a CronJob"):
        selector_of({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x"}, "spec": {}})
    with pytest.raises(errors.InvalidInput, match="unknown label selector operator"):
        label_selector_string({"matchExpressions": [{"key": "a", "operator": "Near"}]})


def test_the_default_container_and_its_notice() -> None:
    two = pod("two", containers=[{"name": "a"}, {"name": "b"}], initContainers=[{"name": "setup"}],
              ephemeralContainers=[{"name": "debug"}])
    notices: list[str] = []
    assert [str(s) for s in _containers(two, None, False, False, notices)] == ["pod/two/a"]
    assert notices == ['Defaulted container "a" out of: a, b, debug (ephem), setup (init)']
    quiet: list[str] = []
    _containers(two, None, False, True, quiet)
    assert quiet == []
    every = _containers(two, None, True, False, [])
    assert [(s.container, s.field) for s in every] == [
        ("setup", "initContainers"), ("a", "containers"), ("b", "containers"), ("debug", "ephemeralContainers")]
    assert [str(s) for s in _containers(two, "setup", False, False, [])] == ["pod/two/setup"]


# ---- the lookups of choose_sources (what both clients' log_sources answer) -----------------------

def drive(plan: Any, answers: dict[Any, Any]) -> tuple[list[Any], Any]:
    """Run ``choose_sources`` answering each lookup from ``answers``: the lookups made, and the selection."""
    asked, answer = [], None
    while True:
        try:
            lookup = plan.send(answer)
        except StopIteration as stop:
            return asked, stop.value
        asked.append(lookup)
        answer = answers[type(lookup)]


def deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns1"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}}}


def test_a_workload_is_read_then_its_pods_listed_and_the_best_one_chosen() -> None:
    pods = ApiList({"items": [pod("late", ready_since=None), pod("best")], "metadata": {"resourceVersion": "5"}})
    asked, selection = drive(choose_sources("deploy/web", "ns1"), {ReadObject: deployment(), ListPods: pods})
    assert asked == [ReadObject("deploy", "web", "ns1"), ListPods("ns1", "app=web")]
    assert [str(s) for s in selection.sources] == ["pod/best/c"]
    assert selection.notices == ("Found 2 pods, using pod/best",)


def test_a_workload_without_pods_yet_watches_for_the_first_then_gives_up() -> None:
    empty = ApiList({"items": [], "metadata": {"resourceVersion": "9"}})
    plan = choose_sources("deploy/web", "ns1", pod_timeout=2.4)
    with pytest.raises(errors.WaitTimeout, match="no pod matching 'app=web'"):
        drive(plan, {ReadObject: deployment(), ListPods: empty, WatchPods: None})
    asked, selection = drive(choose_sources(deployment(), "ns1"), {ListPods: empty, WatchPods: pod("first")})
    assert asked == [ListPods("ns1", "app=web"), WatchPods("ns1", "app=web", "9", 20)]
    assert [s.pod for s in selection.sources] == ["first"]


def test_bad_arguments_are_refused_before_the_first_lookup() -> None:
    with pytest.raises(errors.InvalidInput, match="not both"):
        next(choose_sources("p", "ns1", selector="app=a"))
    with pytest.raises(errors.InvalidInput, match="NAME or TYPE/NAME"):
        next(choose_sources("deploy/a/b", "ns1"))
