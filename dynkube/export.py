"""Export and import: the objects of a cluster written as clean, re-appliable YAML, and applied back.

``export`` lists every listable, creatable kind (or those chosen), page by page, and writes each
object as it arrives, cleaned of what the server set (status, uid, resourceVersion, managedFields,
allocated IPs and ports...) so that it applies again without conflict, to this or another cluster.
What is left out by default (events, leases, controller-made endpoints, objects owned by another
exported object, Secrets unless asked for) is decided in ``skip_reason`` and documented in
docs/export.md. ``import_export`` applies such an export (server-side apply, Namespaces and CRDs
first), optionally moving every namespaced object into one namespace.
"""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import DynkubeError, InvalidInput, NotFound
from .manifests import ApplyResult, Document, apply_manifests, load_documents
from .objects import dump_yaml
from .resources import BUILTIN_GROUPS, Resource

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

CLUSTER_DIR = "_cluster"  # the directory of cluster-scoped objects in a tree export
CORE_DIR = "core"  # the group directory of the core group ("")
SECRET_MODE = 0o600

# Kinds left out unless named in ``kinds``: records the cluster writes about itself, not state to restore.
SKIPPED_KINDS = frozenset({
    "events", "events.events.k8s.io", "leases.coordination.k8s.io", "nodes", "componentstatuses",
    "csinodes.storage.k8s.io", "volumeattachments.storage.k8s.io", "ipaddresses.networking.k8s.io",
    "csistoragecapacities.storage.k8s.io", "resourceslices.resource.k8s.io",
    "podcertificaterequests.certificates.k8s.io",
    "certificatesigningrequests.certificates.k8s.io",
})
# Labels and annotations by which the cluster marks an object it made and keeps itself.
MANAGED_LABELS = {
    "endpoints.kubernetes.io/managed-by": None, "endpointslice.kubernetes.io/managed-by": None,
    "kubernetes.io/bootstrapping": "rbac-defaults", "kube-aggregator.kubernetes.io/automanaged": None,
    "ipaddress.kubernetes.io/managed-by": None,
}
MANAGED_ANNOTATIONS = {"apf.kubernetes.io/autoupdate-spec": "true"}
# (resource, namespace or None for any, name) of objects the control plane makes and keeps itself.
MANAGED_NAMES = {
    ("configmaps", None, "kube-root-ca.crt"), ("servicecidrs.networking.k8s.io", None, "kubernetes"),
    ("services", "default", "kubernetes"), ("configmaps", "kube-system", "extension-apiserver-authentication"),
    ("configmaps", "kube-system", "kube-apiserver-legacy-service-account-token-tracking"),
}
# Cleaning: what the server sets, and what would block a re-apply.
METADATA_DROPPED = ("uid", "resourceVersion", "generation", "creationTimestamp", "selfLink", "managedFields",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")
ANNOTATIONS_DROPPED = (
    "kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision",
    "pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
    "endpoints.kubernetes.io/last-change-trigger-time",
)
LABELS_DROPPED = ("kubernetes.io/metadata.name",)  # the server sets it to the Namespace's name
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")


class Layout(enum.StrEnum):
    """How an export is written: one file per object in a directory tree, or one YAML stream."""

    TREE = "tree"
    STREAM = "stream"


@dataclass(frozen=True)
class ExportFailure:
    """A kind (or a group-version discovery could not read) that could not be exported, and why."""

    what: str
    error: str

    def __str__(self) -> str:
        return f"{self.what}: {self.error}"


@dataclass(frozen=True)
class ExportProgress:
    """Where an export is: kinds listed of all, objects written so far."""

    kinds_done: int
    kinds_total: int
    objects: int


@dataclass
class ExportResult:
    """What an export wrote: ``objects`` written, ``skipped`` objects by reason ("owned", "managed",
    "token"), ``kinds_left_out`` (not listed by the kind rules: events, secrets...), ``failures``."""

    kinds: int = 0
    objects: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    kinds_left_out: list[str] = field(default_factory=list)
    failures: list[ExportFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class _Scope:
    namespace: str | None
    all_namespaces: bool
    label_selector: str | None
    include_secrets: bool
    include_owned: bool
    include_managed: bool
    named: frozenset[Resource]


def export(client: Client, output: str | Path | IO[str], *, namespace: str | None = None,
           all_namespaces: bool = False, kinds: Iterable[str] = (), exclude_kinds: Iterable[str] = (),
           label_selector: str | None = None, layout: str | Layout = Layout.TREE, include_secrets: bool = False,
           include_owned: bool = False, include_managed: bool = False, include_crds: bool = True,
           on_progress: Callable[[ExportProgress], None] | None = None) -> ExportResult:
    """Write the chosen objects as clean, re-appliable YAML; returns counts and the kinds that failed.

    ``output`` is a directory (``Layout.TREE``: ``NAMESPACE/GROUP/KIND/NAME.yaml``, cluster-scoped
    objects under ``_cluster/``; it must be empty or absent) or, for ``Layout.STREAM``, a file path
    or an open text stream. With ``namespace`` (else the client's), the namespaced objects of that
    namespace, its Namespace object and the CRDs of its custom objects; with ``all_namespaces``,
    every namespaced and cluster-scoped object. A kind that fails (forbidden, timeout) is recorded
    in the result's ``failures`` and the others are still written. Secrets only with
    ``include_secrets`` (files 0600). Objects are written as pages arrive; only objects with an
    owner not yet seen are held until the end.
    """
    layout = _layout(layout)
    if all_namespaces and namespace:
        raise InvalidInput("give either namespace or all_namespaces=True, not both")
    namespace = None if all_namespaces else (namespace or client.namespace)
    if not all_namespaces and not namespace:
        raise InvalidInput("export needs a namespace or all_namespaces=True")
    with _WriterContext(output, layout, include_secrets) as writer:
        resource_map = client.api_map()
        named = _resolve_all(client, kinds, "kinds")
        excluded = set(_resolve_all(client, exclude_kinds, "exclude_kinds"))
        if any(r.group_resource == "secrets" for r in named) and not include_secrets:
            raise InvalidInput("secrets are exported only with include_secrets=True (--include-secrets)")
        scope = _Scope(namespace, all_namespaces, label_selector, include_secrets, include_owned, include_managed,
                       frozenset(named))
        pool = resource_map.filter(verbs=("list", "create"))
        chosen = _chosen(pool, scope, excluded)
        result = ExportResult(kinds=len(chosen), kinds_left_out=[r.group_resource for r in pool if not named
                                                                and r not in excluded and _kind_skipped(r, scope)])
        if not named and all_namespaces:
            result.failures += [ExportFailure(gv, why) for gv, why in resource_map.failed.items()]
        _export_kinds(client, chosen, scope, writer, result, on_progress)
        if namespace and not named:
            _export_namespace(client, namespace, writer, result)
            if include_crds:
                _export_crds(client, writer, result)
    return result


def _layout(value: str | Layout) -> Layout:
    try:
        return Layout(value)
    except ValueError:
        raise InvalidInput(f"unknown export layout {value!r}; expected one of: tree, stream") from None


def _resolve_all(client: Client, names: Iterable[str], what: str) -> list[Resource]:
    if isinstance(names, str):
        raise InvalidInput(f"{what} must be a list of resource names, not a string")
    resources = [client.resource(name).resource for name in names]
    for r in resources:
        if what == "kinds" and not {"list", "create"} <= r.verbs:
            raise InvalidInput(f"{r.group_resource} cannot be exported: it supports {', '.join(sorted(r.verbs))}, "
                               "and an export needs list and create")
    return resources


def _chosen(pool: list[Resource], scope: _Scope, excluded: set[Resource]) -> list[Resource]:
    """The resources to list, in discovery order: the named ones, else every one not skipped by kind."""
    if scope.named:
        pool = [r for r in pool if r in scope.named] + [r for r in scope.named if r not in pool]
    chosen = []
    for r in pool:
        if r in excluded or (not scope.named and _kind_skipped(r, scope)):
            continue
        if not r.namespaced and not scope.all_namespaces and r not in scope.named:
            continue  # a namespace's export: its namespaced objects (and its Namespace, CRDs: below)
        chosen.append(r)
    return chosen


def _kind_skipped(resource: Resource, scope: _Scope) -> bool:
    if resource.group_resource == "secrets":
        return not scope.include_secrets
    return resource.group_resource in SKIPPED_KINDS


class _Owners:
    """The uids of objects exported or left out as owned (their dependents are left out too), and
    owned objects waiting for their owner's kind to be listed."""

    def __init__(self) -> None:
        self.covered: set[str] = set()
        self.waiting: list[tuple[Resource, dict[str, Any]]] = []


def _export_kinds(client: Client, chosen: list[Resource], scope: _Scope, writer: _Writer, result: ExportResult,
                  on_progress: Callable[[ExportProgress], None] | None) -> None:
    owners = _Owners()
    for done, resource in enumerate(chosen, 1):
        try:
            for obj in _list(client, resource, scope):
                _take(resource, obj, scope, owners, writer, result)
        except DynkubeError as exc:
            result.failures.append(ExportFailure(resource.group_resource, str(exc)))
            log.debug("export of %s failed: %s", resource.group_resource, exc)
        if on_progress:
            on_progress(ExportProgress(done, len(chosen), result.objects))
    _settle(owners, writer, result)


def _settle(owners: _Owners, writer: _Writer, result: ExportResult) -> None:
    """Decide the waiting owned objects: left out when an owner is covered, else (an owner that was
    not exported) written, owners before their dependents."""
    pending = owners.waiting
    while pending:
        covered = [w for w in pending if _owner_uids(w[1]) & owners.covered]
        if covered:
            for _, obj in covered:
                _count(result, "owned")
                owners.covered.add(_uid(obj))
            pending = [w for w in pending if not _owner_uids(w[1]) & owners.covered]
            continue
        waiting_uids = {_uid(obj) for _, obj in pending}
        roots = [w for w in pending if not _owner_uids(w[1]) & waiting_uids] or pending[:1]
        for resource, obj in roots:
            _write(resource, obj, writer, result, owners)
        pending = [w for w in pending if w not in roots]
    owners.waiting = []


def _list(client: Client, resource: Resource, scope: _Scope) -> Iterator[dict[str, Any]]:
    objects = client.resource(resource).list(scope.namespace if resource.namespaced else None,
                                             all_namespaces=scope.all_namespaces and resource.namespaced,
                                             label_selector=scope.label_selector)
    for obj in objects:
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        yield obj


def _take(resource: Resource, obj: dict[str, Any], scope: _Scope, owners: _Owners, writer: _Writer,
          result: ExportResult) -> None:
    reason = skip_reason(resource, obj, include_managed=scope.include_managed,
                         include_secrets=scope.include_secrets)
    if reason:
        _count(result, reason)
        return
    owner_uids = _owner_uids(obj)
    if owner_uids and not scope.include_owned:
        if owner_uids & owners.covered:
            _count(result, "owned")
            owners.covered.add(_uid(obj))
            return
        owners.waiting.append((resource, obj))  # its owner may be of a kind listed later
        return
    _write(resource, obj, writer, result, owners)


def skip_reason(resource: Resource, obj: Mapping[str, Any], *, include_managed: bool = False,
                include_secrets: bool = False) -> str | None:
    """Why an object is left out of an export by default ("managed", "token", "secret"), or None."""
    metadata = obj.get("metadata") or {}
    if resource.group_resource == "secrets":
        if not include_secrets:
            return "secret"  # only for a caller of skip_reason: export does not list secrets then
        if obj.get("type") == "kubernetes.io/service-account-token":
            return "token"  # the token controller fills it in for its ServiceAccount
    if include_managed:
        return None
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    if any(key in labels and value in (None, labels[key]) for key, value in MANAGED_LABELS.items()) \
            or any(annotations.get(key) == value for key, value in MANAGED_ANNOTATIONS.items()) \
            or (resource.group_resource, None, metadata.get("name")) in MANAGED_NAMES \
            or (resource.group_resource, metadata.get("namespace"), metadata.get("name")) in MANAGED_NAMES:
        return "managed"
    if resource.group_resource == "priorityclasses.scheduling.k8s.io" and \
            str(metadata.get("name", "")).startswith("system-"):
        return "managed"
    return None


def _owner_uids(obj: Mapping[str, Any]) -> set[str]:
    return {str(ref.get("uid")) for ref in (obj.get("metadata") or {}).get("ownerReferences") or []}


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid"))


def _count(result: ExportResult, reason: str) -> None:
    result.skipped[reason] = result.skipped.get(reason, 0) + 1


def _write(resource: Resource, obj: dict[str, Any], writer: _Writer, result: ExportResult, owners: _Owners) -> None:
    owners.covered.add(_uid(obj))
    writer.write(resource, clean(obj))
    result.objects += 1


def _export_namespace(client: Client, namespace: str, writer: _Writer, result: ExportResult) -> None:
    namespaces = client.resource("namespaces")
    try:
        writer.write(namespaces.resource, clean(namespaces.get(namespace)))
        result.objects += 1
    except DynkubeError as exc:
        result.failures.append(ExportFailure(f"namespaces/{namespace}", str(exc)))


def _export_crds(client: Client, writer: _Writer, result: ExportResult) -> None:
    """The CRDs of the custom kinds that had objects in the export (an aggregated API has none)."""
    crds = client.resource("customresourcedefinitions.apiextensions.k8s.io")
    for group, plural in sorted(writer.custom_kinds):
        try:
            writer.write(crds.resource, clean(crds.get(f"{plural}.{group}")))
            result.objects += 1
        except NotFound:
            continue
        except DynkubeError as exc:
            result.failures.append(ExportFailure(f"customresourcedefinitions/{plural}.{group}", str(exc)))


# ---- cleaning ----------------------------------------------------------------------------

def clean(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a live object without what the server set: what an apply may send again.

    Removes status, the server's metadata (uid, resourceVersion, generation, creationTimestamp,
    selfLink, managedFields, ownerReferences), last-applied and controller annotations, a Service's
    allocated clusterIP(s) and node ports, a PVC's volumeName and a Job's generated selector.
    """
    body = {k: _copy(v) for k, v in obj.items() if k != "status"}
    metadata = body.setdefault("metadata", {})
    for key in METADATA_DROPPED:
        metadata.pop(key, None)
    for key, dropped in (("annotations", ANNOTATIONS_DROPPED), ("labels", LABELS_DROPPED)):
        values = metadata.get(key)
        if isinstance(values, dict):
            for name in dropped:
                values.pop(name, None)
            if not values:
                del metadata[key]
    _clean_kind(body)
    return body


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _clean_kind(body: dict[str, Any]) -> None:
    kind, group = body.get("kind"), str(body.get("apiVersion", "")).rpartition("/")[0]
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return
    if (group, kind) == ("", "Service"):
        if spec.get("clusterIP") != "None":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        spec.pop("healthCheckNodePort", None)
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)
    elif (group, kind) == ("", "PersistentVolumeClaim"):
        spec.pop("volumeName", None)
    elif (group, kind) == ("", "PersistentVolume"):
        spec.pop("claimRef", None)
    elif (group, kind) == ("batch", "Job") and not spec.get("manualSelector"):
        spec.pop("selector", None)
        template = (spec.get("template") or {}).get("metadata") or {}
        for labels in (body["metadata"].get("labels"), template.get("labels")):
            if isinstance(labels, dict):
                for name in JOB_UID_LABELS:
                    labels.pop(name, None)


# ---- writing -----------------------------------------------------------------------------

class _Writer:
    """Writes cleaned objects: to files of a tree, or as documents of one stream."""

    def __init__(self, layout: Layout, root: Path | None, stream: IO[str] | None, include_secrets: bool) -> None:
        self.layout = layout
        self.root = root
        self.stream = stream
        self.include_secrets = include_secrets
        self.custom_kinds: set[tuple[str, str]] = set()
        self._first = True

    def write(self, resource: Resource, body: dict[str, Any]) -> None:
        if resource.group and resource.group not in BUILTIN_GROUPS:
            self.custom_kinds.add((resource.group, resource.plural))
        text = dump_yaml(body)
        if self.stream is not None:
            self.stream.write(text if self._first else "---\n" + text)
            self._first = False
            return
        assert self.root is not None
        path = self.root / tree_path(resource, body)
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = SECRET_MODE if resource.group_resource == "secrets" else 0o644
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from None


def tree_path(resource: Resource, body: Mapping[str, Any]) -> Path:
    """Where an object goes in a tree export: ``NAMESPACE/GROUP/KIND/NAME.yaml`` (``_cluster`` for
    cluster-scoped objects, ``core`` for the core group)."""
    metadata = body.get("metadata") or {}
    top = str(metadata.get("namespace")) if resource.namespaced and metadata.get("namespace") else CLUSTER_DIR
    return Path(top, resource.group or CORE_DIR, resource.kind, f"{metadata.get('name')}.yaml")


class _WriterContext:
    def __init__(self, output: str | Path | IO[str], layout: Layout, include_secrets: bool) -> None:
        self.output = output
        self.layout = layout
        self.include_secrets = include_secrets
        self._file: IO[str] | None = None

    def __enter__(self) -> _Writer:
        output = self.output
        if not isinstance(output, (str, Path)):
            if self.layout is Layout.TREE:
                raise InvalidInput("a tree export is written to a directory: give a path, or layout='stream'")
            return _Writer(self.layout, None, output, self.include_secrets)
        path = Path(output)
        if self.layout is Layout.STREAM:
            self._file = _open_stream(path, self.include_secrets)
            return _Writer(self.layout, None, self._file, self.include_secrets)
        _prepare_directory(path)
        return _Writer(self.layout, path, None, self.include_secrets)

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()


def _open_stream(path: Path, include_secrets: bool) -> IO[str]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_MODE if include_secrets else 0o644)
        if include_secrets:
            os.chmod(path, SECRET_MODE)  # an existing file keeps its mode on open
        return os.fdopen(fd, "w", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot write the export to {path}: {exc.strerror or exc}") from None


def _prepare_directory(path: Path) -> None:
    """An empty directory to export into (made if absent), or InvalidInput before any request."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if any(path.iterdir()):
            raise InvalidInput(f"cannot export into {path}: the directory is not empty")
        probe = path / ".dynkube-export-probe"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InvalidInput(f"cannot export into {path}: {exc.strerror or exc}") from None


# ---- import ------------------------------------------------------------------------------

def import_export(client: Client, source: str | Path, *, namespace: str | None = None, dry_run: bool = False,
                  field_manager: str = "dynkube", force: bool = False,
                  on_result: Callable[[ApplyResult, int, int], None] | None = None) -> list[ApplyResult]:
    """Apply an export (a tree directory or a stream file) with server-side apply; one result per object.

    With ``namespace``, every namespaced object goes into that namespace and the export's one
    Namespace object is renamed to it (an export of several namespaces cannot be moved into one:
    InvalidInput). Namespaces and CRDs are applied first; see ``dynkube.apply_manifests``.
    """
    if not isinstance(source, (str, Path)) or not Path(source).exists():
        raise InvalidInput(f"cannot import {source!r}: no such file or directory")
    documents = load_documents(Path(source))
    if namespace is not None:
        documents = _moved(documents, namespace)
    good = [doc for doc in documents if doc.error is None and doc.body is not None]
    failed = [ApplyResult(doc, "failed", error=doc.error) for doc in documents if doc.error is not None]

    def report(result: ApplyResult, done: int, total: int) -> None:
        if on_result:
            on_result(_traced(result, good), done + len(failed), total + len(failed))

    for i, result in enumerate(failed, 1):
        if on_result:
            on_result(result, i, len(documents))
    results = apply_manifests(client, [doc.body for doc in good if doc.body is not None], dry_run=dry_run,
                              field_manager=field_manager, force=force, on_result=report)
    return failed + [_traced(r, good) for r in results]


def _traced(result: ApplyResult, documents: list[Document]) -> ApplyResult:
    """The result with the document of the file it came from (not the list index it was applied as)."""
    return replace(result, document=replace(documents[result.document.index], error=result.document.error))


def _moved(documents: list[Document], namespace: str) -> list[Document]:
    """The documents with every namespaced object, and the one Namespace, moved to ``namespace``."""
    if not isinstance(namespace, str) or not namespace:
        raise InvalidInput(f"invalid namespace {namespace!r}: expected a non-empty string")
    sources = {str(doc.body["metadata"].get("namespace")) for doc in documents
               if doc.body is not None and doc.error is None and doc.body["metadata"].get("namespace")
               and doc.body.get("kind") != "Namespace"}
    sources |= {str(doc.body["metadata"]["name"]) for doc in documents
                if doc.body is not None and doc.error is None and doc.body.get("kind") == "Namespace"}
    if len(sources) > 1:
        raise InvalidInput(f"the export holds objects of {len(sources)} namespaces ({', '.join(sorted(sources))}): "
                           f"only an export of one namespace can be moved to {namespace!r}")
    moved = []
    for doc in documents:
        if doc.body is None or doc.error is not None:
            moved.append(doc)
            continue
        metadata = dict(doc.body["metadata"])
        if doc.body.get("kind") == "Namespace" and doc.body.get("apiVersion") == "v1":
            metadata["name"] = namespace
        elif metadata.get("namespace"):  # an export writes the namespace of every namespaced object
            metadata["namespace"] = namespace
        moved.append(replace(doc, body={**doc.body, "metadata": metadata}))
    return moved

