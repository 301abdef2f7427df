"""The asyncio client: ``dynkube.aio.Client`` and its resource clients.

Every verb is the sync client's (``dynkube.verbs``: the same signatures, docstrings, checks and
requests), driven here with ``await``: a verb is a coroutine, a list an async iterator, a watch an
async iterator and async context manager. One client belongs to one event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .. import raw, verbs
from ..config import Config, check_client_arguments, load_client_config
from ..connection import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_TIMEOUT
from ..core import calls
from ..core.calls import Call, describe
from ..core.channels import ExecResult
from ..core.exchange import RetryPolicy, Timeout
from ..core.http import Request, build_request
from ..core.watchplan import WatchPlan
from ..discovery import DEFAULT_DISK_TTL
from ..errors import InvalidInput, NotFound, ResourceNotFound
from ..objects import ApiList, ApiObject
from ..resources import Resource, ResourceMap
from ..verbs import Plan, ResourceNames, Target, check_validation
from . import streaming
from .discovery import AsyncDiscovery
from .streaming import ExecStream, Opening, OpenStreams, PortConnection, PortForwarder
from .transport import AsyncStream, AsyncTransport
from .watch import Watch

if TYPE_CHECKING:  # imported when first needed (blocking()): it loads requests and urllib3
    from ..client import Client as SyncClient

P = ParamSpec("P")
T = TypeVar("T")


class Client:
    """An asyncio client for one cluster as one user: the arguments of ``dynkube.Client``, the same
    configuration loading (constructing a client makes no network request), ``await`` on every call.

    Use one client per event loop (``async with dynkube.aio.Client() as client:``); ``close()``
    closes every connection.
    """

    def __init__(self, config: Config | None = None, *, kubeconfig: str | Path | None = None,
                 context: str | None = None, namespace: str | None = None, qps: float | None = DEFAULT_QPS,
                 burst: int = DEFAULT_BURST, timeout: Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy = RetryPolicy(),
                 cache_dir: str | Path | None | bool = None, discovery_ttl: float = DEFAULT_DISK_TTL) -> None:
        check_client_arguments(config, kubeconfig, context, namespace, cache_dir, discovery_ttl)
        if config is None:
            config = load_client_config(kubeconfig, context)
        self.config = config
        self.namespace = namespace or config.namespace
        self.transport = AsyncTransport(config, qps=qps, burst=burst, timeout=timeout, retry=retry)
        self.discovery = AsyncDiscovery(self.transport, cache_dir=cache_dir, disk_ttl=discovery_ttl)
        self._blocking_settings: dict[str, Any] = {"namespace": self.namespace, "qps": qps, "burst": burst,
                                                   "timeout": timeout, "retry": retry, "cache_dir": cache_dir,
                                                   "discovery_ttl": discovery_ttl}
        self._blocking: SyncClient | None = None
        self._streams = OpenStreams()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every connection of this client, its open streams and port-forwards too."""
        await self._streams.close()
        await self.transport.close()
        if self._blocking is not None:
            self._blocking.close()

    def __repr__(self) -> str:
        return f"<dynkube.aio.Client {self.config.server} namespace={self.namespace!r}>"

    # ---- resolution --------------------------------------------------------------------

    async def resource(self, name: str | Resource, kind: str | None = None) -> ResourceClient:
        """The resource meant by ``name`` (every form ``dynkube.Client.resource`` takes), refreshing
        discovery once if the name is unknown."""
        if isinstance(name, Resource):
            return ResourceClient(self, name)
        return ResourceClient(self, await self.discovery.resolve(name, kind))

    async def resource_for(self, obj: Mapping[str, Any]) -> ResourceClient:
        """The resource of an object, from its ``apiVersion`` and ``kind``."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise InvalidInput(f"object {describe(obj)} needs both apiVersion and kind")
        return await self.resource(str(api_version), str(kind))

    async def api_resources(self, *, cached: bool = False, **criteria: Any) -> list[Resource]:
        """What the server serves now (see ``dynkube.Client.api_resources``)."""
        return (await self.api_map(cached=cached)).filter(**criteria)

    async def api_map(self, *, cached: bool = False) -> ResourceMap:
        """The full resource map as the server serves it now (``cached=True``: from the cache)."""
        return await (self.discovery.resource_map() if cached else self.discovery.refresh())

    async def resources_in_category(self, category: str) -> list[ResourceClient]:
        """Resources in a category such as ``all`` (refreshing discovery once if there are none)."""
        def lookup(m: ResourceMap) -> list[Resource]:
            found = m.filter(category=category)
            if not found:
                raise ResourceNotFound(f"no resource is in category {category!r}", name=category)
            return found

        return [ResourceClient(self, r) for r in await self.discovery.with_refresh_on_miss(lookup)]

    async def version(self) -> ApiObject:
        """The server's /version document."""
        return ApiObject(await self.transport.request_json("GET", "/version"))

    async def request(self, method: str, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str | None = None, accept: Any = "json",
                      timeout: Timeout = None) -> Any:
        """Send any request to a path of the server, as ``dynkube.Client.request``; ``accept="lines"``
        gives an async iterator of lines as they arrive (close it, or read it to the end)."""
        method = raw.check_request(method, path, headers)
        form = raw.answer_form(accept)
        send = dict(headers or {})
        send.setdefault("Accept", "application/json" if form is raw.Answer.JSON else raw.ACCEPT_ANY)
        request = build_request(method, path, params=params, headers=send, **raw.body_arguments(body, content_type))
        if form is raw.Answer.LINES:
            return _lines(await self.transport.stream(request._replace(stream=True), timeout=timeout))
        return raw.read_answer(await self.transport.send(request, timeout=timeout), form, method,
                               self.transport.url(path))

    # ---- schemas (a sync client on a worker thread) -------------------------------------

    def blocking(self) -> SyncClient:
        """The sync ``dynkube.Client`` of the same configuration and caches, for what this client
        runs on a worker thread (schema fetching and validation); made on first use."""
        if self._blocking is None:
            from ..client import Client as SyncClient

            self._blocking = SyncClient(self.config, **self._blocking_settings)
        return self._blocking

    async def validate(self, obj: Mapping[str, Any], *, strict: bool = False) -> list[Any]:
        """``dynkube.Client.validate`` (the server's OpenAPI schema, fetched and checked on a worker thread)."""
        return await asyncio.to_thread(self.blocking().validate, obj, strict=strict)

    async def explain(self, path: str, *, recursive: bool = False, api_version: str | None = None) -> Any:
        """``dynkube.Client.explain``, on a worker thread."""
        return await asyncio.to_thread(self.blocking().explain, path, recursive=recursive, api_version=api_version)

    # ---- inside pods: exec, attach, port-forward (WebSocket; dynkube.aio.streaming) -----

    async def exec(self, pod: str, command: builtins.list[str], namespace: str | None = None, *,
                   container: str | None = None, stdin: bytes | str | None = None, tty: bool = False,
                   timeout: float | None = None) -> ExecResult:
        """Run ``command`` in a container of ``pod`` to its end (``dynkube.Client.exec``): ``stdin``
        fed to it (then EOF); stdout, stderr and the exit code as an ``ExecResult``."""
        data = stdin.encode() if isinstance(stdin, str) else stdin
        if tty and data is None:
            data = b""  # a terminal needs an input side (as kubectl's -t needs -i)
        stream = await self.exec_stream(pod, command, namespace, container=container, stdin=data is not None, tty=tty)
        return await streaming.run(stream, data, timeout)

    def exec_stream(self, pod: str, command: builtins.list[str], namespace: str | None = None, *,
                    container: str | None = None, stdin: bool = False, stdout: bool = True, stderr: bool = True,
                    tty: bool = False) -> Opening[ExecStream]:
        """Start ``command`` in ``pod``: ``await`` it for the open ``ExecStream`` (``write``,
        ``close_stdin``, ``read``, ``resize``, ``wait``, ``close``, all awaited), or ``async with``
        it. Bad arguments raise here, before anything is sent."""
        request = calls.exec_request(namespace or self.namespace, pod, command, container=container, stdin=stdin,
                                     stdout=stdout, stderr=stderr, tty=tty)
        return Opening(lambda: streaming.open_stream(self.transport, request, self._streams))

    def attach(self, pod: str, namespace: str | None = None, *, container: str | None = None, stdin: bool = False,
               stdout: bool = True, stderr: bool = True, tty: bool = False) -> Opening[ExecStream]:
        """Attach to the main process of a container of ``pod`` (``kubectl attach``): the same stream
        as ``exec_stream``, awaited or ``async with``."""
        request = calls.attach_request(namespace or self.namespace, pod, container=container, stdin=stdin,
                                       stdout=stdout, stderr=stderr, tty=tty)
        return Opening(lambda: streaming.open_stream(self.transport, request, self._streams))

    def connect_port(self, pod: str, port: int, namespace: str | None = None) -> Opening[PortConnection]:
        """One TCP connection to ``port`` of ``pod`` through the API server: ``await`` it (or ``async
        with``) for a ``PortConnection`` (``sendall``, ``recv``, ``close``, awaited)."""
        request = calls.port_forward_request(namespace or self.namespace, pod, port)
        return Opening(lambda: streaming.connect_port(self.transport, request, port, self._streams))

    def port_forward(self, pod: str, ports: builtins.list[str | int | tuple[int, int]] | str | int,
                     namespace: str | None = None, *, address: str = "127.0.0.1") -> Opening[PortForwarder]:
        """Listen locally and forward each connection to a port of ``pod`` (``dynkube.Client.port_forward``,
        the same ``ports`` forms): ``await`` it for a started ``PortForwarder`` (``await stop()`` it),
        or ``async with`` it. Bad ports, pod or namespace raise here, before listening."""
        pairs = calls.port_pairs(ports)
        namespace = namespace or self.namespace
        calls.port_forward_request(namespace, pod, pairs[0][1])
        forwarder = PortForwarder(lambda remote: self.connect_port(pod, remote, namespace), pairs, address,
                                  self._streams)
        return Opening(forwarder.start)


async def _lines(stream: AsyncStream) -> AsyncGenerator[str, None]:
    try:
        splitter = raw.LineSplitter()
        async for chunk in stream.chunks(65536):
            for line in splitter.feed(chunk):
                yield line
        for line in splitter.rest():
            yield line
    finally:
        stream.close()


# ---- the verbs, driven with await ------------------------------------------------------------

def _sends(plan: Callable[Concatenate[Target, P], Plan[T]]
           ) -> Callable[Concatenate[ResourceClient, P], Coroutine[Any, Any, T]]:
    """The coroutine of a verb that sends one request; its arguments are checked when awaited."""
    @functools.wraps(plan)
    async def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(plan(self, *args, **kwargs))
    return verb


def _pages(plan: Callable[Concatenate[Target, P], Plan[ApiList]]
           ) -> Callable[Concatenate[ResourceClient, P], AsyncIterator[ApiList]]:
    """The async iterator of a paged list's pages (bad arguments raise at the call)."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[ApiList]:
        return self._pages(plan(self, *args, **kwargs))
    return verb


def _items(plan: Callable[Concatenate[Target, P], Plan[ApiList]]
           ) -> Callable[Concatenate[ResourceClient, P], AsyncIterator[ApiObject]]:
    """The async iterator of a list's objects, page after page (bad arguments raise at the call)."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[ApiObject]:
        return self._items(plan(self, *args, **kwargs))
    return verb


def _watches(plan: Callable[Concatenate[Target, P], WatchPlan]) -> Callable[Concatenate[ResourceClient, P], Watch]:
    """The async watch of a verb (it connects on its first step; bad arguments raise at the call)."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> Watch:
        return self._watch(plan(self, *args, **kwargs))
    return verb


class ResourceClient(ResourceNames):
    """Every verb on one resource, awaited: the verbs of ``dynkube.ResourceClient`` (``dynkube.verbs``)."""

    def __init__(self, client: Client, resource: Resource) -> None:
        self.client = client
        self.resource = resource
        self._transport = client.transport

    def __repr__(self) -> str:
        resource = self.resource
        return f"<dynkube.aio.ResourceClient {resource.group_resource} {resource.api_version} kind={self.kind}>"

    @property
    def default_namespace(self) -> str | None:
        """The namespace of a namespaced verb given none: the client's."""
        return self.client.namespace

    get = _sends(verbs.get)
    list = _items(verbs.list)
    list_pages = _pages(verbs.list_pages)
    list_page = _sends(verbs.list_page)
    watch = _watches(verbs.watch)
    create = _sends(verbs.create)
    replace = _sends(verbs.replace)
    patch = _sends(verbs.patch)
    apply = _sends(verbs.apply)
    delete = _sends(verbs.delete)
    delete_collection = _sends(verbs.delete_collection)

    # ---- the driver ----------------------------------------------------------------------

    async def _run(self, plan: Plan[T]) -> T:
        if plan.validate is not None:
            check = plan.validate
            schemas = self.client.blocking().schemas
            check_validation(check, await asyncio.to_thread(schemas.validate, check.body, self.group, self.version,
                                                            self.kind, strict=check.strict))
        return await self._execute(plan.call, timeout=plan.timeout)

    async def _pages(self, plan: Plan[ApiList]) -> AsyncGenerator[ApiList, None]:
        request: Request | None = plan.call.request
        while request is not None:
            page = await self._execute(Call(request, plan.call.parse), timeout=plan.timeout)
            request = calls.next_page(request, page)
            yield page
            del page  # not held while the next page arrives: one page in memory at a time

    async def _items(self, plan: Plan[ApiList]) -> AsyncGenerator[ApiObject, None]:
        async for page in self._pages(plan):
            for item in page.items:
                yield item
            del page  # as in _pages: not held while the next page arrives

    def _watch(self, plan: WatchPlan) -> Watch:
        first = plan.list_first
        list_first = None if first is None else (lambda: self._pages(Plan(first)))
        return Watch(self, plan, list_first=list_first)

    async def _execute(self, call: Call[T], *, timeout: Timeout = None) -> T:
        """Send a call's request; what its reader makes of the answer. A 404 that names no object
        rechecks discovery once, as the sync client does (the resource may have been removed)."""
        try:
            response = await self._transport.send(call.request, timeout=timeout)
        except NotFound as exc:
            if exc.details:
                raise
            self.resource = await self.client.discovery.recheck(self.resource)
            response = await self._transport.send(call.request, timeout=timeout)
        return call.parse(response)
