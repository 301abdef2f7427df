"""Every exception dynkube raises, rooted at DynkubeError.

Configuration errors name the file and key at fault; resolution errors name what was asked
and offer close matches; ApiError subclasses are built from the server's Status object.
No message, repr or attribute here ever carries a credential.
"""

from __future__ import annotations

from typing import Any


class DynkubeError(Exception):
    """Root of every dynkube exception."""


class ConfigError(DynkubeError):
    """The kubeconfig, in-cluster environment or credentials cannot be used.

    ``path`` is the file at fault (if any), ``key`` the kubeconfig key or field.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.key = key


class ResolutionError(DynkubeError):
    """A name typed by the user does not resolve to exactly one resource."""


class ResourceNotFound(ResolutionError):
    """The server serves no resource by that name; ``candidates`` are close matches."""

    def __init__(self, message: str, *, name: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.candidates = candidates


class AmbiguousResource(ResolutionError):
    """The name matches several resources equally well; ``candidates`` lists them."""

    def __init__(self, message: str, *, name: str, candidates: tuple[str, ...]) -> None:
        super().__init__(message)
        self.name = name
        self.candidates = candidates


class DiscoveryError(DynkubeError):
    """The server's discovery answer could not be used (not JSON, wrong shape, failed groups)."""

    def __init__(self, message: str, *, url: str | None = None, failed: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.failed = dict(failed or {})


class InvalidInput(DynkubeError, ValueError):
    """An argument or object given to dynkube is unusable; nothing was sent to the server."""


class ManifestError(InvalidInput):
    """A manifest document cannot be used; ``index`` is its 0-based position in the stream."""

    def __init__(self, message: str, *, source: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.index = index


class ApplyIncomplete(DynkubeError):
    """``apply_manifests`` stopped before its last document (the cause is chained): ``results`` are
    the documents finished, ``remaining`` those never attempted."""

    def __init__(self, message: str, *, results: list[Any], remaining: list[Any]) -> None:
        super().__init__(message)
        self.results = results
        self.remaining = remaining


class SchemaUnavailable(DynkubeError):
    """The server publishes no OpenAPI v3 schema for that group-version or kind."""


class TransportError(DynkubeError):
    """The request never got an HTTP answer (connection refused, TLS failure, timeout)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class LogStreamDropped(TransportError):
    """The connection of a followed log broke before the log ended (``follow_logs`` without
    ``resume``): ``source`` names the pod and container (``pod/NAME/CONTAINER``), ``last_timestamp``
    the timestamp of the last line delivered when timestamps were on ("" otherwise)."""

    def __init__(self, message: str, *, url: str | None = None, source: str = "", last_timestamp: str = "") -> None:
        super().__init__(message, url=url)
        self.source = source
        self.last_timestamp = last_timestamp


class RedirectRefused(DynkubeError):
    """The server (or a proxy in front of it) answered with a redirect dynkube does not follow: to
    another origin (scheme, host or port) or from https to plain http, where the credentials, the
    client certificate and the request body would go along. ``url`` is the request's URL,
    ``location`` where the redirect pointed (without its query)."""

    def __init__(self, message: str, *, url: str, location: str) -> None:
        super().__init__(message)
        self.url = url
        self.location = location


class MalformedResponse(DynkubeError):
    """A success answer that is not the JSON object asked for (an HTML login page of a proxy, truncated
    JSON, ``null``, a list); ``url`` is the request's URL, ``body_start`` the answer's first bytes."""

    def __init__(self, message: str, *, url: str, body_start: bytes) -> None:
        super().__init__(message)
        self.url = url
        self.body_start = body_start


class ApiError(DynkubeError):
    """The server answered with a non-success status.

    Carries ``code`` (HTTP status), ``reason`` (Status.reason), ``message`` (Status.message),
    ``status`` (the Status dict, synthesized when the body was not one) and ``causes``.
    """

    def __init__(self, status: dict[str, Any], *, method: str = "", url: str = "") -> None:
        self.status = status
        self.code: int = int(status.get("code") or 0)
        self.reason: str = str(status.get("reason") or "")
        self.message: str = str(status.get("message") or "")
        self.method = method
        self.url = url
        details = status.get("details") or {}
        self.details: dict[str, Any] = details if isinstance(details, dict) else {}
        self.causes: list[dict[str, Any]] = list(self.details.get("causes") or [])
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = self.message or self.reason or "request failed"
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.code} {self.reason}: {text}{where}" if self.reason else f"{self.code}: {text}{where}"

    @property
    def retry_after_seconds(self) -> int | None:
        value = self.details.get("retryAfterSeconds")
        return int(value) if isinstance(value, int) else None


class BadRequest(ApiError):
    """400: malformed request or strict field validation failure."""


class Unauthorized(ApiError):
    """401: the credentials were missing, wrong or expired."""


class Forbidden(ApiError):
    """403: authenticated, but RBAC (or admission) does not allow this."""


class NotFound(ApiError):
    """404: no such object (or no such resource path)."""


class MethodNotAllowed(ApiError):
    """405: the resource does not support this verb."""


class NotAcceptable(ApiError):
    """406: the server cannot produce the requested content type."""


class Conflict(ApiError):
    """409 Conflict: a stale resourceVersion, or a server-side apply field conflict."""


class AlreadyExists(Conflict):
    """409 AlreadyExists: create of a name that exists."""


class Gone(ApiError):
    """410: the resourceVersion or continue token is too old (reason Expired or Gone)."""


Expired = Gone


class RequestEntityTooLarge(ApiError):
    """413: the request body is larger than the server accepts (kube-apiserver: 3 MiB by default)."""


class UnsupportedMediaType(ApiError):
    """415: e.g. a strategic merge patch on a custom resource."""


class Invalid(ApiError):
    """422: the object failed validation; ``causes`` lists fields and reasons."""

    def _describe(self) -> str:
        base = super()._describe()
        fields = [f"{c.get('field')}: {c.get('message')}" for c in self.causes if c.get("field")]
        if fields and not all(f in base for f in fields):
            return base + " [" + "; ".join(fields) + "]"
        return base


class TooManyRequests(ApiError):
    """429: throttled by the server (API Priority and Fairness or max in-flight)."""


class ServerError(ApiError):
    """5xx other than a timeout."""


class ServerTimeout(ApiError):
    """504 Timeout, or 500 with reason ServerTimeout."""


_BY_REASON: dict[str, type[ApiError]] = {
    "AlreadyExists": AlreadyExists,
    "Conflict": Conflict,
    "Expired": Gone,
    "Gone": Gone,
    "Timeout": ServerTimeout,
    "ServerTimeout": ServerTimeout,
    "Invalid": Invalid,
    "RequestEntityTooLarge": RequestEntityTooLarge,
}

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    410: Gone,
    413: RequestEntityTooLarge,
    415: UnsupportedMediaType,
    422: Invalid,
    429: TooManyRequests,
    504: ServerTimeout,
}


def error_class_for(code: int, reason: str) -> type[ApiError]:
    """The ApiError subclass for an HTTP code and Status reason (reason wins when known)."""
    if reason in _BY_REASON:
        return _BY_REASON[reason]
    if code in _BY_CODE:
        return _BY_CODE[code]
    return ServerError if code >= 500 else ApiError


def api_error_from_status(status: dict[str, Any], *, method: str = "", url: str = "") -> ApiError:
    """Build the typed exception for a Status dict."""
    cls = error_class_for(int(status.get("code") or 0), str(status.get("reason") or ""))
    return cls(status, method=method, url=url)


class ServerWarning(UserWarning):
    """A ``Warning:`` header from the server (e.g. unknown fields, deprecated API versions)."""


class FieldNotFound(DynkubeError):
    """A field path names no field of the kind's schema; ``candidates`` are close matches."""

    def __init__(self, message: str, *, path: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.candidates = candidates


class WaitTimeout(DynkubeError, TimeoutError):
    """``wait_for`` ran out of time before the condition held."""


class OwnerError(DynkubeError):
    """An ownership walk cannot go on; ``obj`` is the object at fault (``Kind/namespace/name``)."""

    def __init__(self, message: str, *, obj: str) -> None:
        super().__init__(message)
        self.obj = obj


class DanglingOwner(OwnerError):
    """An owner reference names an object that does not exist (or one with another uid)."""


class OwnerCycle(OwnerError):
    """Following owner references leads back to an object already seen."""


class RolloutError(DynkubeError):
    """A rollout failed or cannot be done (progress deadline exceeded, no such revision); ``obj``
    names the object (``kind/name``)."""

    def __init__(self, message: str, *, obj: str) -> None:
        super().__init__(message)
        self.obj = obj


class DrainError(DynkubeError):
    """A drain refused some pods (``pods``: ``namespace/name``) before evicting any; the node
    ``node`` stays cordoned."""

    def __init__(self, message: str, *, node: str, pods: list[str]) -> None:
        super().__init__(message)
        self.node = node
        self.pods = pods


class WatchError(DynkubeError):
    """The watch stream cannot be understood (not JSON, or not a stream of watch events)."""


class ValidationFailed(InvalidInput):
    """Client-side schema validation found problems; ``issues`` lists them (nothing was sent)."""

    def __init__(self, message: str, *, issues: list[Any]) -> None:
        super().__init__(message)
        self.issues = issues


class StreamError(DynkubeError):
    """An exec, attach or port-forward stream failed after it opened: the connection dropped, the
    server's protocol cannot do what was asked (stdin half-close over v4), or a port-forward's
    error channel reported a failure (``url`` the stream's, without its query)."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class MissingExtra(DynkubeError, ImportError):
    """A feature needs an optional dependency that is not installed; ``extra`` names the
    ``pip install 'dynkube[EXTRA]'`` that brings it."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class CopyError(DynkubeError):
    """``cp`` could not copy: the container has no ``tar``, the path does not exist there, or the
    archive holds an entry that would land outside the destination (``entry`` names it)."""

    def __init__(self, message: str, *, entry: str | None = None) -> None:
        super().__init__(message)
        self.entry = entry
