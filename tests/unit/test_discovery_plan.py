"""Discovery's fetch plan without a server: the requests it sends and the answers' checks
(dynkube.core.discovery)."""

from __future__ import annotations

import re

import pytest

from dynkube import errors
from dynkube.core.discovery import AGGREGATED_ACCEPT, group_list_request, legacy_paths, legacy_request, parse_answer
from dynkube.core.http import Headers, Request, Response

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders


def test_group_lists_ask_for_aggregated_discovery_revalidated_by_etag() -> None:
    assert group_list_request("/apis") == Request("GET", "/apis", headers={"Accept": AGGREGATED_ACCEPT})
    assert group_list_request("/api", etag='"abc"') == Request(
        "GET", "/api", headers={"Accept": AGGREGATED_ACCEPT, "If-None-Match": '"abc"'})
    assert group_list_request("/apis", aggregated=False) == Request("GET", "/apis",
                                                                    headers={"Accept": "application/json"})
    assert legacy_request("/apis/apps/v1") == Request("GET", "/apis/apps/v1", headers={"Accept": "application/json"})


def test_legacy_discovery_fetches_every_group_version_core_first() -> None:
    core = {"kind": "APIVersions", "versions": ["v1"]}
    groups = {"kind": "APIGroupList", "groups": [
        {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]},
        {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"},
                                       {"groupVersion": "batch/v1beta1", "version": "v1beta1"}]}]}
    assert legacy_paths(core, groups) == ["/api/v1", "/apis/apps/v1", "/apis/batch/v1", "/apis/batch/v1beta1"]


def test_a_group_list_without_groups_is_a_discovery_error() -> None:
    with pytest.raises(errors.DiscoveryError, match="/apis has no list 'groups'"):
        legacy_paths({"versions": ["v1"]}, {"kind": "Status"})


@pytest.mark.parametrize(("content", "words"), [(b"<html>login</html>", "is not JSON (Content-Type 'text/html'"),
                                                (b"[1]", "is JSON but not an object")])
def test_an_answer_that_is_not_a_json_object_names_the_url(content: bytes, words: str) -> None:
    response = Response(200, Headers({"content-type": "text/html"}), content)
    with pytest.raises(errors.DiscoveryError, match=re.escape(words)) as caught:
        parse_answer(response, "https://server/apis")
    assert "https://server/apis" in str(caught.value)
