"""Discovery for the asyncio client: the same exchange (``dynkube.core.discovery.fetch``), the same
memory and disk caches (``dynkube.discovery.DiscoveryCache``) as the sync client's, asked with ``await``.

A sync and an async client of the same server in one process share the parsed map; clients in
different processes share the disk cache, whose writes are atomic (a file renamed into place).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..core.http import Request, Response
from ..discovery import DEFAULT_DISK_TTL, MIN_REFRESH_INTERVAL, DiscoveryCache, KnownMap, served_now
from ..errors import ApiError, ResourceNotFound, TransportError
from ..resources import Resource, ResourceMap
from .transport import AsyncTransport

T = TypeVar("T")


class AsyncDiscovery(DiscoveryCache):
    """The server's resource map, fetched once and cached, refreshed on a miss; see ``dynkube.Discovery``
    (the same arguments and caches). Its methods are awaited."""

    def __init__(self, transport: AsyncTransport, *, cache_dir: Path | str | None | bool = None,
                 disk_ttl: float = DEFAULT_DISK_TTL, aggregated: bool = True) -> None:
        super().__init__(transport.base_url, cache_dir=cache_dir, disk_ttl=disk_ttl, aggregated=aggregated)
        self.transport = transport
        self._lock: asyncio.Lock | None = None

    @property
    def cached_map(self) -> ResourceMap | None:
        """The map this discovery holds now, without asking (None before the first use)."""
        return self._known.map if self._known is not None else None

    async def resource_map(self) -> ResourceMap:
        """The resource map, loading it on first use (memory, disk, then server)."""
        current = self._known
        if current is not None:
            return current.map
        async with self._locked():
            if self._known is None:
                fresh, stale = self._cached()
                self._known = fresh or await self._fetch_and_store(stale)
            return self._known.map

    async def resolve(self, name: str, kind: str | None = None) -> Resource:
        """ResourceMap.resolve, refreshing discovery once on a miss (e.g. a CRD created a moment ago)."""
        return await self.with_refresh_on_miss(lambda m: m.resolve(name, kind))

    async def with_refresh_on_miss(self, lookup: Callable[[ResourceMap], T]) -> T:
        """Run ``lookup`` on the map; if it raises ResourceNotFound, refresh once and run it again.
        An ambiguous name is not a miss: it is raised at once."""
        generation = self._generation
        try:
            return lookup(await self.resource_map())
        except ResourceNotFound:
            await self._refresh_after(generation)
        return lookup(await self.resource_map())

    async def refresh(self) -> ResourceMap:
        """Ask the server again now (ETag revalidation) and replace the cached map; the same map
        object is kept when nothing changed."""
        async with self._locked():
            return (await self._fetch_and_store(self._previous())).map

    async def recheck(self, resource: Resource) -> Resource:
        """After a 404 for a URL of ``resource`` as if the server did not serve it: refresh (rate-limited
        as on a miss) and return the resource as now served, or raise ResourceNotFound naming it."""
        await self._refresh_after(self._generation)
        return served_now(resource, await self.resource_map())

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:  # made in the loop that first uses it
            self._lock = asyncio.Lock()
        return self._lock

    async def _refresh_after(self, generation: int) -> None:
        """Refresh unless another task already did since ``generation``; at most one a second."""
        async with self._locked():
            if self._generation != generation:
                return
            wait = self._last_refresh + MIN_REFRESH_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._fetch_and_store(self._previous())

    async def _fetch_and_store(self, previous: KnownMap | None) -> KnownMap:
        """Obey the discovery exchange: one request at a time, or the legacy group-versions together."""
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
                    answer = await self._get(command)
                except (ApiError, TransportError) as exc:
                    failure = exc
            else:
                answer = await asyncio.gather(*(self._try_get(r) for r in command))

    async def _try_get(self, request: Request) -> Response | Exception:
        try:
            return await self._get(request)
        except (ApiError, TransportError) as exc:
            return exc

    async def _get(self, request: Request) -> Response:
        return self._counted(await self.transport.send(request))
