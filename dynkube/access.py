"""Who the client is and what it may do: SelfSubjectReview, SelfSubjectAccessReview, SelfSubjectRulesReview.

kubectl's ``auth whoami`` and ``auth can-i`` over the public client API; resources are resolved through
discovery like every other name, CRDs included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import InvalidInput, ResourceNotFound
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)


class Identity(NamedTuple):
    """The user the server authenticated (a SelfSubjectReview's ``status.userInfo``), and the review."""

    username: str
    uid: str
    groups: tuple[str, ...]
    extra: Mapping[str, tuple[str, ...]]
    review: ApiObject


class AccessDecision(NamedTuple):
    """The server's answer to "may I?" (a SelfSubjectAccessReview's status), and what was asked."""

    allowed: bool
    denied: bool
    reason: str
    evaluation_error: str
    attributes: Mapping[str, str]  # the spec's resourceAttributes or nonResourceAttributes


class RulesReview(NamedTuple):
    """Everything the user may do in a namespace, as the server's rule evaluation lists it."""

    resource_rules: tuple[Mapping[str, Any], ...]
    non_resource_rules: tuple[Mapping[str, Any], ...]
    incomplete: bool
    evaluation_error: str


def whoami(client: Client) -> Identity:
    """The identity the server sees for this client's credentials (and impersonation)."""
    review = client.resource("selfsubjectreviews.authentication.k8s.io").create({})
    info = (review.get("status") or {}).get("userInfo") or {}
    return Identity(str(info.get("username") or ""), str(info.get("uid") or ""), tuple(info.get("groups") or ()),
                    {str(k): tuple(v or ()) for k, v in (info.get("extra") or {}).items()}, review)


def can_i(client: Client, verb: str, resource: str, name: str | None = None, *, namespace: str | None = None,
          all_namespaces: bool = False, subresource: str | None = None) -> AccessDecision:
    """May this client ``verb`` the ``resource`` (any name discovery resolves, ``*``, or ``TYPE/NAME``), or a
    non-resource URL (``/logs``)? ``namespace`` defaults to the client's; ``all_namespaces`` asks for every one."""
    for what, value in (("verb", verb), ("resource", resource)):
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{what} must be a non-empty string, not {value!r}")
    if resource.startswith("/"):
        if name or subresource:
            raise InvalidInput("a non-resource URL takes no name and no subresource")
        attributes = {"verb": verb, "path": resource}
        spec: dict[str, Any] = {"nonResourceAttributes": attributes}
    else:
        type_name, _, in_name = resource.partition("/")
        if in_name and name:
            raise InvalidInput(f"give the name once: {resource!r} already names {in_name!r}")
        group, plural = _group_resource(client, type_name)
        attributes = {"namespace": "" if all_namespaces else (namespace or client.namespace), "verb": verb,
                      "group": group, "resource": plural, "subresource": subresource or "",
                      "name": in_name or name or ""}
        attributes = {k: v for k, v in attributes.items() if v}
        spec = {"resourceAttributes": attributes}
    review = client.resource("selfsubjectaccessreviews.authorization.k8s.io").create({"spec": spec})
    status = review.get("status") or {}
    return AccessDecision(bool(status.get("allowed")), bool(status.get("denied")), str(status.get("reason") or ""),
                          str(status.get("evaluationError") or ""), attributes)


def rules(client: Client, namespace: str | None = None) -> RulesReview:
    """What this client may do in ``namespace`` (default the client's), from a SelfSubjectRulesReview."""
    review = client.resource("selfsubjectrulesreviews.authorization.k8s.io").create(
        {"spec": {"namespace": namespace or client.namespace}})
    status = review.get("status") or {}
    return RulesReview(tuple(status.get("resourceRules") or ()), tuple(status.get("nonResourceRules") or ()),
                       bool(status.get("incomplete")), str(status.get("evaluationError") or ""))


def _group_resource(client: Client, name: str) -> tuple[str, str]:
    """(group, plural) of a resource name; ``*`` and names the server does not have are asked about as
    given, as kubectl does (with a warning for the latter)."""
    if name == "*":
        return "", "*"
    try:
        resolved = client.resource(name).resource
    except ResourceNotFound:
        log.warning("the server doesn't have a resource type %r", name)
        plural, _, group = name.lower().partition(".")
        return group, plural
    return resolved.group, resolved.plural
