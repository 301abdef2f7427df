"""Discovery without I/O: which requests learn what a server serves, and what their answers mean.

``fetch`` is the whole exchange of one discovery, as a generator of the requests to send: it
yields a ``Request`` (answered with its ``Response``, or its error thrown in) or a tuple of them
(answered with one ``Response`` or exception each, sent concurrently), and returns the cache
document, whether the server said nothing changed, and the server's own bytes of the document's
bodies where it has them (``cache_file`` writes those as they came). ``group_list_request`` asks
/api or /apis for aggregated discovery (revalidated by ETag); ``legacy_paths`` are the
per-group-version documents of the legacy fallback; the parsers turn answers into a
``ResourceMap``. ``dynkube.discovery`` and ``dynkube.aio.discovery`` send the requests and keep the
caches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, NamedTuple

from ..errors import ApiError, DiscoveryError, NotFound, TransportError
from ..resources import Resource, ResourceMap, Subresource
from . import jsondecode
from .http import Request, Response

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
                     "application/json")
LEGACY_ACCEPT = "application/json"
CACHE_FORMAT = 1

Bodies = tuple[bytes, bytes]
"""The /api and /apis answers of an aggregated discovery, as the server sent them."""
Fetch = Generator["Request | tuple[Request, ...]", Any, "tuple[dict[str, Any], bool, Bodies | None]"]


class _GroupList(NamedTuple):
    """The answer of /api or /apis: aggregated or legacy, its body, whether it was a 304, and the
    body's bytes when they can stand in a cache file as they are (a JSON object in UTF-8)."""

    aggregated: bool
    body: dict[str, Any]
    not_modified: bool = False
    raw: bytes | None = None


def fetch(stored: dict[str, Any] | None, *, aggregated: bool, url: Callable[[str], str]) -> Fetch:
    """One discovery: aggregated {api, apis, etags} or legacy {api, apis, resources, failed}, revalidating
    ``stored`` (the disk cache's document) by ETag, whether it came back unchanged (two 304s), and
    the two answers' bytes when both were new aggregated answers (else None).
    Failing group-versions of legacy discovery are reported in ``failed``, not raised."""
    etags = stored["etags"] if stored and stored.get("kind") == "aggregated" else {}
    core, core_etag = yield from _group_list("/api", etags.get("api"), stored, "api", aggregated, url)
    groups, groups_etag = yield from _group_list("/apis", etags.get("apis"), stored, "apis", aggregated, url)
    if core.aggregated and groups.aggregated:
        document = {"format": CACHE_FORMAT, "kind": "aggregated", "api": core.body, "apis": groups.body,
                    "etags": {"api": core_etag, "apis": groups_etag}}
        bodies = (core.raw, groups.raw) if core.raw is not None and groups.raw is not None else None
        return document, core.not_modified and groups.not_modified, bodies
    core_body = yield from _legacy_body("/api", core, url)
    groups_body = yield from _legacy_body("/apis", groups, url)
    paths = legacy_paths(core_body, groups_body)
    outcomes = yield tuple(legacy_request(path) for path in paths)
    resources: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for path, outcome in zip(paths, outcomes):
        gv = path.split("/", 2)[2]
        try:
            if isinstance(outcome, Exception):
                raise outcome
            resources[gv] = parse_answer(outcome, url(path))
        except (ApiError, TransportError, DiscoveryError) as exc:  # reported, not fatal
            failed[gv] = str(exc)
    return {"format": CACHE_FORMAT, "kind": "legacy", "api": core_body, "apis": groups_body,
            "resources": resources, "failed": failed}, False, None


def _group_list(path: str, etag: str | None, stored: dict[str, Any] | None, key: str, aggregated: bool,
                url: Callable[[str], str]) -> Generator[Request, Response, tuple[_GroupList, str | None]]:
    try:
        response = yield group_list_request(path, aggregated=aggregated, etag=etag)
    except NotFound:
        if path == "/api":  # aggregated API servers may not serve /api at all
            return _GroupList(True, {"kind": "APIGroupDiscoveryList", "items": []}), None
        raise
    if response.status_code == 304 and stored:
        return _GroupList(True, stored[key], True), etag
    body = parse_answer(response, url(path))
    raw = response.content if _embeddable(response.content) else None
    return _GroupList(is_aggregated_content_type(response.headers.get("Content-Type", "")), body, raw=raw), \
        response.headers.get("ETag")


def _embeddable(content: bytes) -> bool:
    """Whether a JSON object's bytes read the same inside another UTF-8 document: they start with
    its brace (no byte-order mark) and are not UTF-16 or UTF-32 (no NUL among the first four)."""
    return content[:1] == b"{" and b"\x00" not in content[:4]


def cache_file(document: dict[str, Any], bodies: Bodies | None, saved: float) -> bytes:
    """The disk cache file of ``document`` saved at ``saved``: an aggregated document's bodies as
    the server sent them when ``bodies`` has them (encoding the 1.3 MB of a server with 2,000 CRDs
    again cost 13-23 ms), else the whole document encoded."""
    if bodies is None or document.get("kind") != "aggregated":
        return json.dumps({**document, "saved": saved}, separators=(",", ":")).encode()
    head = json.dumps({"format": document["format"], "kind": "aggregated", "etags": document["etags"],
                       "saved": saved}, separators=(",", ":")).encode()
    return b"".join((head[:-1], b',"api":', bodies[0], b',"apis":', bodies[1], b"}"))


def _legacy_body(path: str, answer: _GroupList, url: Callable[[str], str]
                 ) -> Generator[Request, Response, dict[str, Any]]:
    """The legacy document at ``path``; asked again when the first answer was aggregated."""
    if not answer.aggregated:
        return answer.body
    response = yield legacy_request(path)
    return parse_answer(response, url(path))


def group_list_request(path: str, *, aggregated: bool = True, etag: str | None = None) -> Request:
    """GET /api or /apis: aggregated discovery asked for first (legacy JSON as the fallback the
    server may choose, or the only one with ``aggregated=False``), revalidated with ``etag``."""
    headers = {"Accept": AGGREGATED_ACCEPT if aggregated else LEGACY_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    return Request("GET", path, headers=headers)


def legacy_request(path: str) -> Request:
    """GET one legacy discovery document (/api, /apis, or a group-version's APIResourceList)."""
    return Request("GET", path, headers={"Accept": LEGACY_ACCEPT})


def legacy_paths(core: dict[str, Any], groups: dict[str, Any]) -> list[str]:
    """The group-version documents legacy discovery fetches, from /api (APIVersions) and /apis (APIGroupList)."""
    paths = [f"/api/{v}" for v in expect_list(core, "versions", "/api")]
    for group in expect_list(groups, "groups", "/apis"):
        for version in expect_list(group, "versions", "/apis"):
            paths.append(f"/apis/{version['groupVersion']}")
    return paths


def is_aggregated_content_type(content_type: str) -> bool:
    """True for ``application/json;g=apidiscovery.k8s.io;v=v2[beta1];as=APIGroupDiscoveryList`` in any order."""
    media, *params = [p.strip() for p in content_type.split(";")]
    values = dict(p.split("=", 1) for p in params if "=" in p)
    return (media.lower() == "application/json" and values.get("g") == "apidiscovery.k8s.io"
            and values.get("v") in ("v2", "v2beta1") and values.get("as") == "APIGroupDiscoveryList")


def parse_answer(response: Response, url: str) -> dict[str, Any]:
    """The JSON object of a discovery answer; DiscoveryError naming ``url`` for anything else."""
    content, content_type = response.content, response.headers.get("Content-Type", "")
    try:
        body = jsondecode.loads(content)
    except ValueError:
        raise DiscoveryError(f"discovery answer from {url} is not JSON (Content-Type {content_type or 'missing'!r}, "
                             f"starts with {content[:80]!r})", url=url) from None
    if not isinstance(body, dict):
        raise DiscoveryError(f"discovery answer from {url} is JSON but not an object "
                             f"(starts with {content[:80]!r})", url=url)
    return body


def expect_list(document: Any, key: str, where: str) -> list[Any]:
    """``document[key]``, which must be a list; DiscoveryError naming ``where`` otherwise."""
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, list):
        raise DiscoveryError(f"discovery document from {where} has no list {key!r}", url=where)
    return value


def parse_cached(document: dict[str, Any]) -> ResourceMap:
    """The ResourceMap of a cache document (aggregated or legacy form); DiscoveryError on a wrong shape."""
    try:
        if document.get("kind") == "aggregated":
            return parse_aggregated([document["api"], document["apis"]])
        if document.get("kind") == "legacy":
            return parse_legacy(document["api"], document["apis"], document["resources"], document.get("failed", {}))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DiscoveryError(f"discovery document has an unexpected shape ({exc.__class__.__name__}: {exc})") from None
    raise DiscoveryError("discovery document of unknown kind")


def parse_aggregated(lists: list[dict[str, Any]]) -> ResourceMap:
    """ResourceMap from APIGroupDiscoveryList documents (/api first, then /apis).

    Versions are in preference order; a ``Stale`` version is dropped and reported as failed;
    resources and subresources without a responseKind are skipped (as client-go does).
    """
    resources: list[Resource] = []
    preferred: dict[str, str] = {}
    failed: dict[str, str] = {}
    for document in lists:
        for group in expect_list(document, "items", "aggregated discovery"):
            name = group.get("metadata", {}).get("name", "")
            for version in group.get("versions") or []:
                gv = f"{name}/{version['version']}" if name else version["version"]
                if version.get("freshness") == "Stale":
                    failed[gv] = "stale: the aggregated API server has not answered discovery"
                    continue
                is_preferred = preferred.setdefault(name, version["version"]) == version["version"]
                resources.extend(_aggregated_resource(r, name, version["version"], is_preferred)
                                 for r in version.get("resources") or [] if (r.get("responseKind") or {}).get("kind"))
    return ResourceMap(resources, preferred, failed)


def _aggregated_resource(entry: dict[str, Any], group: str, version: str, preferred: bool) -> Resource:
    kind = entry["responseKind"]["kind"]
    subresources = tuple(
        Subresource(name=s["subresource"], kind=s["responseKind"]["kind"],
                    group=s["responseKind"].get("group") or group, version=s["responseKind"].get("version") or version,
                    verbs=frozenset(s.get("verbs") or ()))
        for s in entry.get("subresources") or [] if (s.get("responseKind") or {}).get("kind"))
    return Resource(group=group, version=version, kind=kind, plural=entry["resource"],
                    singular=entry.get("singularResource") or kind.lower(),
                    namespaced=entry.get("scope") == "Namespaced", verbs=frozenset(entry.get("verbs") or ()),
                    short_names=tuple(entry.get("shortNames") or ()), categories=tuple(entry.get("categories") or ()),
                    subresources=subresources, preferred=preferred)


def parse_legacy(core: dict[str, Any], groups: dict[str, Any], lists: dict[str, dict[str, Any]],
                 failed: dict[str, str]) -> ResourceMap:
    """ResourceMap from /api (APIVersions), /apis (APIGroupList) and APIResourceList documents by group-version."""
    resources: list[Resource] = []
    preferred: dict[str, str] = {}
    order: list[tuple[str, str, bool]] = []
    core_versions = expect_list(core, "versions", "/api")
    for i, version in enumerate(core_versions):
        order.append(("", version, i == 0))
    if core_versions:
        preferred[""] = core_versions[0]
    for group in expect_list(groups, "groups", "/apis"):
        preferred_version = str((group.get("preferredVersion") or {}).get("version") or "")
        preferred[group["name"]] = preferred_version
        ordered = sorted(group["versions"], key=lambda v: v["version"] != preferred_version)
        order.extend((group["name"], v["version"], v["version"] == preferred_version) for v in ordered)
    for group, version, is_preferred in order:
        gv = f"{group}/{version}" if group else version
        if gv in lists:
            resources.extend(_legacy_resources(lists[gv], group, version, is_preferred))
    return ResourceMap(resources, preferred, dict(failed))


def _legacy_resources(document: dict[str, Any], group: str, version: str, preferred: bool) -> list[Resource]:
    entries = expect_list(document, "resources", f"{group}/{version}")
    subs: dict[str, list[Subresource]] = {}
    for e in entries:
        if "/" in e["name"]:
            parent, sub = e["name"].split("/", 1)
            subs.setdefault(parent, []).append(Subresource(
                name=sub, kind=e.get("kind", ""), group=e.get("group") or group, version=e.get("version") or version,
                verbs=frozenset(e.get("verbs") or ())))
    return [Resource(group=group, version=version, kind=e["kind"], plural=e["name"],
                     singular=e.get("singularName") or e["kind"].lower(), namespaced=bool(e.get("namespaced")),
                     verbs=frozenset(e.get("verbs") or ()), short_names=tuple(e.get("shortNames") or ()),
                     categories=tuple(e.get("categories") or ()), subresources=tuple(subs.get(e["name"], ())),
                     preferred=preferred)
            for e in entries if "/" not in e["name"]]
