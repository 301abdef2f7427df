"""Resolution rules and URL building, on upstream's recorded discovery documents."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import pytest

from dynkube.core.discovery import parse_aggregated, parse_legacy
from dynkube.errors import AmbiguousResource, InvalidInput, ResourceNotFound
from dynkube.resources import Resource, ResourceMap

from ..conftest import UPSTREAM as UPSTREAM_DATA

UPSTREAM = UPSTREAM_DATA / "discovery"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _load(name: str) -> dict:
    return json.loads((UPSTREAM / name).read_text())


@pytest.fixture(scope="module")
def legacy_map() -> ResourceMap:
    lists = {}
    for path in UPSTREAM.glob("api*__v*.json"):
        document = json.loads(path.read_text())
        lists[document["groupVersion"]] = document
    return parse_legacy(_load("api.json"), _load("apis.json"), lists, {})


@pytest.fixture(scope="module")
def aggregated_map(legacy_map: ResourceMap) -> ResourceMap:
    """Upstream's aggregated /apis, with the core group from the legacy /api/v1 document."""
    core = {"items": [{"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
        {"resource": r.plural, "responseKind": {"group": "", "version": "v1", "kind": r.kind},
         "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
         "verbs": sorted(r.verbs), "shortNames": list(r.short_names), "categories": list(r.categories)}
        for r in legacy_map if r.group == ""]}]}]}
    return parse_aggregated([core, _load("aggregated_v2.json")])


@pytest.mark.parametrize("query", ["deploy", "deployment", "deployments", "Deployment", "DEPLOYMENTS",
                                   "deployments.apps", "deployment.apps", "deploy.apps", "deployment.v1.apps",
                                   "Deployment.v1.apps", "apps/v1/Deployment", "apps/v1/deployments",
                                   "apps/Deployment"])
def test_every_form_resolves_deployments(aggregated_map: ResourceMap, query: str) -> None:
    resource = aggregated_map.resolve(query)
    assert (resource.group, resource.version, resource.kind) == ("apps", "v1", "Deployment")


def test_api_version_and_kind(aggregated_map: ResourceMap) -> None:
    assert aggregated_map.resolve("apps/v1", "Deployment").plural == "deployments"
    assert aggregated_map.resolve("v1", "ConfigMap").group == ""


def test_core_forms(aggregated_map: ResourceMap) -> None:
    assert aggregated_map.resolve("po").plural == "pods"
    assert aggregated_map.resolve("svc").kind == "Service"
    assert aggregated_map.resolve("v1/Pod").plural == "pods"
    assert aggregated_map.resolve("cm").kind == "ConfigMap"


def test_core_group_wins_like_kubectl(aggregated_map: ResourceMap) -> None:
    events = aggregated_map.resolve("events")
    assert events.group == ""
    assert aggregated_map.resolve("events.events.k8s.io").group == "events.k8s.io"


def test_group_prefix(aggregated_map: ResourceMap) -> None:
    assert aggregated_map.resolve("storageclass.storage").group == "storage.k8s.io"


def test_preferred_version_is_used(aggregated_map: ResourceMap) -> None:
    hpa = aggregated_map.resolve("hpa")
    assert (hpa.group, hpa.version) == ("autoscaling", aggregated_map.preferred_versions["autoscaling"])
    assert aggregated_map.resolve("horizontalpodautoscalers.v1.autoscaling").version == "v1"


def test_legacy_and_aggregated_agree_on_preferred_resources(legacy_map: ResourceMap,
                                                            aggregated_map: ResourceMap) -> None:
    def names(m: ResourceMap) -> set[tuple[str, str, str, bool]]:
        return {(r.group, r.plural, r.kind, r.namespaced) for r in m.preferred()}

    # The upstream files come from several commits (see fixtures/upstream/README.md); resource.k8s.io
    # differs between them, so compare the other groups.
    groups = ({r.group for r in aggregated_map} & {r.group for r in legacy_map}) - {"resource.k8s.io"}
    only_agg = {n for n in names(aggregated_map) if n[0] in groups} - names(legacy_map)
    assert only_agg == set()


def test_unknown_name_suggests_close_matches(aggregated_map: ResourceMap) -> None:
    with pytest.raises(ResourceNotFound) as caught:
        aggregated_map.resolve("deploymnts")
    assert "deployments" in caught.value.candidates
    assert "did you mean" in str(caught.value)


@pytest.mark.parametrize("bad", ["", "   ", None, "apps//Deployment", "a/b/c/d", "/pods", "pods/", "dep loy"])
def test_malformed_names_are_invalid_input(aggregated_map: ResourceMap, bad: object) -> None:
    with pytest.raises(InvalidInput):
        aggregated_map.resolve(bad)  # type: ignore[arg-type]


def _crd(group: str, kind: str, short: str) -> Resource:
    return Resource(group=group, version="v1", kind=kind, plural=kind.lower() + "s", singular=kind.lower(),
                    namespaced=True, verbs=frozenset({"get", "list"}), short_names=(short,))


def test_same_kind_in_two_groups_is_ambiguous() -> None:
    resource_map = ResourceMap([_crd("a.example.com", "Certificate", "cert"),
                                _crd("b.example.com", "Certificate", "cert")])
    with pytest.raises(AmbiguousResource) as caught:
        resource_map.resolve("certificates")
    assert set(caught.value.candidates) == {"certificates.a.example.com", "certificates.b.example.com"}
    assert resource_map.resolve("certificates.b.example.com").group == "b.example.com"
    with pytest.raises(AmbiguousResource):
        resource_map.resolve("cert")


def test_plural_beats_short_name() -> None:
    real = _crd("x.io", "Thing", "zz")
    shadow = _crd("y.io", "Other", "things")
    assert ResourceMap([shadow, real]).resolve("things").group == "x.io"


def test_category_all(legacy_map: ResourceMap) -> None:
    assert {r.plural for r in legacy_map.filter(category="all")} >= {"pods", "services", "deployments", "jobs"}


def test_filter_by_verbs_and_scope(aggregated_map: ResourceMap) -> None:
    cluster = aggregated_map.filter(namespaced=False, verbs=["list"])
    assert any(r.plural == "namespaces" for r in cluster)
    assert not any(r.namespaced for r in cluster)


@pytest.mark.parametrize(("args", "path"), [
    (("web", "d1"), "/apis/apps/v1/namespaces/web/deployments/d1"),
    (("web", None), "/apis/apps/v1/namespaces/web/deployments"),
    ((None, None), "/apis/apps/v1/deployments"),
    (("web", "d1", "scale"), "/apis/apps/v1/namespaces/web/deployments/d1/scale"),
])
def test_paths(aggregated_map: ResourceMap, args: tuple, path: str) -> None:
    assert aggregated_map.resolve("deploy").path(*args) == path


def test_cluster_scoped_and_core_paths(aggregated_map: ResourceMap) -> None:
    assert aggregated_map.resolve("namespaces").path("ignored", "web") == "/api/v1/namespaces/web"
    assert aggregated_map.resolve("pods").path("a", "p", "log") == "/api/v1/namespaces/a/pods/p/log"


def test_path_segments_are_checked(aggregated_map: ResourceMap) -> None:
    pods = aggregated_map.resolve("pods")
    for bad in ("", "..", "a/b"):
        with pytest.raises(InvalidInput):
            pods.path("ns", bad)
    with pytest.raises(InvalidInput):
        pods.path("ns", None, "status")


def test_subresources_carry_their_kind(aggregated_map: ResourceMap) -> None:
    scale = aggregated_map.resolve("deploy").subresource("scale")
    assert (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")
    status = aggregated_map.resolve("deploy").subresource("status")
    assert (status.group, status.kind) == ("apps", "Deployment")
    with pytest.raises(ResourceNotFound):
        aggregated_map.resolve("deploy").subresource("nope")


def test_legacy_subresources(legacy_map: ResourceMap) -> None:
    pods = legacy_map.resolve("pods")
    names = {s.name for s in pods.subresources}
    assert {"status", "log", "eviction", "exec"} <= names
    assert pods.subresource("eviction").group == "policy"


def test_stale_versions_are_reported_not_served() -> None:
    document = {"items": [{"metadata": {"name": "metrics.example.com"}, "versions": [
        {"version": "v1", "freshness": "Stale", "resources": []},
        {"version": "v1beta1", "resources": [{"resource": "things", "responseKind": {"kind": "Thing"},
                                              "scope": "Cluster", "verbs": ["get"]}]}]}]}
    resource_map = parse_aggregated([document])
    assert "metrics.example.com/v1" in resource_map.failed
    assert resource_map.preferred_versions["metrics.example.com"] == "v1beta1"
    assert resource_map.resolve("things").version == "v1beta1"


def test_resources_without_response_kind_are_dropped() -> None:
    document = {"items": [{"metadata": {"name": "x.io"}, "versions": [{"version": "v1", "resources": [
        {"resource": "nokind", "responseKind": None, "scope": "Cluster", "verbs": []},
        {"resource": "ok", "responseKind": {"kind": "Ok"}, "scope": "Cluster", "verbs": [],
         "subresources": [{"subresource": "odd", "responseKind": {}}, {"subresource": "status",
                                                                       "responseKind": {"kind": "Ok"}}]}]}]}]}
    resource_map = parse_aggregated([document])
    assert [r.plural for r in resource_map] == ["ok"]
    assert [s.name for s in resource_map.resolve("ok").subresources] == ["status"]


def test_upstream_files_are_where_the_tests_expect() -> None:
    assert Path(UPSTREAM / "aggregated_v2.json").is_file()


def _crd_group(group: str, *resources: tuple[str, str, str, tuple[str, ...]]) -> dict:
    """An aggregated discovery item of a CRD group as kube-apiserver serves one; resources are
    (plural, kind, scope, short names)."""
    return {"metadata": {"name": group}, "versions": [{"version": "v1", "freshness": "Current", "resources": [
        {"resource": plural, "singularResource": kind.lower(), "scope": scope, "shortNames": list(short),
         "responseKind": {"group": group, "version": "v1", "kind": kind}, "verbs": ["get", "list", "watch"]}
        for plural, kind, scope, short in resources]}]}


def _with_crd_groups(legacy_map: ResourceMap, groups: list[dict], *, first: bool = False) -> ResourceMap:
    """Upstream's discovery plus CRD groups, after the built-in groups (the server's order) or before them."""
    core = {"items": [{"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
        {"resource": r.plural, "responseKind": {"group": "", "version": "v1", "kind": r.kind},
         "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
         "verbs": sorted(r.verbs), "shortNames": list(r.short_names)} for r in legacy_map if r.group == ""]}]}]}
    builtin = _load("aggregated_v2.json")["items"]
    items = groups + builtin if first else builtin + groups
    return parse_aggregated([core, {"kind": "APIGroupDiscoveryList", "items": items}])


# Names a large provider (Crossplane's AWS provider: 2,043 CRDs) reuses in its own groups.
_REUSED = [("deployments", "Deployment", "Namespaced", ("deploy",)), ("roles", "Role", "Cluster", ()),
           ("jobs", "Job", "Namespaced", ()), ("pods", "Pod", "Namespaced", ("po",)),
           ("cronjobs", "CronJob", "Namespaced", ("cj",))]


@pytest.mark.parametrize("first", [False, True], ids=["crd-groups-after", "crd-groups-listed-first"])
@pytest.mark.parametrize(("query", "group"), [
    ("deployments", "apps"), ("deployment", "apps"), ("Deployment", "apps"), ("deploy", "apps"),
    ("roles", "rbac.authorization.k8s.io"), ("jobs", "batch"), ("cj", "batch"), ("pods", ""), ("po", ""),
])
def test_builtin_groups_win_over_crd_groups_that_reuse_their_names(legacy_map: ResourceMap, first: bool,
                                                                   query: str, group: str) -> None:
    crd_groups = [_crd_group(f"{name}.aws.upbound.io", *_REUSED) for name in ("ec2", "iam", "batch", "apps")]
    resource_map = _with_crd_groups(legacy_map, crd_groups, first=first)
    assert resource_map.resolve(query).group == group


def test_a_crd_group_is_still_reached_by_its_qualified_name(legacy_map: ResourceMap) -> None:
    resource_map = _with_crd_groups(legacy_map, [_crd_group("ec2.aws.upbound.io", *_REUSED)])
    assert resource_map.resolve("deployments.ec2.aws.upbound.io").group == "ec2.aws.upbound.io"
    assert resource_map.resolve("ec2.aws.upbound.io/v1/roles").group == "ec2.aws.upbound.io"
    assert resource_map.resolve("jobs.batch").group == "batch"  # the exact group wins over the prefix batch.*
    assert resource_map.resolve("ec2.aws.upbound.io/v1", "Job").group == "ec2.aws.upbound.io"


def test_crd_groups_of_equal_standing_stay_ambiguous(legacy_map: ResourceMap) -> None:
    widgets = ("widgets", "Widget", "Namespaced", ("wd",))
    groups = [_crd_group("a.example.com", widgets), _crd_group("b.example.com", widgets)]
    resource_map = _with_crd_groups(legacy_map, groups)
    with pytest.raises(AmbiguousResource) as caught:
        resource_map.resolve("widgets")
    assert caught.value.candidates == ("widgets.a.example.com", "widgets.b.example.com")
    with pytest.raises(AmbiguousResource):
        resource_map.resolve("wd")


def test_thousands_of_crds_reusing_builtin_names_leave_them_resolvable(legacy_map: ResourceMap) -> None:
    groups = [_crd_group(f"g{i}.aws.upbound.io", *_REUSED) for i in range(410)]  # 2,050 resources
    resource_map = _with_crd_groups(legacy_map, groups)
    assert len(resource_map) > 2000
    assert [resource_map.resolve(n).group for n in ("deployments", "roles", "jobs")] == \
        ["apps", "rbac.authorization.k8s.io", "batch"]


def test_every_group_kubernetes_serves_is_builtin() -> None:
    from dynkube.resources import BUILTIN_GROUPS

    recorded = FIXTURES / "discovery" / "aggregated" / "apis.json"
    served = {g["metadata"]["name"] for g in _load("aggregated_v2.json")["items"]}
    served |= {g["name"] for g in _load("apis.json")["groups"]}
    served |= {g["metadata"]["name"] for g in json.loads(recorded.read_text())["items"]} - {"fixtures.dynkube.io"}
    assert served <= BUILTIN_GROUPS, served - BUILTIN_GROUPS
def test_resource_is_a_frozen_value_named_like_kubectl_api_resources(aggregated_map: ResourceMap) -> None:
    deployments = aggregated_map.resolve("deployments")
    assert deployments.name == deployments.plural == "deployments"  # the NAME column
    assert not hasattr(deployments, "count") and not hasattr(deployments, "index")  # no tuple methods
    assert not isinstance(deployments, tuple) and not hasattr(deployments, "__dict__")  # slotted
    with pytest.raises(AttributeError):
        deployments.plural = "other"  # type: ignore[misc]
    positional = Resource("apps", "v1", "Deployment", "deployments", "deployment", True, deployments.verbs,
                          deployments.short_names, deployments.categories, deployments.subresources,
                          deployments.preferred)
    assert positional == deployments and hash(positional) == hash(deployments)
    assert {positional, deployments} == {deployments}
    assert pickle.loads(pickle.dumps(deployments)) == copy.copy(deployments) == deployments
