"""Discovery's fetch plan without a server: the requests it sends and the answers' checks
(dynkube.core.discovery)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dynkube import errors
from dynkube.core.discovery import (AGGREGATED_ACCEPT, Fetch, cache_file, fetch, group_list_request, legacy_paths,
                                    legacy_request, parse_answer)
from dynkube.core.http import Headers, Request, Response

pytestmark = pytest.mark.usefixtures("json_decoder")  # every reader under both decoders

AGGREGATED = Path(__file__).resolve().parents[2] / "fixtures" / "discovery" / "aggregated"


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


def recorded(name: str, body: bytes | None = None, status: int = 200) -> Response:
    """The real server's answer of /api or /apis (fixtures/discovery/aggregated), or another body."""
    headers = json.loads((AGGREGATED / f"{name}.headers.json").read_text())
    return Response(status, Headers(headers), (AGGREGATED / f"{name}.json").read_bytes() if body is None else body)


def answered(flow: Fetch, *answers: Response) -> tuple[dict[str, Any], bool, Any]:
    """What ``flow`` returns when its requests get ``answers``, in order."""
    next(flow)
    for answer in answers:
        try:
            flow.send(answer)
        except StopIteration as stop:
            result: tuple[dict[str, Any], bool, Any] = stop.value
            return result
    raise AssertionError("the discovery asked for more than the answers given")


def test_the_cache_file_holds_the_server_bytes_of_new_answers_and_reads_as_the_document() -> None:
    document, unchanged, bodies = answered(fetch(None, aggregated=True, url=str), recorded("api"), recorded("apis"))
    assert not unchanged
    assert bodies == ((AGGREGATED / "api.json").read_bytes(), (AGGREGATED / "apis.json").read_bytes())
    written = cache_file(document, bodies, 1234.5)
    assert bodies[1] in written
    assert json.loads(written) == {**document, "saved": 1234.5}


def test_answers_that_cannot_stand_in_another_document_are_encoded_again() -> None:
    with_bom = b"\xef\xbb\xbf" + (AGGREGATED / "apis.json").read_bytes()
    document, _, bodies = answered(fetch(None, aggregated=True, url=str), recorded("api"), recorded("apis", with_bom))
    assert bodies is None
    assert json.loads(cache_file(document, bodies, 1.0)) == {**document, "saved": 1.0}


def test_a_revalidated_discovery_has_no_new_bytes() -> None:
    stored, _, bodies = answered(fetch(None, aggregated=True, url=str), recorded("api"), recorded("apis"))
    not_modified = Response(304, Headers({}), b"")
    document, unchanged, again = answered(fetch(stored, aggregated=True, url=str), not_modified, not_modified)
    assert unchanged and again is None and document["apis"] == stored["apis"]
    assert json.loads(cache_file(document, again, 2.0)) == {**document, "saved": 2.0}
