"""The dynamic client: one Client per cluster and user, one ResourceClient per resource, every verb.

``Client.resource(name)`` resolves through discovery; each verb builds its call with
``dynkube.core.calls`` (the request, checked, and the reader of its answer), executes it through
the transport, and returns what the call's reader made of the answer.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Config, check_arguments, default_config
from .discovery import DEFAULT_DISK_TTL, Discovery
from .core import calls
from .core.calls import DEFAULT_FIELD_MANAGER, DEFAULT_PAGE_SIZE, Call, describe
from .core.http import Request
from .errors import InvalidInput, NotFound, ResourceNotFound, ValidationFailed
from .objects import ApiList, ApiObject
from .options import FieldValidation, PatchType, PropagationPolicy, to_enum
from .resources import Resource, ResourceMap
from .core.exchange import RetryPolicy
from .transport import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_TIMEOUT, Timeout, Transport, build_request
from . import streaming
from .streaming import ExecResult, ExecStream, PortConnection, PortForwarder

if TYPE_CHECKING:
    from .manifests import ApplyResult
    from .watch import Watch

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
        _check_client_arguments(config, kubeconfig, context, namespace, cache_dir, discovery_ttl)
        if config is None:
            config = _load_config(kubeconfig, context)
        self.config = config
        self.namespace = namespace or config.namespace
        self.transport = Transport(config, qps=qps, burst=burst, timeout=timeout, retry=retry)
        self.discovery = Discovery(self.transport, cache_dir=cache_dir, disk_ttl=discovery_ttl)
        self._cache_dir = cache_dir
        self._schemas: Any = None

    @classmethod
    def from_snapshot(cls, path: str | Path, *, namespace: str = "default") -> Client:
        """A client answering discovery, schemas and the version from a snapshot file, offline
        (see ``dynkube.snapshot``): reading objects and writing raise ``SnapshotError``."""
        from .snapshot import open_snapshot

        return open_snapshot(path, namespace=namespace)

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

    def apply_manifests(self, source: str | Path | list[Mapping[str, Any]], **options: Any) -> list[ApplyResult]:
        """Server-side apply every document of YAML text, a file, a directory, an http(s) URL or a
        list of dicts; see ``dynkube.manifests.apply_manifests`` for options and the per-object results."""
        from .manifests import apply_manifests

        return apply_manifests(self, source, **options)

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


def _check_client_arguments(config: Any, kubeconfig: Any, context: Any, namespace: Any, cache_dir: Any,
                            discovery_ttl: Any) -> None:
    """InvalidInput for the first unusable ``Client()`` argument (transport settings: see Transport)."""
    if config is not None and not isinstance(config, Config):
        raise InvalidInput(f"config must be a dynkube.Config, not {type(config).__name__}")
    check_arguments(kubeconfig=kubeconfig, context=context, namespace=namespace)
    if cache_dir is not None and not isinstance(cache_dir, (str, Path, bool)):
        raise InvalidInput(f"cache_dir must be a path, None (default) or False (no disk cache), "
                           f"not {type(cache_dir).__name__}")
    if type(discovery_ttl) not in (int, float) or not 0 <= discovery_ttl < float("inf"):
        raise InvalidInput(f"discovery_ttl must be seconds (a number >= 0), not {discovery_ttl!r}")


def _load_config(kubeconfig: str | Path | None, context: str | None) -> Config:
    if kubeconfig is not None:
        from .config import load_kubeconfig

        return load_kubeconfig(kubeconfig, context=context)
    return default_config(context=context)


class ResourceClient:
    """Every verb on one resource. ``namespace=None`` means the client's default namespace for
    namespaced resources; cluster-scoped resources take no namespace."""

    def __init__(self, client: Client, resource: Resource) -> None:
        self.client = client
        self.resource = resource
        self._transport = client.transport

    def __repr__(self) -> str:
        return f"<ResourceClient {self.resource.group_resource} {self.resource.api_version} kind={self.kind}>"

    kind = property(lambda self: self.resource.kind, doc="The resource's kind, e.g. Deployment.")
    plural = property(lambda self: self.resource.plural, doc="The resource's plural name, e.g. deployments.")
    group = property(lambda self: self.resource.group, doc='The API group ("" for core).')
    version = property(lambda self: self.resource.version, doc="The API version, e.g. v1.")
    api_version = property(lambda self: self.resource.api_version, doc="apiVersion, e.g. apps/v1.")
    namespaced = property(lambda self: self.resource.namespaced, doc="True for namespaced resources.")

    # ---- reading -----------------------------------------------------------------------

    def get(self, name: str, namespace: str | None = None, *, subresource: str | None = None,
            resource_version: str | None = None, as_table: bool = False, metadata_only: bool = False,
            timeout: Timeout = None) -> ApiObject:
        """GET one object (or one of its subresources, e.g. ``subresource="status"`` or ``"scale"``).

        ``as_table=True`` asks for the server's Table rendering of the object (``kind`` Table, with
        ``columnDefinitions`` and one of ``rows``), as kubectl's ``get TYPE NAME``; a server that does
        not print tables answers with the object itself. ``metadata_only=True`` asks for its
        ``meta.k8s.io/v1`` PartialObjectMetadata: ``metadata`` only, no spec, status or data.
        """
        return self._execute(calls.get(self.resource, name, namespace, default_namespace=self.client.namespace,
                                       subresource=subresource, resource_version=resource_version,
                                       as_table=as_table, metadata_only=metadata_only),
                             timeout=timeout)

    def watch(self, namespace: str | None = None, *, all_namespaces: bool = False,
              label_selector: str | Mapping[str, str] | None = None,
              field_selector: str | Mapping[str, str] | None = None, resource_version: str | None = None,
              timeout_seconds: int | None = None, allow_bookmarks: bool = True, resume: bool = False,
              send_initial_events: bool = False, metadata_only: bool = False) -> Watch:
        """Follow changes as ``WatchEvent``s (a ``dynkube.watch.Watch``: an iterator and context manager
        with ``stop()``); see docs/watch.md.

        Without ``resource_version`` the server first sends ADDED for every current object; with one,
        only changes after it. ``resume=True`` reconnects after drops and server timeouts from the last
        resourceVersion seen, never replaying or skipping an event; 410 raises ``Gone`` (relist).
        ``resume=True`` without ``resource_version`` (or with "0") lists first, yielding ADDED for
        every listed object, then watches from the list's resourceVersion (``kubectl get --watch``).
        ``send_initial_events=True`` is a streaming list: ADDED for every object, then a BOOKMARK
        annotated ``k8s.io/initial-events-end``, then changes. ``metadata_only=True``: every event's
        object is a PartialObjectMetadata (see ``list_page``).
        """
        from .watch import watch

        return watch(self, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                     field_selector=field_selector, resource_version=resource_version,
                     timeout_seconds=timeout_seconds, allow_bookmarks=allow_bookmarks, resume=resume,
                     send_initial_events=send_initial_events, metadata_only=metadata_only)

    def list(self, namespace: str | None = None, *, all_namespaces: bool = False,
             label_selector: str | Mapping[str, str] | None = None,
             field_selector: str | Mapping[str, str] | None = None, limit: int | None = DEFAULT_PAGE_SIZE,
             resource_version: str | None = None, resource_version_match: str | None = None,
             metadata_only: bool = False, timeout: Timeout = None) -> Iterator[ApiObject]:
        """Iterate over every matching object, fetching ``limit`` objects a page, lazily (constant memory).

        A continue token that expires mid-way (410) raises ``dynkube.errors.Gone``: start again.
        ``metadata_only=True``: each object is a PartialObjectMetadata (see ``list_page``).
        """
        for page in self.list_pages(namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                    field_selector=field_selector, limit=limit, resource_version=resource_version,
                                    resource_version_match=resource_version_match, metadata_only=metadata_only,
                                    timeout=timeout):
            yield from page.items

    def list_pages(self, namespace: str | None = None, *, all_namespaces: bool = False,
                   label_selector: str | Mapping[str, str] | None = None,
                   field_selector: str | Mapping[str, str] | None = None, limit: int | None = DEFAULT_PAGE_SIZE,
                   resource_version: str | None = None, resource_version_match: str | None = None,
                   as_table: bool = False, metadata_only: bool = False,
                   timeout: Timeout = None) -> Iterator[ApiList]:
        """Iterate over the pages of a list (as ``list_page`` returns them), one LIST request each,
        lazily, following the continue tokens; ``resource_version`` applies to the first page.
        Bad arguments raise at once, before any request."""
        call = calls.list_page(self.resource, namespace, default_namespace=self.client.namespace,
                               all_namespaces=all_namespaces, label_selector=label_selector,
                               field_selector=field_selector, limit=limit, resource_version=resource_version,
                               resource_version_match=resource_version_match, as_table=as_table,
                               metadata_only=metadata_only)
        return self._pages(call, timeout)

    def _pages(self, call: Call[ApiList], timeout: Timeout) -> Iterator[ApiList]:
        request: Request | None = call.request
        while request is not None:
            page = self._execute(Call(request, call.parse), timeout=timeout)
            yield page
            request = calls.next_page(request, page)

    def list_page(self, namespace: str | None = None, *, all_namespaces: bool = False,
                  label_selector: str | Mapping[str, str] | None = None,
                  field_selector: str | Mapping[str, str] | None = None, limit: int | None = None,
                  continue_token: str | None = None, resource_version: str | None = None,
                  resource_version_match: str | None = None, as_table: bool = False,
                  metadata_only: bool = False, timeout: Timeout = None) -> ApiList:
        """One LIST request: the raw page with ``items``, ``metadata.resourceVersion`` and ``metadata.continue``.

        ``as_table=True`` asks the server for its Table rendering (kubectl's columns); the result's
        ``kind`` is then ``Table`` and ``items`` is empty (rows are in ``to_dict()["rows"]``).
        ``metadata_only=True`` asks for a PartialObjectMetadataList (client-go's metadata client):
        each item is ``apiVersion: meta.k8s.io/v1, kind: PartialObjectMetadata`` with ``metadata``
        alone, so names, labels, owners and resourceVersions arrive without any spec, status or data.
        """
        call = calls.list_page(self.resource, namespace, default_namespace=self.client.namespace,
                               all_namespaces=all_namespaces, label_selector=label_selector,
                               field_selector=field_selector, limit=limit, continue_token=continue_token,
                               resource_version=resource_version, resource_version_match=resource_version_match,
                               as_table=as_table, metadata_only=metadata_only)
        return self._execute(call, timeout=timeout)

    # ---- writing -----------------------------------------------------------------------

    def create(self, body: Mapping[str, Any], namespace: str | None = None, *, subresource: str | None = None,
               name: str | None = None, dry_run: bool = False, field_manager: str | None = None,
               field_validation: str | FieldValidation | None = None, validate: bool = False) -> ApiObject:
        """POST a new object (or, with ``subresource`` and ``name``, e.g. ``pods/eviction``).

        ``validate=True`` checks the object against the server's schema first (see ``Client.validate``).
        """
        body = calls.write_body(self.resource, body, subresource)
        self._validate_first(body, validate and not subresource, field_validation)
        return self._execute(calls.create(self.resource, body, namespace, default_namespace=self.client.namespace,
                                          subresource=subresource, name=name, dry_run=dry_run,
                                          field_manager=field_manager, field_validation=field_validation))

    def replace(self, body: Mapping[str, Any], namespace: str | None = None, *, name: str | None = None,
                subresource: str | None = None, dry_run: bool = False, field_manager: str | None = None,
                field_validation: str | FieldValidation | None = None, validate: bool = False) -> ApiObject:
        """PUT the whole object (named by ``metadata.name`` unless ``name`` is given); the server checks
        ``metadata.resourceVersion`` when it is set (a stale one raises ``Conflict``).
        ``validate=True`` checks the schema first."""
        body = calls.write_body(self.resource, body, subresource)
        self._validate_first(body, validate and not subresource, field_validation)
        return self._execute(calls.replace(self.resource, body, namespace, default_namespace=self.client.namespace,
                                           name=name, subresource=subresource, dry_run=dry_run,
                                           field_manager=field_manager, field_validation=field_validation))

    def patch(self, name: str, patch: Mapping[str, Any] | builtins.list[Any], namespace: str | None = None, *,
              patch_type: str | PatchType | None = None, subresource: str | None = None, dry_run: bool = False,
              field_manager: str | None = None, field_validation: str | FieldValidation | None = None,
              force: bool = False) -> ApiObject:
        """PATCH an object: merge patch for a dict, JSON patch for a list, unless ``patch_type``
        says otherwise (``"strategic"`` works on built-in kinds only; ``"apply"`` = server-side apply)."""
        return self._execute(calls.patch(self.resource, name, patch, namespace,
                                         default_namespace=self.client.namespace, patch_type=patch_type,
                                         subresource=subresource, dry_run=dry_run, field_manager=field_manager,
                                         field_validation=field_validation, force=force))

    def apply(self, body: Mapping[str, Any], namespace: str | None = None, *,
              field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False, subresource: str | None = None,
              dry_run: bool = False, field_validation: str | FieldValidation | None = None,
              validate: bool = False) -> ApiObject:
        """Server-side apply: create the object or merge the fields this ``field_manager`` owns.

        Conflicts with other managers raise ``Conflict`` (its ``causes`` name them) unless ``force=True``.
        ``validate=True`` checks the object against the server's schema first.
        """
        body = calls.apply_body(self.resource, body, subresource)
        self._validate_first(body, validate and not subresource, field_validation)
        return self._execute(calls.apply(self.resource, body, namespace, default_namespace=self.client.namespace,
                                         field_manager=field_manager, force=force, subresource=subresource,
                                         dry_run=dry_run, field_validation=field_validation))

    def delete(self, name: str, namespace: str | None = None, *,
               propagation_policy: str | PropagationPolicy | None = None, grace_period_seconds: int | None = None,
               preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> ApiObject:
        """DELETE an object. Returns the object (possibly still finalizing) or the server's Status.

        ``preconditions`` may hold ``uid`` and/or ``resourceVersion``; a mismatch raises ``Conflict``.
        """
        return self._execute(calls.delete(self.resource, name, namespace, default_namespace=self.client.namespace,
                                          propagation_policy=propagation_policy,
                                          grace_period_seconds=grace_period_seconds, preconditions=preconditions,
                                          dry_run=dry_run))

    def delete_collection(self, namespace: str | None = None, *, all_namespaces: bool = False,
                          label_selector: str | Mapping[str, str] | None = None,
                          field_selector: str | Mapping[str, str] | None = None,
                          propagation_policy: str | PropagationPolicy | None = None,
                          grace_period_seconds: int | None = None, dry_run: bool = False) -> ApiObject:
        """DELETE every object matching the selectors (needs the ``deletecollection`` verb)."""
        return self._execute(calls.delete_collection(
            self.resource, namespace, default_namespace=self.client.namespace, all_namespaces=all_namespaces,
            label_selector=label_selector, field_selector=field_selector, propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds, dry_run=dry_run))

    # ---- helpers -----------------------------------------------------------------------

    def _validate_first(self, body: Mapping[str, Any], validate: bool, field_validation: Any) -> None:
        """Client-side schema validation before sending (strict when field_validation is Strict)."""
        if not validate:
            return
        strict = to_enum(FieldValidation, field_validation, "field validation") is FieldValidation.STRICT
        issues = self.client.schemas.validate(body, self.group, self.version, self.kind, strict=strict)
        if issues:
            raise ValidationFailed(f"{describe(body)} is not valid: " + "; ".join(map(str, issues[:10]))
                                   + (f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""), issues=issues)

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
