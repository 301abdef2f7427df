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
from typing import Any, NamedTuple, Protocol, TypeVar

from ._diskcache import DiskCache, default_cache_root, server_dir_name
from .core.discovery import CACHE_FORMAT, Bodies, Fetch, cache_file, fetch, parse_cached
from .core import jsondecode
from .core.http import Request, Response
from .errors import ApiError, DiscoveryError, ResourceNotFound, TransportError
from .resources import Resource, ResourceMap

log = logging.getLogger(__name__)

DEFAULT_DISK_TTL = 6 * 3600.0  # kubectl's
DEFAULT_MEMORY_TTL = 600.0
MIN_REFRESH_INTERVAL = 1.0
LEGACY_WORKERS = 8

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


class KnownMap(NamedTuple):
    """A discovery cache document and the resource map parsed from it."""

    document: dict[str, Any]
    map: ResourceMap


class DiscoveryCache:
    """What a discovery keeps, without the I/O of asking the server: the map last learned, the
    process-wide memory cache and the disk cache, and the bookkeeping of refreshes. The sync
    ``Discovery`` and ``dynkube.aio.discovery.AsyncDiscovery`` add the asking; both use the same
    caches, so clients of either kind share what one of them learned."""

    def __init__(self, server: str, *, cache_dir: Path | str | None | bool = None,
                 disk_ttl: float = DEFAULT_DISK_TTL, aggregated: bool = True) -> None:
        self._server = server
        root = Path(cache_dir) if isinstance(cache_dir, (str, Path)) else default_cache_root()
        self._disk = None if cache_dir is False else DiskCache(
            root / "discovery" / server_dir_name(self._server), ttl_seconds=None, root=root, decode=jsondecode.loads)
        self._disk_ttl = disk_ttl
        self._known: KnownMap | None = None
        self._generation = 0
        self._last_refresh = 0.0
        self._aggregated = aggregated
        self._memory_key = f"{self._server} aggregated={aggregated}"
        self.stats = {"requests": 0, "not_modified": 0}

    def invalidate(self) -> None:
        """Forget the memory and disk caches of this server; the next use asks the server."""
        self._known = None
        with _MEMORY_LOCK:
            _memory().pop(self._memory_key, None)
        if self._disk:
            self._disk.remove_all()

    def _cached(self) -> tuple[KnownMap | None, KnownMap | None]:
        """The map to use without asking: the memory cache's, else a disk entry younger than the TTL
        (remembered); and the disk entry to revalidate when there is none."""
        with _MEMORY_LOCK:
            cached = _memory().get(self._memory_key)
        if cached is not None:
            return cached, None
        stored = self._read_disk()
        if stored and time.time() - stored.document["saved"] < self._disk_ttl:
            self._remember(stored)
            return stored, None
        return None, stored

    def _previous(self) -> KnownMap | None:
        """What the next request revalidates (its ETags): the newest map of this process, else the disk's."""
        with _MEMORY_LOCK:
            cached = _memory().get(self._memory_key)
        return cached or self._known or self._read_disk()

    def _fetch_flow(self, previous: KnownMap | None) -> Fetch:
        return fetch(previous.document if previous else None, aggregated=self._aggregated, url=self._url)

    def _url(self, path: str) -> str:
        return self._server + path

    def _store(self, previous: KnownMap | None, document: dict[str, Any], unchanged: bool,
               bodies: Bodies | None) -> KnownMap:
        """Keep what a fetch learned: in memory, on disk; the same map object when nothing changed."""
        known = previous if unchanged and previous else KnownMap(document, parse_cached(document))
        if self._disk:
            self._disk.write_bytes("dynkube.json", cache_file(document, bodies, time.time()))
        self._last_refresh = time.monotonic()
        self._generation += 1
        self._remember(known)
        self._known = known
        return known

    def _counted(self, response: Response) -> Response:
        self.stats["requests"] += 1
        if response.status_code == 304:
            self.stats["not_modified"] += 1
        return response

    def _read_disk(self) -> KnownMap | None:
        """The disk cache entry and its map, or None when absent, unreadable or inconsistent."""
        stored = self._disk.read("dynkube.json") if self._disk else None
        if stored is None:
            return None
        problem = cache_document_problem(stored)
        if problem is None:
            try:
                return KnownMap(stored, parse_cached(stored))
            except DiscoveryError as exc:
                problem = str(exc)
        log.warning("ignoring the discovery cache of %s: %s", self._server, problem)
        return None

    def _remember(self, known: KnownMap) -> None:
        with _MEMORY_LOCK:
            _memory()[self._memory_key] = known
        if known.map.failed:
            log.warning("discovery of %s failed for: %s", self._server,
                        "; ".join(f"{gv}: {why}" for gv, why in sorted(known.map.failed.items())))


def served_now(resource: Resource, current: ResourceMap) -> Resource:
    """``resource`` as ``current`` serves it at the same group-version, or ResourceNotFound naming it
    (and where it is served now, if elsewhere): after a 404 for a URL of a cached resource."""
    key = (resource.group, resource.version, resource.plural)
    for candidate in current:
        if (candidate.group, candidate.version, candidate.plural) == key:
            return candidate
    elsewhere = sorted({r.api_version for r in current if (r.group, r.plural) == key[::2]})
    hint = f"; it is now served at {', '.join(elsewhere)}" if elsewhere else ""
    raise ResourceNotFound(f"the server no longer serves {resource.group_resource} ({resource.api_version}, kind "
                           f"{resource.kind}): it was removed since discovery was cached{hint}",
                           name=resource.group_resource, candidates=tuple(elsewhere))


class Sender(Protocol):
    """What discovery needs of its transport (a ``dynkube.transport.Transport``, not imported here:
    the asyncio client uses this module's caches without loading requests)."""

    @property
    def base_url(self) -> str: ...

    def send(self, request: Request) -> Response: ...


class Discovery(DiscoveryCache):
    """The server's resource map, fetched once and cached; refreshed on a miss.

    ``cache_dir=None`` uses ``$KUBECACHEDIR`` or ``~/.kube/cache``; ``cache_dir=False`` turns the
    disk cache off. ``disk_ttl`` is how long a disk entry is used without asking the server.
    ``aggregated=False`` forces legacy per-group-version discovery. ``stats`` counts the discovery
    requests made and the 304 Not Modified answers received.
    """

    def __init__(self, transport: Sender, *, cache_dir: Path | str | None | bool = None,
                 disk_ttl: float = DEFAULT_DISK_TTL, aggregated: bool = True) -> None:
        super().__init__(transport.base_url, cache_dir=cache_dir, disk_ttl=disk_ttl, aggregated=aggregated)
        self.transport = transport
        self._lock = threading.Lock()

    # ---- public ------------------------------------------------------------------------

    @property
    def map(self) -> ResourceMap:
        """The resource map, loading it on first use (memory, disk, then server)."""
        current = self._known
        if current is not None:
            return current.map
        with self._lock:
            if self._known is None:
                fresh, stale = self._cached()
                self._known = fresh or self._fetch_and_store(stale)
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
            return self._fetch_and_store(self._previous()).map

    def recheck(self, resource: Resource) -> Resource:
        """After the server answered 404 for a URL of ``resource`` as if it did not serve it: refresh
        discovery (rate-limited as on a miss) and return the resource as now served at the same
        group-version, or raise ResourceNotFound naming it when the server no longer serves it there."""
        self._refresh_after(self._generation)
        return served_now(resource, self.map)

    def invalidate(self) -> None:
        """Forget the memory and disk caches of this server; the next use asks the server."""
        with self._lock:
            super().invalidate()

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
            self._fetch_and_store(self._previous())
            return True

    def _fetch_and_store(self, previous: KnownMap | None) -> KnownMap:
        """Obey the discovery exchange (``core.discovery.fetch``): one request at a time, or the
        legacy group-versions concurrently; then keep what it learned."""
        flow = self._fetch_flow(previous)
        answer: Any = None
        failure: Exception | None = None
        while True:
            try:
                command = flow.throw(failure) if failure is not None else flow.send(answer)
            except StopIteration as stop:
                return self._store(previous, *stop.value)
            answer, failure = None, None
            if isinstance(command, Request):
                try:
                    answer = self._get(command)
                except (ApiError, TransportError) as exc:
                    failure = exc
            else:
                answer = self._get_all(command)

    def _get_all(self, requests: tuple[Request, ...]) -> list[Response | Exception]:
        from concurrent.futures import ThreadPoolExecutor  # only old servers need it: not at import time

        with ThreadPoolExecutor(max_workers=LEGACY_WORKERS) as pool:
            return list(pool.map(self._try_get, requests))

    def _try_get(self, request: Request) -> Response | Exception:
        try:
            return self._get(request)
        except (ApiError, TransportError) as exc:
            return exc

    def _get(self, request: Request) -> Response:
        return self._counted(self.transport.send(request))


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

