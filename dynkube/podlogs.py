"""Pod logs, as ``kubectl logs``: a container's log, or a workload's, as text or followed line by line.

``log_sources`` decides which containers of which pods to read, as kubectl's ``LogsForObject``
does: a pod's default container (the ``kubectl.kubernetes.io/default-container`` annotation, else
its first container) or all of them; for a workload (``deploy/web``, ``rs``, ``sts``, ``ds``,
``job``, ``rc``, ``svc``) the pods its selector matches, sorted as kubectl sorts them for logs,
and the first of them unless all are asked for. That choice is ``choose_sources``, a generator
that yields each lookup it needs (an object, a list of pods, a watch for the first pod) and is
sent the answers, so the sync ``log_sources`` here and ``dynkube.aio.podlogs``' make the same
decisions; so do their requests (``log_calls``) and the reading of each line (``LineReader``).
``read_logs`` reads sources one after the other as text; ``follow_logs`` streams their lines as
they come (a thread per source when there are several), and with ``resume=True`` reconnects a
broken connection from the last timestamp seen without repeating a line
(``dynkube.core.logstream``). ``logs`` does both steps. Every request
goes through the client's transport: its TLS, credentials, retries and typed errors.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import queue
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

from . import raw
from .core import calls
from .core.exchange import NO_RETRIES
from .core.http import Request
from .core.logstream import LogResumePoint, MergedFollows, split_timestamp
from .core.calls import Call
from .errors import (InvalidInput, LogStreamDropped, ServerError, ServerTimeout, TooManyRequests, TransportError,
                     WaitTimeout)
from .objects import ApiList
from .resources import Resource
from .transport import CancelScope, Stream, Timeout, Transport
from .watch import DEFAULT_BACKOFF, Backoff, EventType

if TYPE_CHECKING:
    from .client import Client

__all__ = ["DEFAULT_CONTAINER_ANNOTATION", "DEFAULT_MAX_LOG_REQUESTS", "DEFAULT_POD_TIMEOUT", "RECONNECTABLE",
           "LineReader", "ListPods", "LogLine", "LogSelection", "LogSource", "LogStream", "ReadObject", "WatchPods",
           "check_follow", "check_options", "choose_sources", "follow_logs", "follow_timeout", "log_calls",
           "log_sources", "logs", "prefixed", "read_logs", "selector_of"]

log = logging.getLogger(__name__)

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
DEFAULT_MAX_LOG_REQUESTS = 5  # kubectl's --max-log-requests
DEFAULT_POD_TIMEOUT = 20.0  # kubectl's --pod-running-timeout: how long to wait for a workload's first pod
_QUEUED_LINES = 1000  # lines of several followed sources waiting for the reader, before their threads wait
RECONNECTABLE = (TransportError, TooManyRequests, ServerError, ServerTimeout)
"""The errors after which a resuming follow connects again."""

# kinds whose pods kubectl finds by the object's selector: spec.selector as a LabelSelector, or as a plain map
_LABEL_SELECTOR_KINDS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                         ("apps", "DaemonSet"), ("batch", "Job")}
_MAP_SELECTOR_KINDS = {("", "Service"), ("", "ReplicationController")}
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")  # --all-containers' order


@dataclass(frozen=True, slots=True)
class LogSource:
    """One container of one pod whose log is read; ``field`` is where the pod's spec lists it
    (``containers``, ``initContainers`` or ``ephemeralContainers``)."""

    namespace: str
    pod: str
    container: str
    field: str = "containers"

    @property
    def prefix(self) -> str:
        """kubectl's ``--prefix`` for this source's lines: ``[pod/NAME/CONTAINER] ``."""
        return f"[pod/{self.pod}/{self.container}] "

    def __str__(self) -> str:
        return f"pod/{self.pod}/{self.container}"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log: ``text`` as the server sent it, its line end included (a log's last line
    may have none), with the timestamp in front only if timestamps were asked for; ``timestamp``
    is the line's timestamp when timestamps were asked for or the follow resumes, else ""."""

    source: LogSource
    text: str
    timestamp: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class LogSelection:
    """What ``log_sources`` chose: the sources, and kubectl's notices about the choice (``Defaulted
    container "c" out of: c, d``, ``Found 3 pods, using pod/web-1``), which the CLI prints on stderr."""

    sources: tuple[LogSource, ...]
    notices: tuple[str, ...] = ()


# ---- which pods and containers ------------------------------------------------------------------

class ReadObject(NamedTuple):
    """A lookup of ``choose_sources``: the object ``kind``/``name`` (in ``namespace`` if its kind is
    namespaced), read from the server; answered with the object."""

    kind: str
    name: str
    namespace: str


class ListPods(NamedTuple):
    """A lookup of ``choose_sources``: the pods of ``namespace`` matching ``selector``, one unpaged
    list; answered with the ``ApiList``."""

    namespace: str
    selector: str | Mapping[str, str]


class WatchPods(NamedTuple):
    """A lookup of ``choose_sources``: watch the pods matching ``selector`` from
    ``resource_version`` for at most ``timeout_seconds``; answered with the first pod added or
    changed, or None when the watch ended without one."""

    namespace: str
    selector: str
    resource_version: str
    timeout_seconds: int


Lookup = ReadObject | ListPods | WatchPods


def log_sources(client: Client, target: str | Mapping[str, Any] | None = None, namespace: str | None = None, *,
                selector: str | Mapping[str, str] | None = None, container: str | None = None,
                all_containers: bool = False, all_pods: bool = False,
                pod_timeout: float = DEFAULT_POD_TIMEOUT) -> LogSelection:
    """The containers whose logs ``kubectl logs TARGET`` (or ``-l SELECTOR``) reads.

    ``target``: a pod's name, ``TYPE/NAME`` (``pod/web-1``, ``deploy/web``, ``svc/web``, ...), or an
    object read from the server. A workload's pods are those of its selector, best first (scheduled,
    running, ready longest, most restarts, oldest); only the first unless ``all_pods``. With no pod
    yet, waits up to ``pod_timeout`` seconds for one. ``selector`` instead of a target: every pod it
    matches. ``container`` (else the default one) or ``all_containers``.
    """
    plan = choose_sources(target, namespace or client.namespace, selector=selector, container=container,
                          all_containers=all_containers, all_pods=all_pods, pod_timeout=pod_timeout)
    answer: Any = None
    while True:
        try:
            lookup = plan.send(answer)
        except StopIteration as stop:
            selection: LogSelection = stop.value
            return selection
        answer = _look_up(client, lookup)


def _look_up(client: Client, lookup: Lookup) -> Any:
    """The answer to one lookup of ``choose_sources``."""
    if isinstance(lookup, ReadObject):
        resource = client.resource(lookup.kind)
        return resource.get(lookup.name, lookup.namespace if resource.resource.namespaced else None)
    pods = client.resource("pods")
    if isinstance(lookup, ListPods):
        return pods.list_page(lookup.namespace, label_selector=lookup.selector)
    with pods.watch(lookup.namespace, label_selector=lookup.selector, resource_version=lookup.resource_version,
                    timeout_seconds=lookup.timeout_seconds) as watch:
        for event in watch:
            if event.type in (EventType.ADDED, EventType.MODIFIED):
                return event.object
    return None


def choose_sources(target: str | Mapping[str, Any] | None, namespace: str, *,
                   selector: str | Mapping[str, str] | None = None, container: str | None = None,
                   all_containers: bool = False, all_pods: bool = False, pod_timeout: float = DEFAULT_POD_TIMEOUT
                   ) -> Generator[Lookup, Any, LogSelection]:
    """The decisions of ``log_sources``, for any client: yields the lookups it needs, is sent each
    answer, and returns the ``LogSelection``. Every argument is checked before the first lookup."""
    _check_selection(target, selector, container, all_containers, all_pods, pod_timeout)
    notices: list[str] = []
    found: list[Mapping[str, Any]]
    if selector is not None:
        page: ApiList = yield ListPods(namespace, selector)
        found = list(page.items)
        if not found:
            notices.append(f"No resources found in {namespace} namespace.")
        quiet = False
    else:
        assert target is not None  # _check_selection
        obj = target if isinstance(target, Mapping) else (yield _target_lookup(target, namespace))
        found, quiet = yield from _pods_of(obj, all_pods, pod_timeout, notices)
    sources = [source for pod in found for source in _containers(pod, container, all_containers, quiet, notices)]
    return LogSelection(tuple(sources), tuple(notices))


def _check_selection(target: Any, selector: Any, container: Any, all_containers: Any, all_pods: Any,
                     pod_timeout: Any) -> None:
    if target is not None and selector is not None:
        raise InvalidInput("give a pod (or TYPE/NAME) or a selector, not both (only a selector (-l) or a POD name "
                           "is allowed)")
    if target is None and selector is None:
        raise InvalidInput("logs need a pod, TYPE/NAME (e.g. deploy/web) or a label selector")
    if target is not None and not (isinstance(target, Mapping) or (isinstance(target, str) and target.strip("/"))):
        raise InvalidInput(f"the target of logs must be a pod's name, TYPE/NAME or an object, not {target!r}")
    calls.check_log_options(container=container)
    for name, value in (("all_containers", all_containers), ("all_pods", all_pods)):
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be True or False, not {value!r}")
    if container and all_containers:
        raise InvalidInput(f"give container or all_containers=True, not both (got container {container!r})")
    if type(pod_timeout) not in (int, float) or not 0 <= pod_timeout < float("inf"):
        raise InvalidInput(f"pod_timeout must be seconds (a number >= 0), not {pod_timeout!r}")
    if selector is not None:
        calls.selector(selector, "selector")


def _target_lookup(target: str, namespace: str) -> ReadObject:
    """The lookup of the object a target names: a pod by name, or TYPE/NAME of any kind."""
    kind, sep, name = target.partition("/")
    if not sep:
        kind, name = "pods", kind
    if not kind or not name or "/" in name:
        raise InvalidInput(f"the target of logs must be NAME or TYPE/NAME (e.g. deploy/web), not {target!r}")
    return ReadObject(kind, name, namespace)


def _pods_of(obj: Mapping[str, Any], all_pods: bool, timeout: float,
             notices: list[str]) -> Generator[Lookup, Any, tuple[list[Mapping[str, Any]], bool]]:
    """The pods of an object (a pod: itself), and whether the "Defaulted container" notices are
    left out (kubectl leaves them out for all pods of a workload)."""
    group, kind = _group_kind(obj)
    if (group, kind) == ("", "Pod"):
        return [obj], False
    namespace = str(obj["metadata"].get("namespace") or "")
    matching = yield from _pods_matching(namespace, selector_of(obj), timeout)
    found = sorted(matching, key=functools.cmp_to_key(_by_logging))
    if all_pods:
        return found, True
    if len(found) > 1:
        notices.append(f"Found {len(found)} pods, using pod/{found[0]['metadata']['name']}")
    return found[:1], False


def selector_of(obj: Mapping[str, Any]) -> str:
    """The label selector of a workload's pods, as kubectl's ``SelectorsForObject``: ``spec.selector``
    of a Deployment, ReplicaSet, StatefulSet, DaemonSet or Job (matchLabels and matchExpressions),
    of a Service or ReplicationController (a map). InvalidInput for any other kind, or none set."""
    group, kind = _group_kind(obj)
    name = obj["metadata"].get("name")
    spec_selector = (obj.get("spec") or {}).get("selector")
    if (group, kind) in _MAP_SELECTOR_KINDS:
        if not spec_selector:
            raise InvalidInput(f"invalid {kind.lower()} {name!r}: {kind} is defined without a selector")
        return ",".join(f"{k}={v}" for k, v in spec_selector.items())
    if (group, kind) not in _LABEL_SELECTOR_KINDS:
        known = ", ".join(sorted(k for _, k in _LABEL_SELECTOR_KINDS | _MAP_SELECTOR_KINDS))
        raise InvalidInput(f"cannot get the logs from a {kind}: dynkube finds the pods of a Pod, {known}")
    if not isinstance(spec_selector, Mapping):
        raise InvalidInput(f"{kind} {name!r} has no spec.selector")
    return label_selector_string(spec_selector)


def label_selector_string(selector: Mapping[str, Any]) -> str:
    """A LabelSelector (``matchLabels``, ``matchExpressions``) as the query's ``labelSelector``."""
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            parts.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator in ("Exists", "DoesNotExist"):
            parts.append(key if operator == "Exists" else f"!{key}")
        else:
            raise InvalidInput(f"unknown label selector operator {operator!r} (for key {key!r})")
    return ",".join(parts)


def _pods_matching(namespace: str, selector: str,
                   timeout: float) -> Generator[Lookup, Any, list[Mapping[str, Any]]]:
    """The pods matching ``selector``; with none yet, the first that appears within ``timeout`` seconds."""
    page: ApiList = yield ListPods(namespace, selector)
    if page.items:
        return list(page.items)
    if timeout > 0:
        first = yield WatchPods(namespace, selector, page.resource_version or "", max(1, round(timeout)))
        if first is not None:
            return [first]
    raise WaitTimeout(f"no pod matching {selector!r} in namespace {namespace} appeared within {timeout:g}s")


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping) or not obj.get("kind"):
        raise InvalidInput("logs need an object read from the server (with apiVersion, kind and metadata)")
    api_version = str(obj.get("apiVersion") or "")
    return (api_version.rpartition("/")[0] if "/" in api_version else ""), str(obj["kind"])


def _is_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _ready_since(pod: Mapping[str, Any]) -> str:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return str(c.get("lastTransitionTime") or "")
    return ""


def _restarts(pod: Mapping[str, Any]) -> int:
    return max([int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []],
               default=0)


_PHASE_RANK = {"Running": 0, "Unknown": 1, "Pending": 2}


def _earlier(a: str, b: str) -> int:
    """-1 when time ``a`` is before ``b`` (an empty time is after every other), 1 after, 0 equal."""
    if a == b:
        return 0
    if not a or not b:
        return 1 if not a else -1
    return -1 if a < b else 1


def _by_logging(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    """kubectl's order of pods for logs (podutils.ByLogging): scheduled first, then Running, Unknown,
    Pending; ready first; ready for longer first; more restarts first; older first."""
    node_a, node_b = (p.get("spec", {}).get("nodeName") or "" for p in (a, b))
    if node_a != node_b and not (node_a and node_b):
        return -1 if node_a else 1
    phase_a, phase_b = (_PHASE_RANK.get((p.get("status") or {}).get("phase", ""), 3) for p in (a, b))
    if phase_a != phase_b:
        return -1 if phase_a < phase_b else 1
    if _is_ready(a) != _is_ready(b):
        return -1 if _is_ready(a) else 1
    if _is_ready(a) and _ready_since(a) != _ready_since(b):
        return _earlier(_ready_since(a), _ready_since(b))
    if _restarts(a) != _restarts(b):
        return -1 if _restarts(a) > _restarts(b) else 1
    created_a, created_b = (str(p["metadata"].get("creationTimestamp") or "") for p in (a, b))
    return _earlier(created_a, created_b)


def _containers(pod: Mapping[str, Any], container: str | None, all_containers: bool, quiet: bool,
                notices: list[str]) -> list[LogSource]:
    """The sources of one pod: every container, or the one named, or the default one."""
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    name, namespace = str(metadata["name"]), str(metadata.get("namespace") or "")
    listed = [(field, str(c["name"])) for field in _CONTAINER_FIELDS for c in spec.get(field) or []]
    if all_containers:
        return [LogSource(namespace, name, c, field) for field, c in listed]
    if not spec.get("containers"):
        raise InvalidInput(f"pod {namespace}/{name} does not have any containers")
    chosen = container or _annotated_container(pod, listed, notices)
    if not chosen:
        chosen = str(spec["containers"][0]["name"])
        if len(listed) > 1 and not quiet:
            notices.append(f'Defaulted container "{chosen}" out of: {_all_names(spec)}')
    for field, c in listed:
        if c == chosen:
            return [LogSource(namespace, name, c, field)]
    raise InvalidInput(f"container {chosen} is not valid for pod {name} out of: {_all_names(spec)}")


def _annotated_container(pod: Mapping[str, Any], listed: list[tuple[str, str]], notices: list[str]) -> str | None:
    wanted = (pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if not wanted:
        return None
    if any(c == wanted for _, c in listed):
        return str(wanted)
    notices.append(f'Default container name "{wanted}" not found in pod {pod["metadata"]["name"]}')
    return None


def _all_names(spec: Mapping[str, Any]) -> str:
    """kubectl's list of a pod's containers: ``a, b, debug (ephem), setup (init)``."""
    names = [str(c["name"]) for c in spec.get("containers") or []]
    names += [f"{c['name']} (ephem)" for c in spec.get("ephemeralContainers") or []]
    names += [f"{c['name']} (init)" for c in spec.get("initContainers") or []]
    return ", ".join(names)


# ---- reading --------------------------------------------------------------------------------------

def read_logs(client: Client, sources: Sequence[LogSource], *, prefix: bool = False, tail_lines: int | None = None,
              since_seconds: int | float | None = None, since_time: str | dt.datetime | None = None,
              timestamps: bool = False, previous: bool = False, limit_bytes: int | None = None,
              insecure_skip_tls_verify_backend: bool = False, timeout: Timeout = None) -> str:
    """The logs of ``sources`` as text, one after the other (each line prefixed with its source's
    ``[pod/NAME/CONTAINER] `` when ``prefix``). Every option is checked before the first request."""
    requests = log_calls(_pods_resource(client), sources, tail_lines=tail_lines, since_seconds=since_seconds,
                         since_time=since_time, timestamps=timestamps, previous=previous, limit_bytes=limit_bytes,
                         insecure_skip_tls_verify_backend=insecure_skip_tls_verify_backend)
    return "".join(prefixed(source, call.parse(client.transport.send(call.request, timeout=timeout)), prefix)
                   for source, call in zip(sources, requests))


def log_calls(pods: Resource, sources: Sequence[LogSource], *, follow: bool = False, **options: Any) -> list[Call[str]]:
    """The log request of each source (``options``: those of ``read_logs``), every one checked
    before any is sent."""
    return [calls.pod_logs(pods, s.pod, s.namespace, container=s.container, follow=follow, **options)
            for s in sources]


def prefixed(source: LogSource, text: str, prefix: bool) -> str:
    """A source's log text, each line prefixed with ``[pod/NAME/CONTAINER] `` when ``prefix``."""
    return "".join(source.prefix + line for line in text.splitlines(keepends=True)) if prefix else text


def follow_logs(client: Client, sources: Sequence[LogSource], *, resume: bool = False,
                max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS, ignore_errors: bool = False,
                tail_lines: int | None = None, since_seconds: int | float | None = None,
                since_time: str | dt.datetime | None = None, timestamps: bool = False, previous: bool = False,
                limit_bytes: int | None = None, insecure_skip_tls_verify_backend: bool = False,
                backoff: Backoff = DEFAULT_BACKOFF) -> LogStream:
    """Follow the logs of ``sources``: a ``LogStream`` of ``LogLine``s as they arrive.

    A connection that breaks ends the stream with ``LogStreamDropped``; with ``resume=True`` it is
    reconnected (waits paced by ``backoff``) from the last timestamp seen, and no line is repeated or
    skipped. More than one source is followed concurrently, at most ``max_log_requests`` of them;
    an error of one source ends the stream unless ``ignore_errors`` (then it is logged, and the
    others go on). Every option is checked before the first request (nothing is sent before the
    stream is iterated).
    """
    check_follow(len(sources), resume, max_log_requests, ignore_errors, limit_bytes, backoff)
    followed = log_calls(_pods_resource(client), sources, follow=True, tail_lines=tail_lines,
                         since_seconds=since_seconds, since_time=since_time, timestamps=timestamps or resume,
                         previous=previous, limit_bytes=limit_bytes,
                         insecure_skip_tls_verify_backend=insecure_skip_tls_verify_backend)
    followers = [_Follower(client.transport, source, call.request, LineReader(source, resume, timestamps), backoff)
                 for source, call in zip(sources, followed)]
    return LogStream(followers, ignore_errors=ignore_errors)


def check_follow(count: int, resume: Any, max_log_requests: Any, ignore_errors: Any, limit_bytes: Any,
                 backoff: Any) -> None:
    """InvalidInput for the first unusable option of following ``count`` sources."""
    for name, value in (("resume", resume), ("ignore_errors", ignore_errors)):
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be True or False, not {value!r}")
    if type(max_log_requests) is not int or max_log_requests < 1:
        raise InvalidInput(f"max_log_requests must be an integer above 0, not {max_log_requests!r}")
    if count > 1 and count > max_log_requests:
        raise InvalidInput(f"you are attempting to follow {count} log streams, but maximum allowed concurrency is "
                           f"{max_log_requests}, use max_log_requests (--max-log-requests) to increase the limit")
    if resume and limit_bytes is not None:
        raise InvalidInput("resume=True cannot be combined with limit_bytes: a resumed connection cannot know how "
                           "many bytes the server counted before the break")
    if not isinstance(backoff, Backoff):
        raise InvalidInput(f"backoff must be a dynkube.watch.Backoff, not {type(backoff).__name__}")


def _pods_resource(client: Client) -> Resource:
    return client.resource("pods").resource


class LineReader:
    """How a followed source's lines are handed out: the text as the caller asked for it (its
    timestamp kept or cut), and, when the follow resumes, where it stands (``point``) and which
    lines of a resumed connection were delivered already."""

    def __init__(self, source: LogSource, resume: bool, timestamps: bool) -> None:
        self.source = source
        self.point = LogResumePoint() if resume else None
        self._timestamps = timestamps  # the caller asked for them (a resuming follow always gets them)

    def request(self, first: Request) -> Request:
        """The request of the next connection (``first``, or from the resume point)."""
        return self.point.request(first) if self.point else first

    def line(self, text: str) -> LogLine | None:
        """A line as the caller gets it (None: a resumed connection's repeat of a delivered line)."""
        if not (self._timestamps or self.point):
            return LogLine(self.source, text)
        stamp, rest = split_timestamp(text)
        if self.point is not None:
            if self.point.already_delivered(stamp):
                return None
            self.point.delivered(stamp)
        return LogLine(self.source, text if self._timestamps else rest, stamp)

    def dropped(self, url: str, exc: BaseException) -> LogStreamDropped:
        """The error of a connection that broke with ``exc``."""
        return LogStreamDropped(f"logs of {self.source}: the connection broke ({exc.__class__.__name__}: {exc})",
                                url=url, source=str(self.source), last_timestamp=self.point.last if self.point else "")


def follow_timeout(timeout: Timeout) -> tuple[float, None]:
    """The timeout of a followed log's connection: the transport's connect timeout (else 30 s), and
    no read timeout (a log may stay silent for ever)."""
    connect = timeout[0] if isinstance(timeout, tuple) else timeout
    return connect or 30.0, None


class _Follower:
    """One source's followed log, over as many connections as resuming takes."""

    def __init__(self, transport: Transport, source: LogSource, request: Request, reader: LineReader,
                 backoff: Backoff) -> None:
        self.source = source
        self._transport = transport
        self._request = request
        self._reader = reader
        self._point = reader.point
        self._backoff = backoff
        self._stopped = threading.Event()
        self._connecting = CancelScope()
        self._lock = threading.Lock()
        self._stream: Stream | None = None

    def stop(self) -> None:
        """End the follow from any thread: the connection is shut down, the lines end without an error."""
        self._stopped.set()
        self._connecting.cancel()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.abort()

    def lines(self) -> Generator[LogLine, None, None]:
        failures = 0
        while not self._stopped.is_set():
            request = self._reader.request(self._request)
            delivered = 0
            try:
                for line in self._connection(request):
                    delivered += 1
                    yield line
                return  # the server ended the log: the container stopped
            except RECONNECTABLE as exc:
                if self._stopped.is_set():
                    return
                if self._point is None:
                    raise
                log.info("logs of %s: %s; resuming from %s", self.source, exc, self._point.last or "the start")
            failures = 0 if delivered else failures + 1
            if failures:
                self._stopped.wait(self._backoff.delay(failures))

    def _connection(self, request: Request) -> Iterator[LogLine]:
        """The lines of one connection; LogStreamDropped when it breaks."""
        stream = self._connect(request)
        if stream is None:
            return
        try:
            for text in raw.lines(stream):
                line = self._reader.line(text)
                if line is not None:
                    yield line
        except OSError as exc:  # requests' connection and chunked-encoding errors are OSErrors
            if not self._stopped.is_set():
                raise self._reader.dropped(self._transport.url(request.path), exc) from None
        finally:
            stream.close()
            with self._lock:
                self._stream = None

    def _connect(self, request: Request) -> Stream | None:
        with self._connecting:
            stream = self._transport.stream(request, timeout=follow_timeout(self._transport.timeout),
                                            retry=NO_RETRIES if self._point else None)
        with self._lock:
            if not self._stopped.is_set():
                self._stream = stream
                return stream
        stream.close()
        return None


class LogStream:
    """Followed log lines (``LogLine``) as they arrive: iterate it. ``close()`` (from any thread), or
    leaving a ``with`` block, ends the iteration and releases every connection. The first request is
    sent on the first ``next()``. Lines of several sources come in the order they arrive."""

    def __init__(self, followers: Sequence[_Follower], *, ignore_errors: bool = False) -> None:
        self._followers = list(followers)
        self._ignore_errors = ignore_errors
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lines = self._followers[0].lines() if len(self._followers) == 1 else self._merged()
        self.errors: list[tuple[LogSource, Exception]] = []  # with ignore_errors: the sources that failed

    @property
    def sources(self) -> tuple[LogSource, ...]:
        return tuple(f.source for f in self._followers)

    def __repr__(self) -> str:
        state = "closed" if self._closed.is_set() else "open"
        return f"<LogStream {', '.join(map(str, self.sources)) or 'no sources'} {state}>"

    def __iter__(self) -> LogStream:
        return self

    def __next__(self) -> LogLine:
        if self._closed.is_set():
            raise StopIteration
        return next(self._lines)

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """End the follow: every connection is shut down; the iteration (in any thread) stops without an error."""
        self._closed.set()
        for follower in self._followers:
            follower.stop()
        try:
            self._lines.close()
        except ValueError:  # being iterated in another thread: it ends there, its connections shut down
            pass
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _merged(self) -> Generator[LogLine, None, None]:
        """The lines of every follower, each read in its own thread, as they arrive."""
        if not self._followers:
            return
        arrived: queue.Queue[tuple[str, Any]] = queue.Queue(_QUEUED_LINES)
        self._threads = [threading.Thread(target=self._pump, args=(f, arrived), name=f"dynkube-logs {f.source}",
                                          daemon=True) for f in self._followers]
        for thread in self._threads:
            thread.start()
        merge = MergedFollows(len(self._threads), ignore_errors=self._ignore_errors, errors=self.errors)
        try:
            while merge.running:
                line = merge.arrival(*arrived.get())
                if line is not None:
                    yield line
        finally:
            for follower in self._followers:
                follower.stop()

    def _pump(self, follower: _Follower, arrived: queue.Queue[tuple[str, Any]]) -> None:
        try:
            for line in follower.lines():
                if not self._put(arrived, ("line", line)):
                    return
        except Exception as exc:  # handed to the reader, which raises or (ignore_errors) logs it
            self._put(arrived, ("error", (follower.source, exc)))
        self._put(arrived, ("end", None))

    def _put(self, arrived: queue.Queue[tuple[str, Any]], item: tuple[str, Any]) -> bool:
        """Queue an item for the reader, waiting while the queue is full; False once the stream is closed."""
        while not self._closed.is_set():
            try:
                arrived.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False


def check_options(*, follow: bool = False, resume: bool = False, prefix: bool = False,
                  max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS, ignore_errors: bool = False,
                  **options: Any) -> None:
    """InvalidInput for the first unusable option of ``logs`` (``options``: those of ``read_logs``,
    e.g. ``tail_lines``), as ``logs`` checks them before any request."""
    calls.log_params(**options)
    if not isinstance(follow, bool) or not isinstance(prefix, bool):
        raise InvalidInput(f"follow and prefix must be True or False, not {follow!r} and {prefix!r}")
    if follow:
        check_follow(0, resume, max_log_requests, ignore_errors, options.get("limit_bytes"), DEFAULT_BACKOFF)
        if prefix:
            raise InvalidInput("prefix applies to the text of logs; a followed line has its source "
                               "(line.source.prefix)")
    elif resume:
        raise InvalidInput("resume=True needs follow=True")


# ---- both steps -------------------------------------------------------------------------------------

@overload
def logs(client: Client, target: str | Mapping[str, Any] | None = ..., namespace: str | None = ..., *,
         follow: Literal[False] = ..., selector: str | Mapping[str, str] | None = ..., container: str | None = ...,
         all_containers: bool = ..., all_pods: bool = ..., pod_timeout: float = ..., prefix: bool = ...,
         resume: bool = ..., max_log_requests: int = ..., ignore_errors: bool = ..., tail_lines: int | None = ...,
         since_seconds: int | float | None = ..., since_time: str | dt.datetime | None = ..., timestamps: bool = ...,
         previous: bool = ..., limit_bytes: int | None = ..., insecure_skip_tls_verify_backend: bool = ...,
         timeout: Timeout = ...) -> str: ...


@overload
def logs(client: Client, target: str | Mapping[str, Any] | None = ..., namespace: str | None = ..., *,
         follow: Literal[True], selector: str | Mapping[str, str] | None = ..., container: str | None = ...,
         all_containers: bool = ..., all_pods: bool = ..., pod_timeout: float = ..., prefix: bool = ...,
         resume: bool = ..., max_log_requests: int = ..., ignore_errors: bool = ..., tail_lines: int | None = ...,
         since_seconds: int | float | None = ..., since_time: str | dt.datetime | None = ..., timestamps: bool = ...,
         previous: bool = ..., limit_bytes: int | None = ..., insecure_skip_tls_verify_backend: bool = ...,
         timeout: Timeout = ...) -> LogStream: ...


def logs(client: Client, target: str | Mapping[str, Any] | None = None, namespace: str | None = None, *,
         follow: bool = False, selector: str | Mapping[str, str] | None = None, container: str | None = None,
         all_containers: bool = False, all_pods: bool = False, pod_timeout: float = DEFAULT_POD_TIMEOUT,
         prefix: bool = False, resume: bool = False, max_log_requests: int = DEFAULT_MAX_LOG_REQUESTS,
         ignore_errors: bool = False, tail_lines: int | None = None, since_seconds: int | float | None = None,
         since_time: str | dt.datetime | None = None, timestamps: bool = False, previous: bool = False,
         limit_bytes: int | None = None, insecure_skip_tls_verify_backend: bool = False,
         timeout: Timeout = None) -> str | LogStream:
    """The logs of a pod or workload, like ``kubectl logs``: the text, or with ``follow=True`` a
    ``LogStream`` of lines as they arrive (``resume=True``: reconnect from the last timestamp after a
    break). ``target`` and the choice of pods and containers: see ``log_sources`` (its notices are
    logged at INFO); ``prefix`` (text only): each line starts with ``[pod/NAME/CONTAINER] ``. Every
    argument is checked before the first request.
    """
    options: dict[str, Any] = {
        "tail_lines": tail_lines, "since_seconds": since_seconds, "since_time": since_time, "timestamps": timestamps,
        "previous": previous, "limit_bytes": limit_bytes,
        "insecure_skip_tls_verify_backend": insecure_skip_tls_verify_backend}
    check_options(follow=follow, resume=resume, prefix=prefix, max_log_requests=max_log_requests,
                  ignore_errors=ignore_errors, **options)
    selection = log_sources(client, target, namespace, selector=selector, container=container,
                            all_containers=all_containers, all_pods=all_pods, pod_timeout=pod_timeout)
    for notice in selection.notices:
        log.info("%s", notice)
    if follow:
        return follow_logs(client, selection.sources, resume=resume, max_log_requests=max_log_requests,
                           ignore_errors=ignore_errors, **options)
    return read_logs(client, selection.sources, prefix=prefix, timeout=timeout, **options)
