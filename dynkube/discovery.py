"""Discovery: what the server serves, learned from /api and /apis and kept in a cache.

Aggregated discovery (apidiscovery.k8s.io/v2, then v2beta1) first: two requests for the whole
cluster. Legacy per-group-version documents are the fallback, fetched concurrently, with failing
group-versions reported rather than fatal. This module owns every discovery HTTP request and the
discovery caches (process memory, then disk with kubectl's 6 h TTL and ETag revalidation);
nothing else fetches /api or /apis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ._diskcache import DiskCache, default_cache_root, server_dir_name
from .core.discovery import (group_list_request, is_aggregated_content_type, legacy_paths, legacy_request,
                             parse_answer, parse_cached)
from .core import jsondecode
from .core.http import Request, Response
from .errors import ApiError, DiscoveryError, NotFound, ResourceNotFound, TransportError
from .resources import Resource, ResourceMap
from .transport import Transport

log = logging.getLogger(__name__)

DEFAULT_DISK_TTL = 6 * 3600.0  # kubectl's
DEFAULT_MEMORY_TTL = 600.0
MIN_REFRESH_INTERVAL = 1.0
LEGACY_WORKERS = 8
CACHE_FORMAT = 1

# Parsed maps shared by every client of the same server in this process.
_MEMORY_LOCK = threading.Lock()
_memory_cache: Any = None


def _memory() -> Any:
    """The process-wide TTL cache of parsed maps (a cachetools.TTLCache, created on first use so that
    ``import dynkube`` does not import cachetools). Call with _MEMORY_LOCK held."""
    global _memory_cache
    if _memory_cache is None:
        import cachetools

        _memory_cache = cachetools.TTLCache(maxsize=32, ttl=DEFAULT_MEMORY_TTL)
    return _memory_cache

T = TypeVar("T")


class _Known(NamedTuple):
    """A discovery cache document and the resource map parsed from it."""

    document: dict[str, Any]
    map: ResourceMap


class Discovery:
    """The server's resource map, fetched once and cached; refreshed on a miss.

    ``cache_dir=None`` uses ``$KUBECACHEDIR`` or ``~/.kube/cache``; ``cache_dir=False`` turns the
    disk cache off. ``disk_ttl`` is how long a disk entry is used without asking the server.
    ``aggregated=False`` forces legacy per-group-version discovery. ``stats`` counts the discovery
    requests made and the 304 Not Modified answers received.
    """

    def __init__(self, transport: Transport, *, cache_dir: Path | str | None | bool = None,
                 disk_ttl: float = DEFAULT_DISK_TTL, aggregated: bool = True) -> None:
        self.transport = transport
        self._server = transport.base_url
        root = Path(cache_dir) if isinstance(cache_dir, (str, Path)) else default_cache_root()
        self._disk = None if cache_dir is False else DiskCache(
            root / "discovery" / server_dir_name(self._server), ttl_seconds=None, root=root, decode=jsondecode.loads)
        self._disk_ttl = disk_ttl
        self._lock = threading.Lock()
        self._known: _Known | None = None
        self._generation = 0
        self._last_refresh = 0.0
        self._aggregated = aggregated
        self._memory_key = f"{self._server} aggregated={aggregated}"
        self.stats = {"requests": 0, "not_modified": 0}

    # ---- public ------------------------------------------------------------------------

    @property
    def map(self) -> ResourceMap:
        """The resource map, loading it on first use (memory, disk, then server)."""
        current = self._known
        if current is not None:
            return current.map
        with self._lock:
            if self._known is None:
                self._known = self._load()
            return self._known.map

    def resolve(self, name: str, kind: str | None = None) -> Resource:
        """ResourceMap.resolve, refreshing discovery once on a miss (e.g. a CRD created a moment ago)."""
        return self.with_refresh_on_miss(lambda m: m.resolve(name, kind))

    def with_refresh_on_miss(self, lookup: Callable[[ResourceMap], T]) -> T:
        """Run ``lookup`` on the map; if it raises ResourceNotFound, refresh once and run it again.

        An ambiguous name (AmbiguousResource) is not a miss: it is raised at once, without a refresh.
        """
        generation = self._generation
        try:
            return lookup(self.map)
        except ResourceNotFound:
            if not self._refresh_after(generation):
                raise
        return lookup(self.map)

    def refresh(self) -> ResourceMap:
        """Ask the server again now (revalidating with ETags: two 304s when nothing changed), and
        replace the cached map. When nothing changed the same ResourceMap object is kept."""
        with self._lock:
            self._known = self._fetch_and_store(self._previous())
            return self._known.map

    def recheck(self, resource: Resource) -> Resource:
        """After the server answered 404 for a URL of ``resource`` as if it did not serve it: refresh
        discovery (rate-limited as on a miss) and return the resource as now served at the same
        group-version, or raise ResourceNotFound naming it when the server no longer serves it there."""
        self._refresh_after(self._generation)
        current = self.map
        key = (resource.group, resource.version, resource.plural)
        for candidate in current:
            if (candidate.group, candidate.version, candidate.plural) == key:
                return candidate
        elsewhere = sorted({r.api_version for r in current if (r.group, r.plural) == key[::2]})
        hint = f"; it is now served at {', '.join(elsewhere)}" if elsewhere else ""
        raise ResourceNotFound(f"the server no longer serves {resource.group_resource} ({resource.api_version}, kind "
                               f"{resource.kind}): it was removed since discovery was cached{hint}",
                               name=resource.group_resource, candidates=tuple(elsewhere))

    def invalidate(self) -> None:
        """Forget the memory and disk caches of this server; the next use asks the server."""
        with self._lock:
            self._known = None
            with _MEMORY_LOCK:
                _memory().pop(self._memory_key, None)
            if self._disk:
                self._disk.remove_all()

    # ---- loading -----------------------------------------------------------------------

    def _refresh_after(self, generation: int) -> bool:
        """Refresh unless another thread already did since ``generation``.

        Refreshes are at least MIN_REFRESH_INTERVAL apart: a caller that misses sooner waits for
        the interval to pass, so a loop of typos costs at most one refresh a second.
        """
        with self._lock:
            if self._generation != generation:
                return True
            wait = self._last_refresh + MIN_REFRESH_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._known = self._fetch_and_store(self._previous())
            return True

    def _load(self) -> _Known:
        with _MEMORY_LOCK:
            cached = _memory().get(self._memory_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        stored = self._read_disk()
        if stored and time.time() - stored.document["saved"] < self._disk_ttl:
            self._remember(stored)
            return stored
        return self._fetch_and_store(stored)

    def _previous(self) -> _Known | None:
        """What the next request revalidates (its ETags): the newest map of this process, else the disk's."""
        with _MEMORY_LOCK:
            cached = _memory().get(self._memory_key)
        return cached or self._known or self._read_disk()

    def _fetch_and_store(self, previous: _Known | None) -> _Known:
        document, unchanged = self._fetch(previous.document if previous else None)
        known = previous if unchanged and previous else _Known(document, parse_cached(document))
        if self._disk:
            self._disk.write("dynkube.json", {**document, "saved": time.time()})
        self._last_refresh = time.monotonic()
        self._generation += 1
        self._remember(known)
        return known

    def _read_disk(self) -> _Known | None:
        """The disk cache entry and its map, or None when absent, unreadable or inconsistent."""
        stored = self._disk.read("dynkube.json") if self._disk else None
        if stored is None:
            return None
        problem = cache_document_problem(stored)
        if problem is None:
            try:
                return _Known(stored, parse_cached(stored))
            except DiscoveryError as exc:
                problem = str(exc)
        log.warning("ignoring the discovery cache of %s: %s", self._server, problem)
        return None

    def _remember(self, known: _Known) -> None:
        with _MEMORY_LOCK:
            _memory()[self._memory_key] = known
        if known.map.failed:
            log.warning("discovery of %s failed for: %s", self._server,
                        "; ".join(f"{gv}: {why}" for gv, why in sorted(known.map.failed.items())))

    def _fetch(self, stored: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """A cache document, aggregated {api, apis, etags} or legacy {api, apis, resources, failed},
        and whether it is ``stored`` unchanged (both answers 304 Not Modified)."""
        etags = stored["etags"] if stored and stored.get("kind") == "aggregated" else {}
        core, core_etag = self._get_aggregated("/api", etags.get("api"), stored, "api")
        groups, groups_etag = self._get_aggregated("/apis", etags.get("apis"), stored, "apis")
        if _is_aggregated(core) and _is_aggregated(groups):
            document = {"format": CACHE_FORMAT, "kind": "aggregated", "api": core["body"], "apis": groups["body"],
                        "etags": {"api": core_etag, "apis": groups_etag}}
            return document, bool(core.get("not_modified") and groups.get("not_modified"))
        return self._fetch_legacy(self._legacy_body("/api", core), self._legacy_body("/apis", groups)), False

    def _legacy_body(self, path: str, answer: dict[str, Any]) -> dict[str, Any]:
        """The legacy document at ``path``; asked again when the first answer was aggregated."""
        if not _is_aggregated(answer):
            body: dict[str, Any] = answer["body"]
            return body
        return parse_answer(self._get(legacy_request(path)), self.transport.url(path))

    def _get_aggregated(self, path: str, etag: str | None, stored: dict[str, Any] | None,
                        key: str) -> tuple[dict[str, Any], str | None]:
        try:
            response = self._get(group_list_request(path, aggregated=self._aggregated, etag=etag))
        except NotFound:
            if path == "/api":  # aggregated API servers may not serve /api at all
                return {"aggregated": True, "body": {"kind": "APIGroupDiscoveryList", "items": []}}, None
            raise
        if response.status_code == 304 and stored:
            return {"aggregated": True, "body": stored[key], "not_modified": True}, etag
        body = parse_answer(response, self.transport.url(path))
        aggregated = is_aggregated_content_type(response.headers.get("Content-Type", ""))
        return {"aggregated": aggregated, "body": body}, response.headers.get("ETag")

    def _fetch_legacy(self, core: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
        """Legacy discovery: the group lists we already have, then every group-version concurrently."""
        paths = legacy_paths(core, groups)
        from concurrent.futures import ThreadPoolExecutor  # only old servers need it: not at import time

        resources: dict[str, Any] = {}
        failed: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=LEGACY_WORKERS) as pool:
            for path, outcome in zip(paths, pool.map(self._try_get_json, paths)):
                gv = path.split("/", 2)[2]
                if isinstance(outcome, Exception):
                    failed[gv] = str(outcome)
                else:
                    resources[gv] = outcome
        return {"format": CACHE_FORMAT, "kind": "legacy", "api": core, "apis": groups,
                "resources": resources, "failed": failed}

    def _try_get_json(self, path: str) -> Any:
        try:
            return parse_answer(self._get(legacy_request(path)), self.transport.url(path))
        except (ApiError, TransportError, DiscoveryError) as exc:
            return exc

    def _get(self, request: Request) -> Response:
        self.stats["requests"] += 1
        response = self.transport.send(request)
        if response.status_code == 304:
            self.stats["not_modified"] += 1
        return response


def clear_memory_cache() -> None:
    """Forget the discovery maps this process keeps for every server (the disk cache stays)."""
    with _MEMORY_LOCK:
        _memory().clear()


# ---- the disk cache's documents -------------------------------------------------------------

def cache_document_problem(document: Any) -> str | None:
    """Why a disk cache document cannot be used as it is, or None.

    Beyond its shape (checked by parse_cached): the format, a saving time that is a number and not
    in the future, and ETags that are strings, each with the body it stands for.
    """
    if not isinstance(document, dict):
        return "it is not a JSON object"
    if document.get("format") != CACHE_FORMAT or document.get("kind") not in ("aggregated", "legacy"):
        return f"it is not of format {CACHE_FORMAT} (aggregated or legacy)"
    saved = document.get("saved")
    if isinstance(saved, bool) or not isinstance(saved, (int, float)):
        return "it has no saving time"
    if saved > time.time():
        return "its saving time is in the future"
    if document["kind"] == "aggregated":
        etags = document.get("etags")
        if not isinstance(etags, dict):
            return "its 'etags' is not an object"
        for key in ("api", "apis"):
            etag = etags.get(key)
            if etag is not None and not (isinstance(etag, str) and etag.isascii() and etag.isprintable()
                                         and etag and etag == etag.strip()):
                return f"its ETag of /{key} is not a header value: {etag!r:.60}"
            if not isinstance(document.get(key), dict):
                return f"it has no body for /{key}"
    return None


def _is_aggregated(answer: dict[str, Any]) -> bool:
    return bool(answer["aggregated"])
