"""Discovery parsing and error mapping on documents recorded from our own real server
(scripts/record_fixtures.py): aggregated and legacy answers of the same server must agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynkube import errors
from dynkube.core.discovery import is_aggregated_content_type, parse_aggregated, parse_legacy
from dynkube.discovery import cache_document_problem
from dynkube.resources import ResourceMap

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _load(relative: str) -> dict:
    return json.loads((FIXTURES / relative).read_text())


@pytest.fixture(scope="module")
def aggregated() -> ResourceMap:
    return parse_aggregated([_load("discovery/aggregated/api.json"), _load("discovery/aggregated/apis.json")])


@pytest.fixture(scope="module")
def legacy() -> ResourceMap:
    lists = {}
    for path in (FIXTURES / "discovery" / "legacy").glob("*__*.json"):
        document = json.loads(path.read_text())
        lists[document["groupVersion"]] = document
    return parse_legacy(_load("discovery/legacy/api.json"), _load("discovery/legacy/apis.json"), lists, {})


def _summary(resource_map: ResourceMap) -> set[tuple]:
    return {(r.group, r.version, r.plural, r.singular, r.kind, r.namespaced, r.verbs, r.short_names,
             r.categories, r.preferred, frozenset((s.name, s.kind, s.group, s.version) for s in r.subresources))
            for r in resource_map}


def test_aggregated_and_legacy_answers_of_one_server_agree(aggregated: ResourceMap, legacy: ResourceMap) -> None:
    assert _summary(aggregated) == _summary(legacy)
    assert aggregated.preferred_versions == legacy.preferred_versions
    assert len(aggregated) > 60


def test_recorded_content_type_is_recognised() -> None:
    headers = _load("discovery/aggregated/apis.headers.json")
    assert is_aggregated_content_type(headers["Content-Type"])
    assert headers["ETag"].startswith('"')


@pytest.mark.parametrize("content_type", [
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io",
    "application/json;charset=utf-8;g=apidiscovery.k8s.io;as=APIGroupDiscoveryList;v=v2beta1",
])
def test_aggregated_content_type_in_any_order(content_type: str) -> None:
    assert is_aggregated_content_type(content_type)


@pytest.mark.parametrize("content_type", ["application/json", "", "text/html",
                                          "application/json;g=apidiscovery.k8s.io;v=v1;as=APIGroupDiscoveryList"])
def test_other_content_types_are_legacy(content_type: str) -> None:
    assert not is_aggregated_content_type(content_type)


@pytest.mark.parametrize("query", ["gz", "gizmo", "gizmos", "Gizmo", "gizmos.fixtures.dynkube.io",
                                   "gizmo.v1.fixtures.dynkube.io", "gizmos.fixtures", "fixtures.dynkube.io/v1/Gizmo"])
def test_crd_lookup_forms(aggregated: ResourceMap, query: str) -> None:
    resource = aggregated.resolve(query)
    assert (resource.group, resource.version, resource.kind) == ("fixtures.dynkube.io", "v1", "Gizmo")


def test_crd_non_preferred_version(aggregated: ResourceMap) -> None:
    beta = aggregated.resolve("gizmos.v1beta1.fixtures.dynkube.io")
    assert beta.version == "v1beta1" and not beta.preferred
    assert aggregated.resolve("fixtures.dynkube.io/v1beta1", "Gizmo").version == "v1beta1"


def test_crd_categories_and_scope(aggregated: ResourceMap) -> None:
    assert {r.plural for r in aggregated.filter(category="dynkube")} == {"gizmos", "clustergizmos"}
    assert "gizmos" in {r.plural for r in aggregated.filter(category="all")}
    assert not aggregated.resolve("cgz").namespaced


def test_crd_subresources(aggregated: ResourceMap) -> None:
    gizmos = aggregated.resolve("gizmos")
    assert {s.name for s in gizmos.subresources} == {"status", "scale"}
    assert gizmos.subresource("scale").kind == "Scale" and gizmos.subresource("scale").group == "autoscaling"


@pytest.mark.parametrize(("name", "cls"), [
    ("not_found", errors.NotFound), ("already_exists", errors.AlreadyExists), ("conflict", errors.Conflict),
    ("invalid", errors.Invalid), ("unsupported_media_type", errors.UnsupportedMediaType),
])
def test_recorded_statuses_map_to_typed_errors(name: str, cls: type) -> None:
    status = _load(f"status/{name}.json")
    error = errors.api_error_from_status(status)
    assert type(error) is cls
    assert error.code == status["code"] and error.message == status["message"]


def test_invalid_status_names_the_field() -> None:
    error = errors.api_error_from_status(_load("status/invalid.json"))
    assert any(c["field"] == "metadata.name" for c in error.causes)


def _cache_document() -> dict:
    """A disk cache document as Discovery writes one, from the recorded answers and their ETags."""
    return {"format": 1, "kind": "aggregated", "saved": 1_700_000_000.0,
            "api": _load("discovery/aggregated/api.json"), "apis": _load("discovery/aggregated/apis.json"),
            "etags": {"api": _load("discovery/aggregated/api.headers.json")["ETag"],
                      "apis": _load("discovery/aggregated/apis.headers.json")["ETag"]}}


def test_a_written_cache_document_is_consistent() -> None:
    assert cache_document_problem(_cache_document()) is None


@pytest.mark.parametrize(("change", "problem"), [
    ({"etags": ['"a"', '"b"']}, "'etags' is not an object"),
    ({"etags": {"api": 12345, "apis": 67890}}, "ETag of /api is not a header value"),
    ({"etags": {"api": '"a"\r\nX-Injected: 1', "apis": None}}, "ETag of /api is not a header value"),
    ({"apis": None}, "no body for /apis"),
    ({"saved": 4_000_000_000.0}, "in the future"),
    ({"saved": "yesterday"}, "no saving time"),
    ({"saved": True}, "no saving time"),
    ({"format": 2}, "not of format 1"),
    ({"kind": "mystery"}, "not of format 1"),
])
def test_an_inconsistent_cache_document_says_why(change: dict, problem: str) -> None:
    document = {**_cache_document(), **change}
    assert problem in (cache_document_problem(document) or "")


def test_a_cache_document_that_is_not_an_object_is_inconsistent() -> None:
    assert cache_document_problem([1, 2]) == "it is not a JSON object"
