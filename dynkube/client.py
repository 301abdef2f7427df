"""The dynamic client: one Client per cluster and user, one ResourceClient per resource, every verb.

``Client.resource(name)`` resolves through discovery; the verbs build their URLs from the resolved
``Resource`` and send them through the transport. Query parameter names are mapped from Python
names in one place (``_write_params`` / ``_list_params``).
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config, check_arguments, default_config
from .discovery import DEFAULT_DISK_TTL, Discovery
from .errors import InvalidInput, NotFound, ResourceNotFound, ValidationFailed
from .objects import ApiList, ApiObject, encode_json
from .resources import Resource, ResourceMap
from .transport import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_TIMEOUT, RetryPolicy, Timeout, Transport

if TYPE_CHECKING:
    from .manifests import ApplyResult
    from .watch import Watch

DEFAULT_FIELD_MANAGER = "dynkube"
DEFAULT_PAGE_SIZE = 500  # client-go's pager


class PatchType(enum.StrEnum):
    """The four patch content types the API server accepts."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class FieldValidation(enum.StrEnum):
    """Server-side field validation of writes (kubectl --validate)."""

    STRICT = "Strict"
    WARN = "Warn"
    IGNORE = "Ignore"


class PropagationPolicy(enum.StrEnum):
    """What happens to dependents on delete (kubectl --cascade)."""

    BACKGROUND = "Background"
    FOREGROUND = "Foreground"
    ORPHAN = "Orphan"


_PATCH_ALIASES = {"json": PatchType.JSON, "merge": PatchType.MERGE, "strategic": PatchType.STRATEGIC,
                  "apply": PatchType.APPLY}


def _enum(cls: type[enum.Enum], value: Any, what: str, aliases: Mapping[str, Any] | None = None) -> Any:
    """Convert a user's string (any case, alias or wire value) to ``cls`` once, at the public edge."""
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, str):
        if aliases and value.lower() in aliases:
            return aliases[value.lower()]
        for member in cls:
            if value.lower() in (member.name.lower(), str(member.value).lower()):
                return member
    choices = ", ".join(m.name.lower() for m in cls)
    raise InvalidInput(f"unknown {what} {value!r}; expected one of: {choices}")


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
            raise InvalidInput(f"object {_describe(obj)} needs both apiVersion and kind")
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
        response = self.transport.request(method, path, params=params, headers=send, timeout=timeout,
                                          stream=form is raw.Answer.LINES, **raw.body_arguments(body, content_type))
        return raw.read_answer(response, form, method, self.transport.url(path))

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
            raise InvalidInput(f"cannot validate {_describe(obj)}: it has no {' and no '.join(missing)}")
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
            raise ResourceNotFound(f"cannot validate {_describe(obj)}: {problem}", name=kind,
                                   candidates=close) from None
        return self.schemas.validate(obj, resource.group, resource.version, resource.kind, strict=strict)

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


def _describe(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    return f"{obj.get('kind') or '?'} {metadata.get('name') or '?'!r}"


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
            resource_version: str | None = None, as_table: bool = False, timeout: Timeout = None) -> ApiObject:
        """GET one object (or one of its subresources, e.g. ``subresource="status"`` or ``"scale"``).

        ``as_table=True`` asks for the server's Table rendering of the object (``kind`` Table, with
        ``columnDefinitions`` and one of ``rows``), as kubectl's ``get TYPE NAME``; a server that does
        not print tables answers with the object itself.
        """
        path = self._path(namespace, name, subresource, "get")
        params = {"resourceVersion": resource_version} if resource_version is not None else None
        headers = {"Accept": TABLE_ACCEPT} if as_table else None
        return self._json("GET", path, params=params, headers=headers, timeout=timeout)

    def watch(self, namespace: str | None = None, *, all_namespaces: bool = False,
              label_selector: str | Mapping[str, str] | None = None,
              field_selector: str | Mapping[str, str] | None = None, resource_version: str | None = None,
              timeout_seconds: int | None = None, allow_bookmarks: bool = True, resume: bool = False,
              send_initial_events: bool = False) -> Watch:
        """Follow changes as ``WatchEvent``s (a ``dynkube.watch.Watch``: an iterator and context manager
        with ``stop()``); see docs/watch.md.

        Without ``resource_version`` the server first sends ADDED for every current object; with one,
        only changes after it. ``resume=True`` reconnects after drops and server timeouts from the last
        resourceVersion seen, never replaying or skipping an event; 410 raises ``Gone`` (relist).
        ``resume=True`` without ``resource_version`` (or with "0") lists first, yielding ADDED for
        every listed object, then watches from the list's resourceVersion (``kubectl get --watch``).
        ``send_initial_events=True`` is a streaming list: ADDED for every object, then a BOOKMARK
        annotated ``k8s.io/initial-events-end``, then changes.
        """
        from .watch import watch

        return watch(self, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                     field_selector=field_selector, resource_version=resource_version,
                     timeout_seconds=timeout_seconds, allow_bookmarks=allow_bookmarks, resume=resume,
                     send_initial_events=send_initial_events)

    def list(self, namespace: str | None = None, *, all_namespaces: bool = False,
             label_selector: str | Mapping[str, str] | None = None,
             field_selector: str | Mapping[str, str] | None = None, limit: int | None = DEFAULT_PAGE_SIZE,
             resource_version: str | None = None, resource_version_match: str | None = None,
             timeout: Timeout = None) -> Iterator[ApiObject]:
        """Iterate over every matching object, fetching ``limit`` objects a page, lazily (constant memory).

        A continue token that expires mid-way (410) raises ``dynkube.errors.Gone``: start again.
        """
        token: str | None = None
        while True:
            page = self.list_page(namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                                  field_selector=field_selector, limit=limit, continue_token=token,
                                  resource_version=None if token else resource_version,
                                  resource_version_match=None if token else resource_version_match,
                                  timeout=timeout)
            yield from page.items
            token = page.continue_token
            if not token:
                return

    def list_page(self, namespace: str | None = None, *, all_namespaces: bool = False,
                  label_selector: str | Mapping[str, str] | None = None,
                  field_selector: str | Mapping[str, str] | None = None, limit: int | None = None,
                  continue_token: str | None = None, resource_version: str | None = None,
                  resource_version_match: str | None = None, as_table: bool = False,
                  timeout: Timeout = None) -> ApiList:
        """One LIST request: the raw page with ``items``, ``metadata.resourceVersion`` and ``metadata.continue``.

        ``as_table=True`` asks the server for its Table rendering (kubectl's columns); the result's
        ``kind`` is then ``Table`` and ``items`` is empty (rows are in ``to_dict()["rows"]``).
        """
        path = self._collection_path(namespace, all_namespaces, "list")
        params = _list_params(label_selector, field_selector, limit, continue_token, resource_version,
                              resource_version_match)
        headers = {"Accept": TABLE_ACCEPT} if as_table else None
        document = self._send("GET", path, params=params, headers=headers, timeout=timeout)
        if as_table:
            return TableList(document)
        return ApiList(document)

    # ---- writing -----------------------------------------------------------------------

    def create(self, body: Mapping[str, Any], namespace: str | None = None, *, subresource: str | None = None,
               name: str | None = None, dry_run: bool = False, field_manager: str | None = None,
               field_validation: str | FieldValidation | None = None, validate: bool = False) -> ApiObject:
        """POST a new object (or, with ``subresource`` and ``name``, e.g. ``pods/eviction``).

        ``validate=True`` checks the object against the server's schema first (see ``Client.validate``).
        """
        body = _check_body(body) if subresource else self._typed(_check_body(body))
        self._validate_first(body, validate and not subresource, field_validation)
        namespace = self._namespace_of(body, namespace)
        path = self._path(namespace, name, subresource, "create") if subresource else \
            self._collection_path(namespace, False, "create")
        params = _write_params(dry_run, field_manager, field_validation)
        return self._json("POST", path, params=params, body=body, what=f"the body of {_describe(body)}")

    def replace(self, body: Mapping[str, Any], namespace: str | None = None, *, name: str | None = None,
                subresource: str | None = None, dry_run: bool = False, field_manager: str | None = None,
                field_validation: str | FieldValidation | None = None, validate: bool = False) -> ApiObject:
        """PUT the whole object (named by ``metadata.name`` unless ``name`` is given); the server checks
        ``metadata.resourceVersion`` when it is set (a stale one raises ``Conflict``).
        ``validate=True`` checks the schema first."""
        body = self._typed(_check_body(body)) if subresource is None else _check_body(body)
        self._validate_first(body, validate and not subresource, field_validation)
        name = name or _name_of(body)
        namespace = self._namespace_of(body, namespace)
        path = self._path(namespace, name, subresource, "update")
        return self._json("PUT", path, params=_write_params(dry_run, field_manager, field_validation), body=body,
                          what=f"the body of {_describe(body)}")

    def patch(self, name: str, patch: Mapping[str, Any] | builtins.list[Any], namespace: str | None = None, *,
              patch_type: str | PatchType | None = None, subresource: str | None = None, dry_run: bool = False,
              field_manager: str | None = None, field_validation: str | FieldValidation | None = None,
              force: bool = False) -> ApiObject:
        """PATCH an object: merge patch for a dict, JSON patch for a list, unless ``patch_type``
        says otherwise (``"strategic"`` works on built-in kinds only; ``"apply"`` = server-side apply)."""
        kind = _enum(PatchType, patch_type, "patch type", _PATCH_ALIASES) or \
            (PatchType.JSON if isinstance(patch, list) else PatchType.MERGE)
        if not isinstance(patch, (Mapping, list)):
            raise InvalidInput(f"patch for {self.plural} {name!r} must be a dict or a list, not {type(patch).__name__}")
        if force and kind is not PatchType.APPLY:
            raise InvalidInput("force=True is only allowed with server-side apply")
        if kind is PatchType.APPLY and not field_manager:
            field_manager = DEFAULT_FIELD_MANAGER
        path = self._path(namespace, name, subresource, "patch")
        params = _write_params(dry_run, field_manager, field_validation, force=force)
        return self._json("PATCH", path, params=params, body=patch, content_type=kind.value,
                          what=f"the patch for {self.plural} {name!r}")

    def apply(self, body: Mapping[str, Any], namespace: str | None = None, *,
              field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False, subresource: str | None = None,
              dry_run: bool = False, field_validation: str | FieldValidation | None = None,
              validate: bool = False) -> ApiObject:
        """Server-side apply: create the object or merge the fields this ``field_manager`` owns.

        Conflicts with other managers raise ``Conflict`` (its ``causes`` name them) unless ``force=True``.
        ``validate=True`` checks the object against the server's schema first.
        """
        body = self._typed(_check_body(body)) if subresource is None else _check_body(body)
        missing = [key for key in ("apiVersion", "kind") if not body.get(key)]
        if missing:  # only with a subresource, whose kind (Scale...) cannot be guessed
            raise InvalidInput(f"server-side apply of {_describe(body)} to {subresource} needs {missing[0]!r}")
        if "managedFields" in (body.get("metadata") or {}):
            body = {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "managedFields"}}
        self._validate_first(body, validate and not subresource, field_validation)
        namespace = self._namespace_of(body, namespace)
        path = self._path(namespace, _name_of(body), subresource, "patch")
        params = _write_params(dry_run, field_manager, field_validation, force=force)
        return self._json("PATCH", path, params=params, body=body, content_type=PatchType.APPLY.value,
                          what=f"the body of {_describe(body)}")

    def delete(self, name: str, namespace: str | None = None, *,
               propagation_policy: str | PropagationPolicy | None = None, grace_period_seconds: int | None = None,
               preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> ApiObject:
        """DELETE an object. Returns the object (possibly still finalizing) or the server's Status.

        ``preconditions`` may hold ``uid`` and/or ``resourceVersion``; a mismatch raises ``Conflict``.
        """
        path = self._path(namespace, name, None, "delete")
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions, dry_run)
        return self._json("DELETE", path, body=body)

    def delete_collection(self, namespace: str | None = None, *, all_namespaces: bool = False,
                          label_selector: str | Mapping[str, str] | None = None,
                          field_selector: str | Mapping[str, str] | None = None,
                          propagation_policy: str | PropagationPolicy | None = None,
                          grace_period_seconds: int | None = None, dry_run: bool = False) -> ApiObject:
        """DELETE every object matching the selectors (needs the ``deletecollection`` verb)."""
        path = self._collection_path(namespace, all_namespaces, "deletecollection")
        params = _list_params(label_selector, field_selector, None, None, None, None)
        body = _delete_options(propagation_policy, grace_period_seconds, None, dry_run)
        return self._json("DELETE", path, params=params, body=body)

    # ---- helpers -----------------------------------------------------------------------

    def _validate_first(self, body: Mapping[str, Any], validate: bool, field_validation: Any) -> None:
        """Client-side schema validation before sending (strict when field_validation is Strict)."""
        if not validate:
            return
        strict = _enum(FieldValidation, field_validation, "field validation") is FieldValidation.STRICT
        issues = self.client.schemas.validate(body, self.group, self.version, self.kind, strict=strict)
        if issues:
            raise ValidationFailed(f"{_describe(body)} is not valid: " + "; ".join(map(str, issues[:10]))
                                   + (f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""), issues=issues)

    def _typed(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The body with ``apiVersion`` and ``kind`` filled in from the resource when missing
        (custom resources require them); a different kind is an error before sending."""
        kind = body.get("kind")
        if kind and kind != self.kind:
            raise InvalidInput(f"object {_describe(body)} is a {kind}, but this is the {self.kind} resource "
                               f"({self.resource.group_resource})")
        if kind and body.get("apiVersion"):
            return body
        return {"apiVersion": self.api_version, "kind": self.kind, **body}

    def _json(self, method: str, path: str, *, body: Any = None, what: str = "the request body",
              content_type: str = "application/json", **kwargs: Any) -> ApiObject:
        """Send one request (``body`` encoded here, so a non-JSON one is refused naming ``what``)."""
        data = None if body is None else encode_json(body, what)
        return ApiObject(self._send(method, path, data=data, content_type=content_type if data else None,
                                    **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """Send one verb's request (every verb but watch comes through here); its answer's JSON object.

        A 404 without an API Status naming an object means no handler serves the URL: the resource
        was removed since discovery was cached (e.g. its CRD deleted). Discovery is then refreshed:
        if the resource is still served the request is sent once more, else ResourceNotFound names it.
        """
        try:
            return self._transport.request_json(method, path, **kwargs)
        except NotFound as exc:
            if exc.details:
                raise  # the object (or its namespace) does not exist
            self.resource = self.client.discovery.recheck(self.resource)
        return self._transport.request_json(method, path, **kwargs)

    def _require_verb(self, verb: str, subresource: str | None = None) -> None:
        if subresource:
            sub = self.resource.subresource(subresource)
            verbs = sub.verbs
        else:
            verbs = self.resource.verbs
        if verbs and verb not in verbs:
            what = f"{self.resource.group_resource}/{subresource}" if subresource else self.resource.group_resource
            raise InvalidInput(f"{what} does not support {verb!r} (it supports: {', '.join(sorted(verbs))})")

    def _namespace(self, namespace: str | None) -> str | None:
        """The namespace segment to use: explicit, else the client's default; None when cluster-scoped."""
        if not self.resource.namespaced:
            if namespace:
                raise InvalidInput(f"{self.resource.group_resource} is cluster-scoped; do not give a namespace "
                                   f"(got {namespace!r})")
            return None
        namespace = namespace or self.client.namespace
        if not namespace:
            raise InvalidInput(f"{self.resource.group_resource} is namespaced and no namespace was given")
        return namespace

    def _namespace_of(self, body: Mapping[str, Any], namespace: str | None) -> str | None:
        in_body = (body.get("metadata") or {}).get("namespace")
        if namespace and in_body and namespace != in_body:
            raise InvalidInput(f"the namespace of {_describe(body)} ({in_body!r}) does not match the namespace "
                               f"given ({namespace!r})")
        if in_body and not self.resource.namespaced:
            raise InvalidInput(f"{_describe(body)} is cluster-scoped but its metadata has namespace {in_body!r}")
        return self._namespace(namespace or in_body)

    def _path(self, namespace: str | None, name: str | None, subresource: str | None, verb: str) -> str:
        """The path of one object (or its subresource); a missing name is refused, never taken
        to mean the collection (``delete_collection`` is the only verb on many objects)."""
        self._require_verb(verb, subresource)
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"{verb} of {self.resource.group_resource} needs the object's name "
                               f"(a non-empty string), not {name!r}")
        return self.resource.path(self._namespace(namespace), name, subresource)

    def _collection_path(self, namespace: str | None, all_namespaces: bool, verb: str) -> str:
        self._require_verb(verb)
        if all_namespaces:
            if namespace:
                raise InvalidInput("give either namespace or all_namespaces=True, not both")
            return self.resource.path(None)
        return self.resource.path(self._namespace(namespace))


TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


class TableList(ApiList):
    """A list answered as a meta.k8s.io Table: ``columns`` and ``rows`` as the server printed them."""

    __slots__ = ("columns", "rows")

    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__({k: v for k, v in document.items() if k != "items"})
        self.columns: list[dict[str, Any]] = document.get("columnDefinitions") or []
        self.rows: list[dict[str, Any]] = document.get("rows") or []


def _selector(value: str | Mapping[str, str] | None, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    raise InvalidInput(f"{what} must be a string or a dict, not {type(value).__name__}")


def _list_params(label_selector: Any, field_selector: Any, limit: int | None, continue_token: str | None,
                 resource_version: str | None, resource_version_match: str | None) -> dict[str, Any]:
    if resource_version is not None and not isinstance(resource_version, str):
        raise InvalidInput(f"resource_version must be a string, not {type(resource_version).__name__}")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, not {limit!r}")
    params = {"labelSelector": _selector(label_selector, "label_selector"),
              "fieldSelector": _selector(field_selector, "field_selector"),
              "limit": limit or None, "continue": continue_token, "resourceVersion": resource_version,
              "resourceVersionMatch": resource_version_match}
    return {k: v for k, v in params.items() if v is not None}


def _write_params(dry_run: bool, field_manager: str | None, field_validation: Any, *,
                  force: bool = False) -> dict[str, Any]:
    validation = _enum(FieldValidation, field_validation, "field validation")
    params: dict[str, Any] = {}
    if dry_run:
        params["dryRun"] = "All"
    if field_manager:
        params["fieldManager"] = field_manager
    if validation:
        params["fieldValidation"] = validation.value
    if force:
        params["force"] = "true"
    return params


def _delete_options(propagation_policy: Any, grace_period_seconds: int | None,
                    preconditions: Mapping[str, str] | None, dry_run: bool) -> dict[str, Any]:
    policy = _enum(PropagationPolicy, propagation_policy, "propagation policy")
    options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if policy:
        options["propagationPolicy"] = policy.value
    if grace_period_seconds is not None:
        if type(grace_period_seconds) is not int:
            raise InvalidInput(f"grace_period_seconds must be an integer, not {grace_period_seconds!r}")
        options["gracePeriodSeconds"] = grace_period_seconds
    if preconditions is not None and not isinstance(preconditions, Mapping):
        raise InvalidInput(f"preconditions must be a dict with uid and/or resourceVersion, not "
                           f"{type(preconditions).__name__}")
    if preconditions:
        unknown = set(preconditions) - {"uid", "resourceVersion"}
        if unknown:
            raise InvalidInput(f"unknown delete precondition(s) {sorted(unknown)}; expected uid, resourceVersion")
        options["preconditions"] = dict(preconditions)
    if dry_run:
        options["dryRun"] = ["All"]
    return options


def _check_body(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput(f"the object must be a dict, not {type(body).__name__}")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput(f"metadata of {_describe(body)} must be a dict")
    return body


def _name_of(body: Mapping[str, Any]) -> str:
    name = (body.get("metadata") or {}).get("name")
    if not name or not isinstance(name, str):
        raise InvalidInput(f"{_describe(body)} has no metadata.name")
    return name
