"""Manifests: multi-document YAML in, server-side apply per object, one result per document.

Documents are split on ``---`` lines before parsing, so one broken document fails alone. Namespaces
go first, then CustomResourceDefinitions (waited on until Established and served), then the rest in
file order. Each object gets a result: created, configured, unchanged or failed with its error.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DynkubeError, InvalidInput, ManifestError, NotFound
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_FIRST = {"Namespace": 0, "CustomResourceDefinition": 1}


@dataclass(frozen=True)
class Document:
    """One manifest document and where it came from (``index`` is 0-based within ``source``)."""

    source: str
    index: int
    body: dict[str, Any] | None
    error: ManifestError | None = None

    @property
    def where(self) -> str:
        return f"{self.source} document {self.index + 1}"


@dataclass(frozen=True)
class ApplyResult:
    """What happened to one document: ``action`` is created, configured, unchanged or failed."""

    document: Document
    action: str
    object: ApiObject | None = None
    error: DynkubeError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __str__(self) -> str:
        body = self.document.body or {}
        kind = str(body.get("kind") or "object").lower()
        name = (body.get("metadata") or {}).get("name") or "?"
        if self.error:
            return f"{self.document.where} ({kind}/{name}): failed: {self.error}"
        return f"{kind}/{name} {self.action}"


def load_documents(source: str | Path | Iterable[Mapping[str, Any]], *, recursive: bool = True) -> list[Document]:
    """Documents from YAML text, ``"-"`` (stdin), a file, a directory (``*.yaml``, ``*.yml``,
    ``*.json``; recursively unless ``recursive=False``) or an iterable of dicts."""
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        return _load_path(Path(source), recursive)
    if isinstance(source, str):
        return parse_documents(source, "<text>")
    if isinstance(source, Mapping):
        source = [source]
    elif not isinstance(source, Iterable) or isinstance(source, (bytes, bytearray)):
        raise InvalidInput(f"manifests must be YAML text, a path, a URL or an iterable of dicts, "
                           f"not {type(source).__name__}")
    return [_checked(Document("<objects>", i, dict(obj) if isinstance(obj, Mapping) else obj))
            for i, obj in enumerate(source)]


def _looks_like_path(text: str) -> bool:
    return text == "-" or ("\n" not in text and ":" not in text)


def _load_path(path: Path, recursive: bool) -> list[Document]:
    if str(path) == "-":
        return parse_documents(sys.stdin.read(), "<stdin>")
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        return [doc for f in files for doc in _load_path(f, recursive)]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}", source=str(path)) from None
    return parse_documents(text, str(path))


def parse_documents(text: str, source: str) -> list[Document]:
    """Split YAML text into documents and parse each alone; ``List`` kinds are expanded."""
    import yaml

    documents: list[Document] = []
    for index, chunk in enumerate(_SEPARATOR.split(text)):
        try:
            body = yaml.safe_load(chunk)
        except yaml.YAMLError as exc:
            documents.append(Document(source, index, None, ManifestError(
                f"{source} document {index + 1}: invalid YAML: {_yaml_problem(exc)}", source=source, index=index)))
            continue
        if body is None:
            continue
        if isinstance(body, dict) and body.get("kind", "").endswith("List") and isinstance(body.get("items"), list):
            documents.extend(_checked(Document(source, index, item)) for item in body["items"])
        else:
            documents.append(_checked(Document(source, index, body)))
    return documents


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else str(problem)


def _checked(doc: Document) -> Document:
    body = doc.body
    problem = None
    if not isinstance(body, dict):
        problem = f"expected a mapping, got {type(body).__name__}"
    elif not body.get("apiVersion") or not body.get("kind"):
        problem = "missing apiVersion or kind"
    elif not isinstance(body.get("metadata"), dict) or not body["metadata"].get("name"):
        problem = "missing metadata.name"
    if problem is None:
        return doc
    return Document(doc.source, doc.index, body if isinstance(body, dict) else None,
                    ManifestError(f"{doc.where}: {problem}", source=doc.source, index=doc.index))


def apply_manifests(client: Client, source: str | Path | Iterable[Mapping[str, Any]], *,
                    namespace: str | None = None, field_manager: str = "dynkube", force: bool = False,
                    dry_run: bool = False, field_validation: str | None = None, validate: bool = False,
                    recursive: bool = True, wait_timeout: float = 60.0,
                    on_result: Callable[[ApplyResult, int, int], None] | None = None) -> list[ApplyResult]:
    """Server-side apply every document; returns one ApplyResult per document, in apply order.

    Failures (bad YAML, unknown kind, server errors) are reported per document and do not stop
    the others. ``validate=True`` checks each object against the server's OpenAPI schema first.
    ``on_result(result, done, total)`` is called as each document is finished (for progress).
    """
    documents = sorted(load_documents(source, recursive=recursive), key=_apply_order)
    results: list[ApplyResult] = []
    options = dict(field_manager=field_manager, force=force, dry_run=dry_run, field_validation=field_validation)
    for doc in documents:
        result = ApplyResult(doc, "failed", error=doc.error) if doc.error else \
            _apply_one(client, doc, namespace, validate, options)
        if result.ok and doc.body and doc.body["kind"] == "CustomResourceDefinition" and not dry_run:
            _wait_for_crd(client, result.object, wait_timeout)
        results.append(result)
        if on_result:
            on_result(result, len(results), len(documents))
    return results


def _apply_order(doc: Document) -> int:
    kind = (doc.body or {}).get("kind") if isinstance(doc.body, dict) else None
    return _FIRST.get(str(kind), 2)


def _apply_one(client: Client, doc: Document, namespace: str | None, validate: bool,
               options: dict[str, Any]) -> ApplyResult:
    body = doc.body or {}
    try:
        resource = client.resource_for(body)
        if validate:
            issues = client.validate(body)
            if issues:
                raise ManifestError(f"{doc.where}: {len(issues)} schema error(s): "
                                    + "; ".join(str(i) for i in issues[:5]), source=doc.source, index=doc.index)
        ns = namespace if resource.namespaced else None
        before = _current(resource, body["metadata"]["name"], body["metadata"].get("namespace") or ns)
        applied = resource.apply(body, ns, **options)
    except DynkubeError as exc:
        return ApplyResult(doc, "failed", error=exc)
    if before is None:
        action = "created"
    elif _desired_state(before) == _desired_state(applied):
        action = "unchanged"
    else:
        action = "configured"
    return ApplyResult(doc, action, object=applied)


def _current(resource: Any, name: str, namespace: str | None) -> ApiObject | None:
    try:
        return resource.get(name, namespace)
    except NotFound:
        return None


_BOOKKEEPING = ("resourceVersion", "managedFields", "generation")


def _desired_state(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server bookkeeping: what an apply can change.

    Controllers write status (and so resourceVersion) at any time; comparing this instead of the
    resourceVersion keeps "unchanged" true when only they wrote in between."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _BOOKKEEPING}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}


def _wait_for_crd(client: Client, crd: ApiObject | None, timeout: float) -> None:
    """Wait until a CRD is Established and discovery serves its kind (bounded by ``timeout``)."""
    if crd is None:
        return
    from .helpers import wait_for

    crds = client.resource("customresourcedefinitions.apiextensions.k8s.io")
    wait_for(crds, crd["metadata"]["name"], condition="Established", timeout=timeout)
    spec = crd.get("spec") or {}
    served = [v["name"] for v in spec.get("versions") or [] if v.get("served")]
    if not served:
        return
    api_version = f"{spec['group']}/{served[0]}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.discovery.map.resolve(api_version, spec["names"]["kind"])
            return
        except DynkubeError:
            time.sleep(0.3)
            client.discovery.refresh()
    log.warning("CRD %s is Established but not yet in discovery after %.0fs", crd["metadata"]["name"], timeout)
