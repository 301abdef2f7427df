"""The dynamic client: one Client per cluster and user, one ResourceClient per resource, every verb.

``Client.resource(name)`` resolves through discovery; each verb builds its call with
``dynkube.core.calls`` (the request, checked, and the reader of its answer), executes it through
the transport, and returns what the call's reader made of the answer.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from .config import Config, check_client_arguments, load_client_config
from .discovery import DEFAULT_DISK_TTL, Discovery
from . import verbs
from .core import calls
from .core.calls import Call, describe
from .core.exchange import RetryPolicy
from .core.http import Request
from .errors import InvalidInput, NotFound, ResourceNotFound
from .objects import ApiList, ApiObject
from .resources import Resource, ResourceMap
from .core.http import build_request
from .transport import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_TIMEOUT, Timeout, Transport
from . import streaming
from .streaming import ExecResult, ExecStream, PortConnection, PortForwarder
from .verbs import Plan, ResourceNames, Target, check_validation
from .watch import Watch, WatchPlan


T = TypeVar("T")

class Client:
    """A dynamic client for one cluster as one user.

    With no ``config``, loads kubeconfig (``kubeconfig=`` path, else $KUBECONFIG, else
    ~/.kube/config) with ``context=``, else in-cluster configuration. ``namespace`` overrides the
    context's default namespace. Constructing a client makes no network request.
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
        self.transport = Transport(config, qps=qps, burst=burst, timeout=timeout, retry=retry)
        self.discovery = Discovery(self.transport, cache_dir=cache_dir, disk_ttl=discovery_ttl)
        self._cache_dir = cache_dir
        self._schemas: Any = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self.transport.close()

    def __repr__(self) -> str:
        return f"<dynkube.Client {self.config.server} namespace={self.namespace!r}>"

    # ---- resolution --------------------------------------------------------------------

    def resource(self, name: str | Resource, kind: str | None = None) -> ResourceClient:
        """The resource meant by ``name``: a plural, singular, kind, short name, ``plural.group``,
        ``name.version.group``, ``group/version/name``, an apiVersion with ``kind``, or a
        ``Resource`` from ``api_resources()``.

        Refreshes discovery once if the name is unknown (e.g. a CRD created a moment ago).
        """
        if isinstance(name, Resource):
            return ResourceClient(self, name)
        return ResourceClient(self, self.discovery.resolve(name, kind))

    def resource_for(self, obj: Mapping[str, Any]) -> ResourceClient:
        """The resource of an object, from its ``apiVersion`` and ``kind``."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise InvalidInput(f"object {describe(obj)} needs both apiVersion and kind")
        return self.resource(str(api_version), str(kind))

    def api_resources(self, *, cached: bool = False, **criteria: Any) -> list[Resource]:
        """What the server serves now (one version per resource by default); see ResourceMap.filter.

        Asks the server (ETag revalidation: two 304 answers when nothing changed), as kubectl
        api-resources does; ``cached=True`` answers from the discovery cache instead.
        """
        return self.api_map(cached=cached).filter(**criteria)

    def api_map(self, *, cached: bool = False) -> ResourceMap:
        """The full resource map, every version of every resource, as the server serves it now
        (``cached=True``: from the discovery cache, without asking)."""
        return self.discovery.map if cached else self.discovery.refresh()

    def resources_in_category(self, category: str) -> list[ResourceClient]:
        """Resources in a category such as ``all`` (refreshing discovery once if there are none)."""
        def lookup(m: ResourceMap) -> list[Resource]:
            found = m.filter(category=category)
            if not found:
                from .errors import ResourceNotFound

                raise ResourceNotFound(f"no resource is in category {category!r}", name=category)
            return found

        return [ResourceClient(self, r) for r in self.discovery.with_refresh_on_miss(lookup)]

    def version(self) -> ApiObject:
        """The server's /version document."""
        return ApiObject(self.transport.request_json("GET", "/version"))

    def request(self, method: str, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None,
                body: Any = None, content_type: str | None = None, accept: Any = "json",
                timeout: Timeout = None) -> Any:
        """Send any request to a path of the server (``/readyz``, ``/metrics``, a proxy path) over this
        client's transport: its TLS, credentials, rate limit, retries and typed errors.

        ``body``: a dict or list is sent as JSON, bytes or str as they are (``content_type`` defaults to
        JSON or YAML by their first character). ``accept`` is the form of the answer (``dynkube.raw.Answer``):
        "json" (the parsed value), "text", "bytes", or "lines" (an iterator of lines as they arrive;
        close it, or read it to the end, to release the connection).
        """
        from . import raw

        method = raw.check_request(method, path, headers)
        form = raw.answer_form(accept)
        send = dict(headers or {})
        send.setdefault("Accept", "application/json" if form is raw.Answer.JSON else raw.ACCEPT_ANY)
        request = build_request(method, path, params=params, headers=send, **raw.body_arguments(body, content_type))
        if form is raw.Answer.LINES:
            return raw.lines(self.transport.stream(request._replace(stream=True), timeout=timeout))
        return raw.read_answer(self.transport.send(request, timeout=timeout), form, method, self.transport.url(path))

    # ---- manifests, schemas ------------------------------------------------------------

    @property
    def schemas(self) -> Any:
        """The OpenAPI v3 schema store of this server (``dynkube.schema.SchemaStore``; fetched lazily, cached)."""
        if self._schemas is None:
            from . import schema

            disk = None
            if self._cache_dir is not False:
                root = Path(self._cache_dir) if isinstance(self._cache_dir, (str, Path)) else None
                disk = schema.openapi_disk_cache(self.config.server, root)
            self._schemas = schema.SchemaStore(self.transport, disk_cache=disk)
        return self._schemas

    def validate(self, obj: Mapping[str, Any], *, strict: bool = False) -> list[Any]:
        """Check an object against the server's OpenAPI schema of its kind, without sending it.

        Returns ``ValidationIssue``s (``str(issue)`` = ``"spec.replicas: 'x' is not of type 'integer'"``);
        an empty list means valid. ``strict=True`` also flags unknown fields, like fieldValidation=Strict.
        An object without apiVersion/kind raises InvalidInput; a kind the server does not serve, ResourceNotFound.
        """
        if not isinstance(obj, Mapping):
            raise InvalidInput(f"cannot validate a {type(obj).__name__}: expected an object with apiVersion and kind")
        missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
        if missing:
            raise InvalidInput(f"cannot validate {describe(obj)}: it has no {' and no '.join(missing)}")
        try:
            resource = self.resource_for(obj).resource
        except ResourceNotFound:
            import difflib

            api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
            group, _, version = api_version.rpartition("/")
            kinds = sorted({r.kind for r in self.discovery.map.resources if (r.group, r.version) == (group, version)})
            close = tuple(difflib.get_close_matches(kind, kinds, n=3, cutoff=0.6))
            if not kinds:
                problem = f"the server does not serve apiVersion {api_version!r}"
            else:
                problem = f"the server serves no kind {kind!r} in {api_version}; " + (
                    f"did you mean {', '.join(close)}?" if close else f"it serves {', '.join(kinds[:8])}"
                    + (", ..." if len(kinds) > 8 else ""))
            raise ResourceNotFound(f"cannot validate {describe(obj)}: {problem}", name=kind,
                                   candidates=close) from None
        issues: builtins.list[Any] = self.schemas.validate(obj, resource.group, resource.version, resource.kind,
                                                           strict=strict)
        return issues

    def explain(self, path: str, *, recursive: bool = False, api_version: str | None = None) -> Any:
        """Describe a kind or one of its fields, like ``kubectl explain``: ``"deployment.spec.replicas"``.

        Returns a ``dynkube.schema.Explanation``; ``.render()`` gives kubectl's text.
        """
        if not isinstance(path, str) or not path.strip():
            raise InvalidInput(f"invalid explain path {path!r}: expected RESOURCE[.field.path]")
        if api_version:  # as kubectl: the resource is then the first part only
            name, _, fields = path.strip().partition(".")
            resource = self.resource(api_version, name).resource
        else:
            resource, fields = self.discovery.with_refresh_on_miss(lambda m: _explain_target(m, path.strip()))
        return self.schemas.explain(resource.group, resource.version, resource.kind, fields, recursive=recursive)


    # ---- inside pods: exec, attach, port-forward (WebSocket; dynkube.streaming) ---------

    def exec(self, pod: str, command: builtins.list[str], namespace: str | None = None, *,
             container: str | None = None, stdin: bytes | str | None = None, tty: bool = False,
             timeout: float | None = None) -> ExecResult:
        """Run ``command`` (an argv list) in a container of ``pod`` to its end, as ``kubectl exec``:
        ``stdin`` is fed to it (then EOF); returns stdout, stderr and the exit code (``ExecResult``).
        A failure other than a non-zero exit (no such command, container or pod) raises its ApiError.
        ``timeout`` bounds each wait for output (TimeoutError)."""
        data = stdin.encode() if isinstance(stdin, str) else stdin
        if tty and data is None:
            data = b""  # a terminal needs an input side (as kubectl's -t needs -i)
        stream = self.exec_stream(pod, command, namespace, container=container, stdin=data is not None, tty=tty)
        return streaming.run(stream, data, timeout)

    def exec_stream(self, pod: str, command: builtins.list[str], namespace: str | None = None, *,
                    container: str | None = None, stdin: bool = False, stdout: bool = True, stderr: bool = True,
                    tty: bool = False) -> ExecStream:
        """Start ``command`` in ``pod`` and return the open stream (``write``, ``close_stdin``, ``read``,
        ``resize``, ``wait``, ``close``) for interactive use; close it (or use ``with``)."""
        request = calls.exec_request(namespace or self.namespace, pod, command, container=container, stdin=stdin,
                                     stdout=stdout, stderr=stderr, tty=tty)
        return streaming.open_stream(self.transport, request)

    def attach(self, pod: str, namespace: str | None = None, *, container: str | None = None, stdin: bool = False,
               stdout: bool = True, stderr: bool = True, tty: bool = False) -> ExecStream:
        """Attach to the main process of a container of ``pod`` (``kubectl attach``): the same stream
        object as ``exec_stream``."""
        request = calls.attach_request(namespace or self.namespace, pod, container=container, stdin=stdin,
                                       stdout=stdout, stderr=stderr, tty=tty)
        return streaming.open_stream(self.transport, request)

    def connect_port(self, pod: str, port: int, namespace: str | None = None) -> PortConnection:
        """One TCP connection to ``port`` of ``pod`` through the API server (a socket-like
        ``PortConnection``: ``sendall``, ``recv``, ``close``)."""
        request = calls.port_forward_request(namespace or self.namespace, pod, port)
        return streaming.connect_port(self.transport, request, port)

    def port_forward(self, pod: str, ports: builtins.list[str | int | tuple[int, int]] | str | int,
                     namespace: str | None = None, *, address: str = "127.0.0.1") -> PortForwarder:
        """Listen locally and forward each connection to a port of ``pod``, as ``kubectl port-forward``.

        ``ports``: ``"8080:80"`` (local:remote), ``":80"`` or ``"0:80"`` (a free local port), ``80``
        (the same port), or (local, remote); a list of them for several. Returns a started
        ``PortForwarder`` (its ``forwarded`` lists the (local, remote) pairs); stop it, or use ``with``.
        """
        pairs = calls.port_pairs(ports)
        namespace = namespace or self.namespace
        calls.port_forward_request(namespace, pod, pairs[0][1])  # a bad pod or namespace fails before listening
        return PortForwarder(lambda remote: self.connect_port(pod, remote, namespace), pairs, address).start()


def _explain_target(resource_map: ResourceMap, path: str) -> tuple[Resource, str]:
    """The resource named by the longest dotted prefix of ``path`` that names one, and the field path
    after it: ``deployments.apps.spec.replicas`` is (deployments.apps, "spec.replicas"), so the
    ``NAME.GROUP`` and ``NAME.VERSION.GROUP`` forms work as everywhere else."""
    parts = path.split(".")
    for end in range(len(parts), 1, -1):
        try:
            return resource_map.resolve(".".join(parts[:end])), ".".join(parts[end:])
        except (ResourceNotFound, InvalidInput):
            continue
    return resource_map.resolve(parts[0]), ".".join(parts[1:])


P = ParamSpec("P")


def _sends(plan: Callable[Concatenate[Target, P], Plan[T]]) -> Callable[Concatenate[ResourceClient, P], T]:
    """The method of a verb that sends one request and returns what its reader made of the answer."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(plan(self, *args, **kwargs))
    return verb


def _pages(plan: Callable[Concatenate[Target, P], Plan[ApiList]]
           ) -> Callable[Concatenate[ResourceClient, P], Iterator[ApiList]]:
    """The method of a paged list: the pages, lazily (bad arguments raise at the call)."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[ApiList]:
        return self._pages(plan(self, *args, **kwargs))
    return verb


def _items(plan: Callable[Concatenate[Target, P], Plan[ApiList]]
           ) -> Callable[Concatenate[ResourceClient, P], Iterator[ApiObject]]:
    """The method of a list: the objects of every page, lazily (bad arguments raise at the call)."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[ApiObject]:
        return self._items(plan(self, *args, **kwargs))
    return verb


def _watches(plan: Callable[Concatenate[Target, P], WatchPlan]) -> Callable[Concatenate[ResourceClient, P], Watch]:
    """The method of a watch: a ``Watch`` that connects on its first ``next()``."""
    @functools.wraps(plan)
    def verb(self: ResourceClient, /, *args: P.args, **kwargs: P.kwargs) -> Watch:
        return self._watch(plan(self, *args, **kwargs))
    return verb


class ResourceClient(ResourceNames):
    """Every verb on one resource. ``namespace=None`` means the client's default namespace for
    namespaced resources; cluster-scoped resources take no namespace.

    The verbs are written once in ``dynkube.verbs`` (signatures, docstrings, checks) and shared
    with ``dynkube.aio.ResourceClient``; here each one sends its request and waits for the answer.
    """

    def __init__(self, client: Client, resource: Resource) -> None:
        self.client = client
        self.resource = resource
        self._transport = client.transport

    def __repr__(self) -> str:
        return f"<ResourceClient {self.resource.group_resource} {self.resource.api_version} kind={self.kind}>"

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

    def _run(self, plan: Plan[T]) -> T:
        if plan.validate is not None:
            check_validation(plan.validate, self.client.schemas.validate(
                plan.validate.body, self.group, self.version, self.kind, strict=plan.validate.strict))
        return self._execute(plan.call, timeout=plan.timeout)

    def _pages(self, plan: Plan[ApiList]) -> Iterator[ApiList]:
        request: Request | None = plan.call.request
        while request is not None:
            page = self._execute(Call(request, plan.call.parse), timeout=plan.timeout)
            request = calls.next_page(request, page)
            yield page
            del page  # not held while the next page arrives: one page in memory at a time

    def _items(self, plan: Plan[ApiList]) -> Iterator[ApiObject]:
        for page in self._pages(plan):
            yield from page.items
            del page  # as in _pages: not held while the next page arrives

    def _watch(self, plan: WatchPlan) -> Watch:
        first = plan.list_first
        list_first = None if first is None else (lambda: self._pages(Plan(first)))
        return Watch(self, plan, list_first=list_first)

    def _execute(self, call: Call[T], *, timeout: Timeout = None) -> T:
        """Send a call's request (every verb but watch comes through here); what its reader makes
        of the answer.

        A 404 without an API Status naming an object means no handler serves the URL: the resource
        was removed since discovery was cached (e.g. its CRD deleted). Discovery is then refreshed:
        if the resource is still served the request is sent once more, else ResourceNotFound names it.
        """
        try:
            response = self._transport.send(call.request, timeout=timeout)
        except NotFound as exc:
            if exc.details:
                raise  # the object (or its namespace) does not exist
            self.resource = self.client.discovery.recheck(self.resource)
            response = self._transport.send(call.request, timeout=timeout)
        return call.parse(response)
