"""dynkube: a dynamic, discovery-driven Kubernetes client.

    client = dynkube.Client()
    for d in client.resource("deploy").list(namespace="web"):
        print(d.metadata.name)
"""

from ._version import __version__
from .client import Client, FieldValidation, PatchType, PropagationPolicy, ResourceClient
from .config import Config
from .errors import (AlreadyExists, AmbiguousResource, ApiError, BadRequest, ConfigError, Conflict,
                     DiscoveryError, DynkubeError, Expired, FieldNotFound, Forbidden, Gone, Invalid, InvalidInput,
                     ManifestError, MethodNotAllowed, NotFound, ResolutionError, ResourceNotFound,
                     SchemaUnavailable, ServerError, ServerTimeout, ServerWarning, TooManyRequests,
                     TransportError, Unauthorized, UnsupportedMediaType, ValidationFailed, WaitTimeout)
from .helpers import retry_on_conflict, wait_for
from .manifests import ApplyResult, Document, load_documents
from .objects import ApiList, ApiObject
from .informer import DeletedFinalStateUnknown, Informer, SharedInformerFactory
from .resources import Resource, ResourceMap, Subresource
from .transport import RetryPolicy
from .watch import EventType, Watch, WatchEvent

__all__ = [
    "__version__", "Client", "ResourceClient", "Config", "PatchType", "FieldValidation", "PropagationPolicy",
    "ApiObject", "ApiList", "ApplyResult", "Document", "load_documents", "RetryPolicy", "Resource", "ResourceMap", "Subresource",
    "retry_on_conflict", "wait_for", "Watch", "WatchEvent", "EventType", "Informer", "SharedInformerFactory",
    "DeletedFinalStateUnknown",
    "DynkubeError", "ConfigError", "ResolutionError", "ResourceNotFound", "AmbiguousResource", "DiscoveryError", "FieldNotFound",
    "InvalidInput", "ManifestError", "SchemaUnavailable", "TransportError", "ApiError", "BadRequest",
    "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed", "Conflict", "AlreadyExists", "Gone", "Expired",
    "UnsupportedMediaType", "Invalid", "TooManyRequests", "ServerError", "ServerTimeout", "ServerWarning", "ValidationFailed", "WaitTimeout",
]
