"""dynkube: a dynamic, discovery-driven Kubernetes client.

    client = dynkube.Client()
    for d in client.resource("deploy").list(namespace="web"):
        print(d.metadata.name)

The clients, the watch, the streams into pods and the tools are loaded on first use (PEP 562),
so that ``import dynkube`` stays cheap for short scripts and CLIs, and ``import dynkube.aio``
loads no requests or urllib3 (the sync client's HTTP stack).
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import Config, Overrides
from .errors import (AlreadyExists, AmbiguousResource, ApiError, ApplyIncomplete, BadRequest, ConfigError,
                     Conflict, DiscoveryError, DynkubeError, Expired, FieldNotFound, Forbidden, Gone, Invalid,
                     InvalidInput, MalformedResponse, ManifestError, MethodNotAllowed, NotFound, RedirectRefused,
                     RequestEntityTooLarge, ResolutionError, ResourceNotFound, SchemaUnavailable, ServerError,
                     ServerTimeout, ServerWarning, TooManyRequests, TransportError, Unauthorized,
                     UnsupportedMediaType, ValidationFailed, WaitTimeout, OwnerError, DanglingOwner, OwnerCycle,
                     RolloutError, DrainError, LogStreamDropped, StreamError, MissingExtra, CopyError)
from .objects import ApiList, ApiObject
from .options import FieldValidation, PatchType, PropagationPolicy
from .resources import Resource, ResourceMap, Subresource
from .core.calls import TableList
from .core.exchange import RetryPolicy
from .core.calls import port_pairs
from .core.channels import Channel, Protocol as StreamProtocol

if TYPE_CHECKING:
    from .client import Client, ResourceClient
    from .streaming import ExecResult, ExecStream, PortConnection, PortForwarder
    from .access import AccessDecision, Identity, RulesReview, can_i, rules, whoami
    from .descriptions import Description, describe
    from .events import Event, events_for, list_events, watch_events
    from .retrying import retry_on_conflict
    from .waiting import wait_for
    from .informer import DeletedFinalStateUnknown, Informer, SharedInformerFactory
    from .core.store import strip_managed_fields
    from .kubeconfig_edit import ContextInfo, KubeconfigFiles
    from .manifests import ApplyResult, Document, apply_manifests, is_manifest_url, load_documents, load_url
    from .podlogs import LogLine, LogSelection, LogSource, LogStream, log_sources, logs
    from .raw import Answer
    from .snapshot import open_snapshot
    from .attachable import attachable_pod, service_target_port
    from .copying import copy_from_pod, copy_to_pod
    from .watch import EventType, Watch, WatchEvent

_LAZY = {
    "Client": "client", "ResourceClient": "client",
    "ExecResult": "streaming", "ExecStream": "streaming", "PortConnection": "streaming", "PortForwarder": "streaming",
    "retry_on_conflict": "retrying", "wait_for": "waiting",
    "describe": "descriptions", "Description": "descriptions",
    "Event": "events", "events_for": "events", "list_events": "events", "watch_events": "events",
    "whoami": "access", "can_i": "access", "rules": "access", "Identity": "access", "AccessDecision": "access",
    "RulesReview": "access",
    "ApplyResult": "manifests", "Document": "manifests", "load_documents": "manifests", "load_url": "manifests",
    "is_manifest_url": "manifests", "apply_manifests": "manifests", "open_snapshot": "snapshot",
    "Watch": "watch", "WatchEvent": "watch", "EventType": "watch",
    "KubeconfigFiles": "kubeconfig_edit", "ContextInfo": "kubeconfig_edit", "Answer": "raw",
    "logs": "podlogs", "log_sources": "podlogs", "LogLine": "podlogs", "LogSelection": "podlogs",
    "LogSource": "podlogs", "LogStream": "podlogs",
    "Informer": "informer", "SharedInformerFactory": "informer", "DeletedFinalStateUnknown": "informer",
    "strip_managed_fields": "core.store",
    "attachable_pod": "attachable", "service_target_port": "attachable",
    "copy_from_pod": "copying", "copy_to_pod": "copying",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dynkube' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "__version__", "Client", "ResourceClient", "Config", "Overrides", "PatchType", "FieldValidation",
    "PropagationPolicy",
    "ApiObject", "ApiList", "TableList", "ApplyResult", "Document", "load_documents", "load_url", "is_manifest_url",
    "apply_manifests", "open_snapshot", "RetryPolicy",
    "Resource", "ResourceMap", "Subresource",
    "retry_on_conflict", "wait_for", "describe", "Description", "Event", "events_for", "list_events",
    "watch_events", "Watch", "WatchEvent", "EventType",
    "whoami", "can_i", "rules", "Identity", "AccessDecision", "RulesReview",
    "Informer", "SharedInformerFactory", "DeletedFinalStateUnknown", "strip_managed_fields", "KubeconfigFiles",
    "ContextInfo", "Answer",
    "logs", "log_sources", "LogLine", "LogSelection", "LogSource", "LogStream",
    "DynkubeError", "ConfigError", "ResolutionError", "ResourceNotFound", "AmbiguousResource", "DiscoveryError",
    "FieldNotFound", "InvalidInput", "LogStreamDropped", "ManifestError", "ApplyIncomplete", "SchemaUnavailable",
    "TransportError",
    "ApiError",
    "BadRequest", "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed", "Conflict", "AlreadyExists",
    "Gone", "Expired", "UnsupportedMediaType", "Invalid", "TooManyRequests", "ServerError", "ServerTimeout",
    "ServerWarning", "ValidationFailed", "WaitTimeout", "RedirectRefused", "MalformedResponse",
    "RequestEntityTooLarge", "OwnerError", "DanglingOwner", "OwnerCycle", "RolloutError", "DrainError",
    "ExecResult", "ExecStream", "PortConnection", "PortForwarder", "Channel", "StreamProtocol", "port_pairs",
    "attachable_pod", "service_target_port", "copy_from_pod", "copy_to_pod", "StreamError", "MissingExtra",
    "CopyError",
]
