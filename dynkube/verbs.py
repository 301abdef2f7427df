"""Every verb of a resource, once: its signature, its docstring, its checks and the request it makes.

Each function here is the public form of one verb (``get``, ``list``, ``create``, ``watch``, ...).
It checks its arguments and returns a *plan*: the call to make (``dynkube.core.calls``), the
timeout for it and, for writes with ``validate=True``, the body to check against the schema first.
It sends nothing. The sync ``dynkube.ResourceClient`` and the asyncio ``dynkube.aio.ResourceClient``
turn each plan function into a method with their own driver (send and parse; page; watch), so both
clients have the same verbs, signatures, docstrings and errors, written here once.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from .core import calls
from .core.calls import DEFAULT_FIELD_MANAGER, DEFAULT_PAGE_SIZE, Call
from .errors import InvalidInput, ValidationFailed
from .objects import ApiList, ApiObject
from .options import FieldValidation, PatchType, PropagationPolicy, to_enum
from .resources import Resource
from .core.exchange import Timeout
from .core.watchplan import DEFAULT_BACKOFF, IDLE_TIMEOUT, Backoff, WatchPlan

T = TypeVar("T")

Selector = str | Mapping[str, str] | None


class Target(Protocol):
    """What a verb needs of the resource client it runs on."""

    @property
    def resource(self) -> Resource: ...

    @property
    def default_namespace(self) -> str | None: ...


class ResourceNames:
    """The names of the resource a resource client works on (``self.resource``)."""

    resource: Resource

    kind = property(lambda self: self.resource.kind, doc="The resource's kind, e.g. Deployment.")
    plural = property(lambda self: self.resource.plural, doc="The resource's plural name, e.g. deployments.")
    group = property(lambda self: self.resource.group, doc='The API group ("" for core).')
    version = property(lambda self: self.resource.version, doc="The API version, e.g. v1.")
    api_version = property(lambda self: self.resource.api_version, doc="apiVersion, e.g. apps/v1.")
    namespaced = property(lambda self: self.resource.namespaced, doc="True for namespaced resources.")


class Validation(NamedTuple):
    """A body to check against the server's schema before sending it (``strict``: unknown fields too)."""

    body: Mapping[str, Any]
    strict: bool


class Plan(NamedTuple, Generic[T]):
    """One request to send: its call, its timeout, and the body to validate first (or None)."""

    call: Call[T]
    timeout: Timeout = None
    validate: Validation | None = None


# ---- reading -----------------------------------------------------------------------------

def get(target: Target, /, name: str, namespace: str | None = None, *, subresource: str | None = None,
        resource_version: str | None = None, as_table: bool = False, metadata_only: bool = False,
        timeout: Timeout = None) -> Plan[ApiObject]:
    """GET one object (or one of its subresources, e.g. ``subresource="status"`` or ``"scale"``).

    ``as_table=True`` asks for the server's Table rendering of the object (``kind`` Table, with
    ``columnDefinitions`` and one of ``rows``), as kubectl's ``get TYPE NAME``; a server that does
    not print tables answers with the object itself. ``metadata_only=True`` asks for its
    ``meta.k8s.io/v1`` PartialObjectMetadata: ``metadata`` only, no spec, status or data.
    """
    return Plan(calls.get(target.resource, name, namespace, default_namespace=target.default_namespace,
                          subresource=subresource, resource_version=resource_version, as_table=as_table,
                          metadata_only=metadata_only), timeout)


def list(target: Target, /, namespace: str | None = None, *, all_namespaces: bool = False,
         label_selector: Selector = None, field_selector: Selector = None, limit: int | None = DEFAULT_PAGE_SIZE,
         resource_version: str | None = None, resource_version_match: str | None = None,
         metadata_only: bool = False, timeout: Timeout = None) -> Plan[ApiList]:
    """Iterate over every matching object, fetching ``limit`` objects a page, lazily (constant memory).

    A continue token that expires mid-way (410) raises ``dynkube.errors.Gone``: start again.
    ``metadata_only=True``: each object is a PartialObjectMetadata (see ``list_page``).
    Bad arguments raise at once, before any request.
    """
    return list_pages(target, namespace, all_namespaces=all_namespaces, label_selector=label_selector,
                      field_selector=field_selector, limit=limit, resource_version=resource_version,
                      resource_version_match=resource_version_match, metadata_only=metadata_only, timeout=timeout)


def list_pages(target: Target, /, namespace: str | None = None, *, all_namespaces: bool = False,
               label_selector: Selector = None, field_selector: Selector = None,
               limit: int | None = DEFAULT_PAGE_SIZE, resource_version: str | None = None,
               resource_version_match: str | None = None, as_table: bool = False, metadata_only: bool = False,
               timeout: Timeout = None) -> Plan[ApiList]:
    """Iterate over the pages of a list (as ``list_page`` returns them), one LIST request each,
    lazily, following the continue tokens; ``resource_version`` applies to the first page.
    Bad arguments raise at once, before any request."""
    return Plan(calls.list_page(target.resource, namespace, default_namespace=target.default_namespace,
                                all_namespaces=all_namespaces, label_selector=label_selector,
                                field_selector=field_selector, limit=limit, resource_version=resource_version,
                                resource_version_match=resource_version_match, as_table=as_table,
                                metadata_only=metadata_only), timeout)


def list_page(target: Target, /, namespace: str | None = None, *, all_namespaces: bool = False,
              label_selector: Selector = None, field_selector: Selector = None, limit: int | None = None,
              continue_token: str | None = None, resource_version: str | None = None,
              resource_version_match: str | None = None, as_table: bool = False, metadata_only: bool = False,
              timeout: Timeout = None) -> Plan[ApiList]:
    """One LIST request: the raw page with ``items``, ``metadata.resourceVersion`` and ``metadata.continue``.

    ``as_table=True`` asks the server for its Table rendering (kubectl's columns); the result's
    ``kind`` is then ``Table`` and ``items`` is empty (rows are in ``to_dict()["rows"]``).
    ``metadata_only=True`` asks for a PartialObjectMetadataList (client-go's metadata client):
    each item is ``apiVersion: meta.k8s.io/v1, kind: PartialObjectMetadata`` with ``metadata``
    alone, so names, labels, owners and resourceVersions arrive without any spec, status or data.
    """
    return Plan(calls.list_page(target.resource, namespace, default_namespace=target.default_namespace,
                                all_namespaces=all_namespaces, label_selector=label_selector,
                                field_selector=field_selector, limit=limit, continue_token=continue_token,
                                resource_version=resource_version, resource_version_match=resource_version_match,
                                as_table=as_table, metadata_only=metadata_only), timeout)


def watch(target: Target, /, namespace: str | None = None, *, all_namespaces: bool = False,
          label_selector: Selector = None, field_selector: Selector = None, resource_version: str | None = None,
          timeout_seconds: int | None = None, allow_bookmarks: bool = True, resume: bool = False,
          send_initial_events: bool = False, metadata_only: bool = False, backoff: Backoff = DEFAULT_BACKOFF,
          idle_timeout: float | None = IDLE_TIMEOUT) -> WatchPlan:
    """Follow changes as ``WatchEvent``s (a ``Watch``: iterate it, use it as a context manager,
    ``stop()`` it); see docs/watch.md.

    Without ``resource_version`` the server first sends ADDED for every current object; with one,
    only changes after it. ``resume=True`` reconnects after drops and server timeouts from the last
    resourceVersion seen, never replaying or skipping an event; 410 raises ``Gone`` (relist).
    ``resume=True`` without ``resource_version`` (or with "0") lists first, yielding ADDED for
    every listed object, then watches from the list's resourceVersion (``kubectl get --watch``).
    ``send_initial_events=True`` is a streaming list: ADDED for every object, then a BOOKMARK
    annotated ``k8s.io/initial-events-end``, then changes. ``metadata_only=True``: every event's
    object is a PartialObjectMetadata (see ``list_page``). ``backoff`` paces reconnects that fail;
    with ``resume``, a connection silent for ``idle_timeout`` seconds counts as dead (None: never).
    Bad arguments raise at once, before any request.
    """
    request = calls.watch(target.resource, namespace, default_namespace=target.default_namespace,
                          all_namespaces=all_namespaces, label_selector=label_selector,
                          field_selector=field_selector, resource_version=resource_version,
                          timeout_seconds=timeout_seconds, allow_bookmarks=allow_bookmarks,
                          send_initial_events=send_initial_events, metadata_only=metadata_only)
    if idle_timeout is not None and (isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float))
                                     or idle_timeout <= 0):
        raise InvalidInput(f"idle_timeout must be a positive number of seconds or None, not {idle_timeout!r}")
    list_first = None
    if resume and not send_initial_events and resource_version in (None, "", "0"):
        # the synthetic ADDED events of a watch without a version cannot be resumed from: list, then watch
        list_first = calls.list_page(target.resource, namespace, default_namespace=target.default_namespace,
                                     all_namespaces=all_namespaces, label_selector=label_selector,
                                     field_selector=field_selector, limit=DEFAULT_PAGE_SIZE,
                                     resource_version=resource_version or None, metadata_only=metadata_only)
        resource_version = None
    return WatchPlan(request, resource_version or None, timeout_seconds, resume, send_initial_events, backoff,
                     idle_timeout, list_first)


# ---- writing -----------------------------------------------------------------------------

def create(target: Target, /, body: Mapping[str, Any], namespace: str | None = None, *,
           subresource: str | None = None, name: str | None = None, dry_run: bool = False,
           field_manager: str | None = None, field_validation: str | FieldValidation | None = None,
           validate: bool = False) -> Plan[ApiObject]:
    """POST a new object (or, with ``subresource`` and ``name``, e.g. ``pods/eviction``).

    ``validate=True`` checks the object against the server's schema first (see ``Client.validate``).
    """
    body = calls.write_body(target.resource, body, subresource)
    return Plan(calls.create(target.resource, body, namespace, default_namespace=target.default_namespace,
                             subresource=subresource, name=name, dry_run=dry_run, field_manager=field_manager,
                             field_validation=field_validation),
                validate=_validation(body, validate and not subresource, field_validation))


def replace(target: Target, /, body: Mapping[str, Any], namespace: str | None = None, *, name: str | None = None,
            subresource: str | None = None, dry_run: bool = False, field_manager: str | None = None,
            field_validation: str | FieldValidation | None = None, validate: bool = False) -> Plan[ApiObject]:
    """PUT the whole object (named by ``metadata.name`` unless ``name`` is given); the server checks
    ``metadata.resourceVersion`` when it is set (a stale one raises ``Conflict``).
    ``validate=True`` checks the schema first."""
    body = calls.write_body(target.resource, body, subresource)
    return Plan(calls.replace(target.resource, body, namespace, default_namespace=target.default_namespace,
                              name=name, subresource=subresource, dry_run=dry_run, field_manager=field_manager,
                              field_validation=field_validation),
                validate=_validation(body, validate and not subresource, field_validation))


def patch(target: Target, /, name: str, patch: Mapping[str, Any] | builtins.list[Any], namespace: str | None = None,
          *, patch_type: str | PatchType | None = None, subresource: str | None = None, dry_run: bool = False,
          field_manager: str | None = None, field_validation: str | FieldValidation | None = None,
          force: bool = False) -> Plan[ApiObject]:
    """PATCH an object: merge patch for a dict, JSON patch for a list, unless ``patch_type``
    says otherwise (``"strategic"`` works on built-in kinds only; ``"apply"`` = server-side apply)."""
    return Plan(calls.patch(target.resource, name, patch, namespace, default_namespace=target.default_namespace,
                            patch_type=patch_type, subresource=subresource, dry_run=dry_run,
                            field_manager=field_manager, field_validation=field_validation, force=force))


def apply(target: Target, /, body: Mapping[str, Any], namespace: str | None = None, *,
          field_manager: str = DEFAULT_FIELD_MANAGER, force: bool = False, subresource: str | None = None,
          dry_run: bool = False, field_validation: str | FieldValidation | None = None,
          validate: bool = False) -> Plan[ApiObject]:
    """Server-side apply: create the object or merge the fields this ``field_manager`` owns.

    Conflicts with other managers raise ``Conflict`` (its ``causes`` name them) unless ``force=True``.
    ``validate=True`` checks the object against the server's schema first.
    """
    body = calls.apply_body(target.resource, body, subresource)
    return Plan(calls.apply(target.resource, body, namespace, default_namespace=target.default_namespace,
                            field_manager=field_manager, force=force, subresource=subresource, dry_run=dry_run,
                            field_validation=field_validation),
                validate=_validation(body, validate and not subresource, field_validation))


def delete(target: Target, /, name: str, namespace: str | None = None, *,
           propagation_policy: str | PropagationPolicy | None = None, grace_period_seconds: int | None = None,
           preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Plan[ApiObject]:
    """DELETE an object. Returns the object (possibly still finalizing) or the server's Status.

    ``preconditions`` may hold ``uid`` and/or ``resourceVersion``; a mismatch raises ``Conflict``.
    """
    return Plan(calls.delete(target.resource, name, namespace, default_namespace=target.default_namespace,
                             propagation_policy=propagation_policy, grace_period_seconds=grace_period_seconds,
                             preconditions=preconditions, dry_run=dry_run))


def delete_collection(target: Target, /, namespace: str | None = None, *, all_namespaces: bool = False,
                      label_selector: Selector = None, field_selector: Selector = None,
                      propagation_policy: str | PropagationPolicy | None = None,
                      grace_period_seconds: int | None = None, dry_run: bool = False) -> Plan[ApiObject]:
    """DELETE every object matching the selectors (needs the ``deletecollection`` verb)."""
    return Plan(calls.delete_collection(
        target.resource, namespace, default_namespace=target.default_namespace, all_namespaces=all_namespaces,
        label_selector=label_selector, field_selector=field_selector, propagation_policy=propagation_policy,
        grace_period_seconds=grace_period_seconds, dry_run=dry_run))


def check_validation(validation: Validation, issues: builtins.list[Any]) -> None:
    """ValidationFailed when the schema check of a body before sending found ``issues``."""
    if issues:
        raise ValidationFailed(f"{calls.describe(validation.body)} is not valid: "
                               + "; ".join(map(str, issues[:10]))
                               + (f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""), issues=issues)


def _validation(body: Mapping[str, Any], validate: bool, field_validation: Any) -> Validation | None:
    """What to check before sending (strict when field validation is Strict), or None."""
    if not validate:
        return None
    return Validation(body, to_enum(FieldValidation, field_validation, "field validation") is FieldValidation.STRICT)
