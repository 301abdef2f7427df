"""One builder per verb: the exact request of a call, checked, and how to read its answer.

Each builder takes the resolved ``Resource``, the verb's arguments and the client's default
namespace, refuses bad input with ``InvalidInput`` (before anything is sent), and returns a
``Call``: the ``Request`` and the ``parse`` that turns the answer into the verb's result. The
client executes calls; it decides nothing about paths, query parameters or bodies. Query
parameter names are mapped from Python names here only (``list_params``, ``write_params``,
``delete_options``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from ..errors import InvalidInput
from ..objects import ApiList, ApiObject, encode_json
from ..options import PATCH_ALIASES, FieldValidation, PatchType, PropagationPolicy, to_enum
from ..resources import Resource
from . import jsondecode
from .http import Request, Response
from .status import json_object

DEFAULT_FIELD_MANAGER = "dynkube"
DEFAULT_PAGE_SIZE = 500  # client-go's pager
TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")

# Only PartialObjectMetadata is acceptable: a server that cannot send it answers 406, never the full object.
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

T = TypeVar("T")


class Call(NamedTuple, Generic[T]):
    """A verb's request and the reader of its (2xx) answer."""

    request: Request
    parse: Callable[[Response], T]


class TableList(ApiList):
    """A list answered as a meta.k8s.io Table: ``columns`` and ``rows`` as the server printed them."""

    __slots__ = ("columns", "rows")

    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__({k: v for k, v in document.items() if k != "items"})
        self.columns: list[dict[str, Any]] = document.get("columnDefinitions") or []
        self.rows: list[dict[str, Any]] = document.get("rows") or []


# ---- answers ---------------------------------------------------------------------------------

EXPECT_FROM = 64 * 1024  # a smaller page (a probe with limit=1) says little about what is read next


def read_list(response: Response) -> ApiList:
    """The list page a LIST answered. A page of at least ``EXPECT_FROM`` bytes (and no more than the
    JSON decoder's ``FAST_UP_TO``, beyond which orjson is not used) with more to come tells the
    decoder how many bytes to expect: ``remainingItemCount`` items (one more page when the server
    does not count them) of this page's size each."""
    page = ApiList(json_object(response, "GET"))
    if page.continue_token and page.items and EXPECT_FROM <= len(response.content) <= jsondecode.FAST_UP_TO:
        remaining = page.metadata.get("remainingItemCount")
        items = remaining if type(remaining) is int and remaining > 0 else len(page.items)
        jsondecode.expect(len(response.content) * items // len(page.items))
    return page


def read_table(response: Response) -> ApiList:
    """The Table a LIST asked ``as_table`` answered."""
    return TableList(json_object(response, "GET"))


def _object_call(request: Request) -> Call[ApiObject]:
    method = request.method
    return Call(request, lambda response: ApiObject(json_object(response, method)))


# ---- reading ---------------------------------------------------------------------------------

def get(resource: Resource, name: str, namespace: str | None = None, *, default_namespace: str | None = None,
        subresource: str | None = None, resource_version: str | None = None,
        as_table: bool = False, metadata_only: bool = False) -> Call[ApiObject]:
    """GET one object or one of its subresources (``as_table``: the server's Table rendering;
    ``metadata_only``: a PartialObjectMetadata)."""
    path = object_path(resource, namespace, name, subresource, "get", default_namespace=default_namespace)
    params = {"resourceVersion": resource_version} if resource_version is not None else {}
    headers = accept_headers(as_table, metadata_only, METADATA_ACCEPT)
    return _object_call(Request("GET", path, params, headers))


def list_page(resource: Resource, namespace: str | None = None, *, default_namespace: str | None = None,
              all_namespaces: bool = False, label_selector: str | Mapping[str, str] | None = None,
              field_selector: str | Mapping[str, str] | None = None, limit: int | None = None,
              continue_token: str | None = None, resource_version: str | None = None,
              resource_version_match: str | None = None, as_table: bool = False,
              metadata_only: bool = False) -> Call[ApiList]:
    """One LIST request (``as_table``: the server's Table rendering, a ``TableList``;
    ``metadata_only``: a PartialObjectMetadataList)."""
    path = collection_path(resource, namespace, all_namespaces, "list", default_namespace=default_namespace)
    params = list_params(label_selector, field_selector, limit, continue_token, resource_version,
                         resource_version_match)
    headers = accept_headers(as_table, metadata_only, METADATA_LIST_ACCEPT)
    return Call(Request("GET", path, params, headers), read_table if as_table else read_list)


WATCH_RESUME_PARAMS = frozenset({"resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds"})
"""The query parameters of a watch that say where (and how long) a connection starts: a resuming
watch sets them anew on each connection."""


def next_page(request: Request, page: ApiList) -> Request | None:
    """The pager: the request for the list page after ``page`` (its continue token, without the
    first page's resourceVersion and resourceVersionMatch, which the server refuses with one), or
    None after the last page. Every paginated loop of dynkube goes through here."""
    token = page.continue_token
    if not token:
        return None
    params = {k: v for k, v in request.params.items() if k not in ("resourceVersion", "resourceVersionMatch")}
    params["continue"] = token
    return Request(request.method, request.path, params, request.headers, request.body, request.stream)


def watch(resource: Resource, namespace: str | None = None, *, default_namespace: str | None = None,
          all_namespaces: bool = False, label_selector: str | Mapping[str, str] | None = None,
          field_selector: str | Mapping[str, str] | None = None, resource_version: str | None = None,
          timeout_seconds: int | None = None, allow_bookmarks: bool = True,
          send_initial_events: bool = False, metadata_only: bool = False) -> Request:
    """The streamed WATCH request of a collection: its first connection's (a resuming watch
    replaces ``WATCH_RESUME_PARAMS`` on each connection)."""
    path = collection_path(resource, namespace, all_namespaces, "watch", default_namespace=default_namespace)
    params = list_params(label_selector, field_selector, None, None, resource_version or None, None)
    if timeout_seconds is not None and (type(timeout_seconds) is not int or timeout_seconds <= 0):
        raise InvalidInput(f"timeout_seconds must be a positive integer, not {timeout_seconds!r}")
    if send_initial_events and not allow_bookmarks:
        raise InvalidInput("send_initial_events=True needs allow_bookmarks=True (the end of the initial "
                           "events is a bookmark)")
    params["watch"] = "true"
    if allow_bookmarks:
        params["allowWatchBookmarks"] = "true"
    if send_initial_events:
        params["sendInitialEvents"] = "true"
        params["resourceVersionMatch"] = "NotOlderThan"
    if timeout_seconds:
        params["timeoutSeconds"] = timeout_seconds
    return Request("GET", path, params, {"Accept": METADATA_ACCEPT} if metadata_only else {}, stream=True)


def pod_logs(resource: Resource, name: str, namespace: str | None = None, *, default_namespace: str | None = None,
             container: str | None = None, follow: bool = False, tail_lines: int | None = None,
             since_seconds: int | float | None = None, since_time: str | dt.datetime | None = None,
             timestamps: bool = False, previous: bool = False, limit_bytes: int | None = None,
             insecure_skip_tls_verify_backend: bool = False) -> Call[str]:
    """GET a pod's log (its ``log`` subresource): the text, or (``follow``) a streamed request
    whose answer is read as it arrives. The query is ``log_params``'."""
    if (resource.group, resource.plural) != ("", "pods"):
        raise InvalidInput(f"logs are read from pods, not from {resource.group_resource}")
    path = object_path(resource, namespace, name, "log", "get", default_namespace=default_namespace)
    params = log_params(container=container, follow=follow, tail_lines=tail_lines, since_seconds=since_seconds,
                        since_time=since_time, timestamps=timestamps, previous=previous, limit_bytes=limit_bytes,
                        insecure_skip_tls_verify_backend=insecure_skip_tls_verify_backend)
    return Call(Request("GET", path, params, {}, stream=follow), read_text)


def read_text(response: Response) -> str:
    """The answer's body as text (a log)."""
    return response.text


def log_params(*, container: str | None = None, follow: bool = False, tail_lines: int | None = None,
               since_seconds: int | float | None = None, since_time: str | dt.datetime | None = None,
               timestamps: bool = False, previous: bool = False, limit_bytes: int | None = None,
               insecure_skip_tls_verify_backend: bool = False) -> dict[str, Any]:
    """The query of a log request (PodLogOptions), only the options given; each option checked
    (``check_log_options``) before anything is sent."""
    check_log_options(container=container, tail_lines=tail_lines, since_seconds=since_seconds,
                      since_time=since_time, limit_bytes=limit_bytes)
    flags = (("follow", "follow", follow), ("previous", "previous", previous), ("timestamps", "timestamps", timestamps),
             ("insecure_skip_tls_verify_backend", "insecureSkipTLSVerifyBackend", insecure_skip_tls_verify_backend))
    for python_name, _, value in flags:
        if not isinstance(value, bool):
            raise InvalidInput(f"{python_name} must be True or False, not {value!r}")
    params: dict[str, Any] = {"container": container} if container else {}
    params.update({key: "true" for _, key, value in flags if value})
    if tail_lines is not None:
        params["tailLines"] = tail_lines
    if since_seconds is not None:
        params["sinceSeconds"] = since_seconds_param(since_seconds)
    if since_time is not None:
        params["sinceTime"] = since_time_param(since_time)
    if limit_bytes is not None:
        params["limitBytes"] = limit_bytes
    return params


def check_log_options(*, container: Any = None, tail_lines: Any = None, since_seconds: Any = None,
                      since_time: Any = None, limit_bytes: Any = None) -> None:
    """InvalidInput for the first unusable log option: an empty or non-string container, a negative
    ``tail_lines``, a ``since_seconds`` that is not above 0, both ``since_seconds`` and
    ``since_time``, a ``limit_bytes`` below 1."""
    if container is not None and (not isinstance(container, str) or not container):
        raise InvalidInput(f"container must be a container's name (a non-empty string), not {container!r}")
    if tail_lines is not None and (type(tail_lines) is not int or tail_lines < 0):
        raise InvalidInput(f"tail_lines must be an integer >= 0 (None: every line), not {tail_lines!r}")
    if since_seconds is not None and (type(since_seconds) not in (int, float)
                                      or not 0 < since_seconds < float("inf")):
        raise InvalidInput(f"since_seconds must be a number of seconds above 0, not {since_seconds!r}")
    if since_seconds is not None and since_time is not None:
        raise InvalidInput("give since_seconds or since_time, not both (at most one of sinceTime or sinceSeconds "
                           "may be specified)")
    if limit_bytes is not None and (type(limit_bytes) is not int or limit_bytes < 1):
        raise InvalidInput(f"limit_bytes must be an integer above 0 (None: no limit), not {limit_bytes!r}")


def since_seconds_param(value: int | float) -> int:
    """``sinceSeconds`` as the server takes it: whole seconds, rounded to the nearest (kubectl's
    ``--since``), at least 1."""
    return max(1, round(value))


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def since_time_param(value: str | dt.datetime) -> str:
    """``sinceTime`` as the server takes it (RFC 3339): a timezone-aware datetime in UTC, or an RFC
    3339 string as given. A naive datetime or any other string is refused."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"since_time must be timezone-aware (e.g. datetime.now(timezone.utc)), not {value!r}")
        utc = value.astimezone(dt.timezone.utc)
        fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise InvalidInput(f"since_time must be a timezone-aware datetime or an RFC 3339 time such as "
                       f"2024-05-01T12:00:00Z, not {value!r}")


def accept_headers(as_table: bool, metadata_only: bool, metadata_accept: str) -> dict[str, str]:
    """The Accept header of a read: a Table, metadata only, or (none) the object itself."""
    if as_table and metadata_only:
        raise InvalidInput("give as_table=True or metadata_only=True, not both")
    if as_table:
        return {"Accept": TABLE_ACCEPT}
    return {"Accept": metadata_accept} if metadata_only else {}


# ---- writing ---------------------------------------------------------------------------------

def create(resource: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
           default_namespace: str | None = None, subresource: str | None = None, name: str | None = None,
           dry_run: bool = False, field_manager: str | None = None,
           field_validation: str | FieldValidation | None = None) -> Call[ApiObject]:
    """POST a new object to its collection, or (``subresource`` and ``name``) to an object's subresource."""
    body = write_body(resource, body, subresource)
    namespace = namespace_of(resource, body, namespace, default_namespace)
    path = object_path(resource, namespace, name, subresource, "create") if subresource else \
        collection_path(resource, namespace, False, "create")
    params = write_params(dry_run, field_manager, field_validation)
    return _object_call(_json_request("POST", path, params, body, f"the body of {describe(body)}"))


def replace(resource: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
            default_namespace: str | None = None, name: str | None = None, subresource: str | None = None,
            dry_run: bool = False, field_manager: str | None = None,
            field_validation: str | FieldValidation | None = None) -> Call[ApiObject]:
    """PUT the whole object, named by ``metadata.name`` unless ``name`` is given."""
    body = write_body(resource, body, subresource)
    name = name or name_of(body)
    namespace = namespace_of(resource, body, namespace, default_namespace)
    path = object_path(resource, namespace, name, subresource, "update")
    params = write_params(dry_run, field_manager, field_validation)
    return _object_call(_json_request("PUT", path, params, body, f"the body of {describe(body)}"))


def patch(resource: Resource, name: str, patch: Mapping[str, Any] | builtins.list[Any],
          namespace: str | None = None, *, default_namespace: str | None = None,
          patch_type: str | PatchType | None = None, subresource: str | None = None, dry_run: bool = False,
          field_manager: str | None = None, field_validation: str | FieldValidation | None = None,
          force: bool = False) -> Call[ApiObject]:
    """PATCH an object: merge patch for a dict, JSON patch for a list, unless ``patch_type`` says otherwise."""
    kind = to_enum(PatchType, patch_type, "patch type", PATCH_ALIASES) or \
        (PatchType.JSON if isinstance(patch, list) else PatchType.MERGE)
    if not isinstance(patch, (Mapping, list)):
        raise InvalidInput(f"patch for {resource.plural} {name!r} must be a dict or a list, not {type(patch).__name__}")
    if force and kind is not PatchType.APPLY:
        raise InvalidInput("force=True is only allowed with server-side apply")
    if kind is PatchType.APPLY and not field_manager:
        field_manager = DEFAULT_FIELD_MANAGER
    path = object_path(resource, namespace, name, subresource, "patch", default_namespace=default_namespace)
    params = write_params(dry_run, field_manager, field_validation, force=force)
    return _object_call(_json_request("PATCH", path, params, patch, f"the patch for {resource.plural} {name!r}",
                                      kind.value))


def apply(resource: Resource, body: Mapping[str, Any], namespace: str | None = None, *,
          default_namespace: str | None = None, field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False,
          subresource: str | None = None, dry_run: bool = False,
          field_validation: str | FieldValidation | None = None) -> Call[ApiObject]:
    """Server-side apply (a PATCH of type apply) of the object, ``managedFields`` left out."""
    body = apply_body(resource, body, subresource)
    namespace = namespace_of(resource, body, namespace, default_namespace)
    path = object_path(resource, namespace, name_of(body), subresource, "patch")
    params = write_params(dry_run, field_manager, field_validation, force=force)
    return _object_call(_json_request("PATCH", path, params, body, f"the body of {describe(body)}",
                                      PatchType.APPLY.value))


def delete(resource: Resource, name: str, namespace: str | None = None, *, default_namespace: str | None = None,
           propagation_policy: str | PropagationPolicy | None = None, grace_period_seconds: int | None = None,
           preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Call[ApiObject]:
    """DELETE an object, with DeleteOptions as the body."""
    path = object_path(resource, namespace, name, None, "delete", default_namespace=default_namespace)
    body = delete_options(propagation_policy, grace_period_seconds, preconditions, dry_run)
    return _object_call(_json_request("DELETE", path, {}, body, "the request body"))


def delete_collection(resource: Resource, namespace: str | None = None, *, default_namespace: str | None = None,
                      all_namespaces: bool = False, label_selector: str | Mapping[str, str] | None = None,
                      field_selector: str | Mapping[str, str] | None = None,
                      propagation_policy: str | PropagationPolicy | None = None,
                      grace_period_seconds: int | None = None, dry_run: bool = False) -> Call[ApiObject]:
    """DELETE every object of a collection matching the selectors."""
    path = collection_path(resource, namespace, all_namespaces, "deletecollection",
                           default_namespace=default_namespace)
    params = list_params(label_selector, field_selector, None, None, None, None)
    body = delete_options(propagation_policy, grace_period_seconds, None, dry_run)
    return _object_call(_json_request("DELETE", path, params, body, "the request body"))


def _json_request(method: str, path: str, params: dict[str, Any], body: Any, what: str,
                  content_type: str = "application/json") -> Request:
    """A request with ``body`` JSON-encoded (a value JSON cannot carry is refused naming ``what``)."""
    return Request(method, path, params, {"Content-Type": content_type}, encode_json(body, what))


# ---- checks: paths, namespaces, bodies -------------------------------------------------------

def require_verb(resource: Resource, verb: str, subresource: str | None = None) -> None:
    """InvalidInput unless discovery says the resource (or its subresource) supports ``verb``."""
    verbs = resource.subresource(subresource).verbs if subresource else resource.verbs
    if verbs and verb not in verbs:
        what = f"{resource.group_resource}/{subresource}" if subresource else resource.group_resource
        raise InvalidInput(f"{what} does not support {verb!r} (it supports: {', '.join(sorted(verbs))})")


def namespace_for(resource: Resource, namespace: str | None, default_namespace: str | None = None) -> str | None:
    """The namespace segment to use: explicit, else the default; None when cluster-scoped."""
    if not resource.namespaced:
        if namespace:
            raise InvalidInput(f"{resource.group_resource} is cluster-scoped; do not give a namespace "
                               f"(got {namespace!r})")
        return None
    namespace = namespace or default_namespace
    if not namespace:
        raise InvalidInput(f"{resource.group_resource} is namespaced and no namespace was given")
    return namespace


def namespace_of(resource: Resource, body: Mapping[str, Any], namespace: str | None,
                 default_namespace: str | None = None) -> str | None:
    """The namespace of an object to write: the one given and the one in its metadata must agree."""
    in_body = (body.get("metadata") or {}).get("namespace")
    if namespace and in_body and namespace != in_body:
        raise InvalidInput(f"the namespace of {describe(body)} ({in_body!r}) does not match the namespace "
                           f"given ({namespace!r})")
    if in_body and not resource.namespaced:
        raise InvalidInput(f"{describe(body)} is cluster-scoped but its metadata has namespace {in_body!r}")
    return namespace_for(resource, namespace or in_body, default_namespace)


def object_path(resource: Resource, namespace: str | None, name: str | None, subresource: str | None, verb: str,
                *, default_namespace: str | None = None) -> str:
    """The path of one object (or its subresource); a missing name is refused, never taken
    to mean the collection (``delete_collection`` is the only verb on many objects)."""
    require_verb(resource, verb, subresource)
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{verb} of {resource.group_resource} needs the object's name "
                           f"(a non-empty string), not {name!r}")
    return resource.path(namespace_for(resource, namespace, default_namespace), name, subresource)


def collection_path(resource: Resource, namespace: str | None, all_namespaces: bool, verb: str, *,
                    default_namespace: str | None = None) -> str:
    """The path of a collection: one namespace's, or every namespace's with ``all_namespaces``."""
    require_verb(resource, verb)
    if all_namespaces:
        if namespace:
            raise InvalidInput("give either namespace or all_namespaces=True, not both")
        return resource.path(None)
    return resource.path(namespace_for(resource, namespace, default_namespace))


def check_body(body: Any) -> Mapping[str, Any]:
    """The object itself, if it is a dict whose metadata (if any) is a dict."""
    if not isinstance(body, Mapping):
        raise InvalidInput(f"the object must be a dict, not {type(body).__name__}")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput(f"metadata of {describe(body)} must be a dict")
    return body


def typed(resource: Resource, body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The body with ``apiVersion`` and ``kind`` filled in from the resource when missing
    (custom resources require them); a different kind is an error before sending."""
    kind = body.get("kind")
    if kind and kind != resource.kind:
        raise InvalidInput(f"object {describe(body)} is a {kind}, but this is the {resource.kind} resource "
                           f"({resource.group_resource})")
    if kind and body.get("apiVersion"):
        return body
    return {"apiVersion": resource.api_version, "kind": resource.kind, **body}


def write_body(resource: Resource, body: Any, subresource: str | None) -> Mapping[str, Any]:
    """The object a create or replace sends: checked, and typed unless it goes to a subresource."""
    return check_body(body) if subresource else typed(resource, check_body(body))


def apply_body(resource: Resource, body: Any, subresource: str | None) -> Mapping[str, Any]:
    """The object a server-side apply sends: as ``write_body``, with apiVersion and kind required
    for a subresource (whose kind, Scale..., cannot be guessed) and ``managedFields`` left out."""
    sent = write_body(resource, body, subresource)
    missing = [key for key in ("apiVersion", "kind") if not sent.get(key)]
    if missing:  # only with a subresource
        raise InvalidInput(f"server-side apply of {describe(sent)} to {subresource} needs {missing[0]!r}")
    if "managedFields" in (sent.get("metadata") or {}):
        sent = {**sent, "metadata": {k: v for k, v in sent["metadata"].items() if k != "managedFields"}}
    return sent


def name_of(body: Mapping[str, Any]) -> str:
    """The object's ``metadata.name``; InvalidInput when it has none."""
    name = (body.get("metadata") or {}).get("name")
    if not name or not isinstance(name, str):
        raise InvalidInput(f"{describe(body)} has no metadata.name")
    return name


def describe(obj: Mapping[str, Any]) -> str:
    """``Kind 'name'`` of an object, for messages (``?`` for what it lacks)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    return f"{obj.get('kind') or '?'} {metadata.get('name') or '?'!r}"


# ---- query parameters and options ------------------------------------------------------------

def selector(value: str | Mapping[str, str] | None, what: str) -> str | None:
    """A label or field selector as the server takes it (a dict becomes ``k=v,k2=v2``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    raise InvalidInput(f"{what} must be a string or a dict, not {type(value).__name__}")


def list_params(label_selector: Any, field_selector: Any, limit: int | None, continue_token: str | None,
                resource_version: str | None, resource_version_match: str | None) -> dict[str, Any]:
    """The query of a LIST (and of a WATCH or DELETE collection): only the parameters given."""
    if resource_version is not None and not isinstance(resource_version, str):
        raise InvalidInput(f"resource_version must be a string, not {type(resource_version).__name__}")
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, not {limit!r}")
    params = {"labelSelector": selector(label_selector, "label_selector"),
              "fieldSelector": selector(field_selector, "field_selector"),
              "limit": limit or None, "continue": continue_token, "resourceVersion": resource_version,
              "resourceVersionMatch": resource_version_match}
    return {k: v for k, v in params.items() if v is not None}


def write_params(dry_run: bool, field_manager: str | None, field_validation: Any, *,
                 force: bool = False) -> dict[str, Any]:
    """The query of a write: dryRun, fieldManager, fieldValidation, force."""
    validation = to_enum(FieldValidation, field_validation, "field validation")
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


def delete_options(propagation_policy: Any, grace_period_seconds: int | None,
                   preconditions: Mapping[str, str] | None, dry_run: bool) -> dict[str, Any]:
    """The DeleteOptions body of a DELETE."""
    policy = to_enum(PropagationPolicy, propagation_policy, "propagation policy")
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


# ---- streams into a pod (exec, attach, port-forward) -----------------------------------------

def exec_request(namespace: str, pod: str, command: Any, *, container: str | None = None, stdin: bool = False,
                 stdout: bool = True, stderr: bool = True, tty: bool = False) -> Request:
    """The WebSocket upgrade request of ``pods/exec``: ``command`` is the argv (a list of strings; no
    shell is added), each word a ``command`` parameter as kubectl sends it. With ``tty`` stderr is
    merged into stdout by the terminal, so it is not asked for (as kubectl); a tty needs stdin."""
    if isinstance(command, str) or not isinstance(command, (list, tuple)) or not command:
        raise InvalidInput(f"exec in pod {pod!r}: the command must be a non-empty list of strings "
                           f"(the argv, e.g. ['sh', '-c', 'echo hi']), not {command!r}")
    if not all(isinstance(word, str) for word in command):
        raise InvalidInput(f"exec in pod {pod!r}: every word of the command must be a string: {command!r}")
    params = {"command": builtins.list(command), **_stream_flags(pod, container, stdin, stdout, stderr, tty)}
    return Request("GET", _pod_path(namespace, pod, "exec"), params)


def attach_request(namespace: str, pod: str, *, container: str | None = None, stdin: bool = False,
                   stdout: bool = True, stderr: bool = True, tty: bool = False) -> Request:
    """The WebSocket upgrade request of ``pods/attach`` (the container's own process)."""
    return Request("GET", _pod_path(namespace, pod, "attach"),
                   _stream_flags(pod, container, stdin, stdout, stderr, tty))


def port_forward_request(namespace: str, pod: str, port: int) -> Request:
    """The WebSocket upgrade request of ``pods/portforward`` for one port (one TCP connection)."""
    check_port(port, f"port-forward to pod {pod!r}")
    return Request("GET", _pod_path(namespace, pod, "portforward"), {"ports": str(port)})


def check_port(port: Any, what: str) -> int:
    """A TCP port number (1-65535), or InvalidInput naming ``what``."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise InvalidInput(f"{what}: a port must be an integer from 1 to 65535, not {port!r}")
    return port


def port_pairs(ports: Any) -> builtins.list[tuple[int, int]]:
    """(local, remote) pairs of port-forward specs, as kubectl reads them: ``"8080:80"``, ``":80"``
    and ``"0:80"`` (any free local port), ``"80"`` or ``80`` (the same port), or ``(local, remote)``."""
    specs = ports if isinstance(ports, builtins.list) else [ports]
    if not specs:
        raise InvalidInput("port-forward needs at least one port (LOCAL:REMOTE)")
    return [_port_pair(spec) for spec in specs]


def _port_pair(spec: Any) -> tuple[int, int]:
    what = f"port-forward {spec!r}"
    if isinstance(spec, tuple) and len(spec) == 2:
        local, remote = spec
        if local != 0:
            check_port(local, what)
        return local, check_port(remote, what)
    if isinstance(spec, int) and not isinstance(spec, bool):
        return check_port(spec, what), spec
    if not isinstance(spec, str):
        raise InvalidInput(f"{what}: expected LOCAL:REMOTE, a port number or (local, remote)")
    local_text, colon, remote_text = spec.partition(":")
    texts = (local_text or "0", remote_text) if colon else (local_text, local_text)
    if not all(t.isdigit() for t in texts):
        raise InvalidInput(f"{what}: expected LOCAL:REMOTE with port numbers (e.g. 8080:80 or :80)")
    local, remote = int(texts[0]), int(texts[1])
    if local != 0:
        check_port(local, what)
    return local, check_port(remote, what)


def _pod_path(namespace: str, pod: str, subresource: str) -> str:
    for what, value in (("pod name", pod), ("namespace", namespace)):
        if not isinstance(value, str) or not value or "/" in value:
            raise InvalidInput(f"pods/{subresource}: the {what} must be a non-empty string without '/', not {value!r}")
    return f"/api/v1/namespaces/{namespace}/pods/{pod}/{subresource}"


def _stream_flags(pod: str, container: str | None, stdin: bool, stdout: bool, stderr: bool,
                  tty: bool) -> dict[str, Any]:
    if container is not None and (not isinstance(container, str) or not container):
        raise InvalidInput(f"pod {pod!r}: the container name must be a non-empty string, not {container!r}")
    if tty and not stdin:  # kubectl never asks for one: -t without -i runs without a terminal
        raise InvalidInput(f"pod {pod!r}: a tty needs stdin (stdin=True), as kubectl's -t needs -i")
    stderr = stderr and not tty
    if not (stdin or stdout or stderr):
        raise InvalidInput(f"pod {pod!r}: at least one of stdin, stdout and stderr must be true")
    params: dict[str, Any] = {"container": container} if container else {}
    for name, value in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr), ("tty", tty)):
        if value:
            params[name] = "true"
    return params
