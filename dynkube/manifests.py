"""Manifests: multi-document YAML in, server-side apply per object, one result per document.

Documents come from text, files, directories, stdin or http(s) URLs, and are split on ``---`` lines
before parsing, so one broken document fails alone; values are typed as kubectl types them, alias
expansion is bounded. Namespaces go first, then CustomResourceDefinitions (waited on until
Established and served), then the rest in file order. Each object gets a result: created,
configured, unchanged or failed with its error.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ApplyIncomplete, DynkubeError, InvalidInput, ManifestError, NotFound, TransportError
from .objects import ApiObject, encode_json
from .transport import DEFAULT_TIMEOUT, Timeout, fetch_url, shown_url

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_URL = re.compile(r"https?://[^\s/]+\S*\Z", re.IGNORECASE)
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_FIRST = {"Namespace": 0, "CustomResourceDefinition": 1}


@dataclass(frozen=True)
class Document:
    """One manifest document and where it came from: ``index`` is 0-based among the documents of
    ``source`` that have content, ``line`` the 1-based line of the source where its content starts."""

    source: str
    index: int
    body: dict[str, Any] | None
    error: ManifestError | None = None
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.source} document {self.index + 1}"

    def failed(self, problem: str) -> Document:
        """This document, failed for ``problem``."""
        return replace(self, error=ManifestError(f"{self.where}: {problem}", source=self.source, index=self.index))


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
    ``*.json``; recursively unless ``recursive=False``), an http(s) URL (``load_url``) or an
    iterable of dicts."""
    if isinstance(source, str) and is_manifest_url(source):
        return load_url(source)
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


def is_manifest_url(source: str) -> bool:
    """True when ``source`` is an http:// or https:// URL (what ``-f`` fetches instead of reading)."""
    return _URL.match(source) is not None


def load_url(url: str, *, timeout: Timeout = DEFAULT_TIMEOUT) -> list[Document]:
    """Documents from an http(s) URL, fetched as kubectl fetches ``-f URL``: a plain GET without
    cluster credentials, redirects followed; an answer other than 200 is a ManifestError. The
    documents' ``source`` is the URL without credentials or query."""
    shown = shown_url(url)
    try:
        fetched = fetch_url(url, timeout=timeout)
    except TransportError as exc:
        raise ManifestError(f"cannot read manifest {shown}: {str(exc).removeprefix(f'GET {shown}: ')}",
                            source=shown) from None
    if fetched.status != 200:
        raise ManifestError(f"cannot read manifest {shown}: the server answered {fetched.status} {fetched.reason}"
                            .rstrip(), source=shown)
    try:
        text = fetched.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"cannot read manifest {shown}: not UTF-8 text (byte {exc.start})", source=shown) from None
    return parse_documents(text, shown)


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
    """Split YAML text into documents and parse each alone; ``List`` kinds are expanded.

    Documents are numbered from 1 among those with content; lines are the file's. Values YAML types
    as dates, binaries or sets become what kubectl makes of them (see ``_Loader``).
    """
    documents: list[Document] = []
    index = -1
    for offset, chunk in _chunks(text):
        line = _first_content_line(chunk, offset)
        body, problem = _parse_chunk(chunk, offset, line)
        if body is None and problem is None:
            continue
        index += 1
        doc = Document(source, index, None, line=line)
        if problem is not None:
            documents.append(doc.failed(problem))
        elif isinstance(body, dict) and _is_list(body):
            documents.extend(_checked(replace(doc, body=item)) for item in body["items"])
        else:
            documents.append(_checked(replace(doc, body=body)))
    return documents


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(0-based line of the chunk's first character, chunk) for the text between ``---`` lines."""
    start = line = 0
    for separator in _SEPARATOR.finditer(text):
        yield line, text[start:separator.start()]
        line += text.count("\n", start, separator.end())
        start = separator.end()
    yield line, text[start:]


def _first_content_line(chunk: str, offset: int) -> int:
    for number, text in enumerate(chunk.splitlines()):
        if text.strip() and not text.lstrip().startswith("#"):
            return offset + number + 1
    return offset + 1


def _is_list(body: dict[str, Any]) -> bool:
    return isinstance(body.get("kind"), str) and body["kind"].endswith("List") and isinstance(body.get("items"), list)


MAX_ALIAS_EXPANSION = 3 * 1024 * 1024  # characters aliases may add to a document: the API server's request limit


def _parse_chunk(chunk: str, offset: int, line: int) -> tuple[Any, str | None]:
    """(the document as JSON values, None) or (None, why not, with a line of the source); (None,
    None) for an empty one. ``offset`` is the line of the chunk, ``line`` of its content."""
    import yaml

    loader = _loader_class()(chunk)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if "*" in chunk and (problem := _alias_problem(node)):
            return None, f"invalid YAML: {problem} (line {line})"
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        return None, f"invalid YAML: {_yaml_problem(exc, offset)}"
    except RecursionError:
        return None, f"invalid YAML: nested too deeply (line {line})"
    finally:
        loader.dispose()
    try:  # as JSON: keys become strings, aliases independent copies, NaN or a cycle an error
        return json.loads(encode_json(data, "the document")), None
    except InvalidInput as exc:
        return None, f"{exc} (line {line})"
    except RecursionError:
        return None, f"the document is nested too deeply (line {line})"


def _alias_problem(root: Any) -> str | None:
    """Why the aliases of a composed document cannot be expanded: a node that contains itself, or
    expansion past MAX_ALIAS_EXPANSION (a "billion laughs" bomb).
    Sizes are counted once per node (kubectl refuses such documents as "excessive aliasing")."""
    sizes: dict[int, int] = {}
    distinct = 0
    entered: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        children = _children(node)
        if leaving:
            entered.discard(key)
            sizes[key] = 2 + sum([sizes[id(child)] for child in children or ()], 0)
            continue
        if key in sizes:
            continue
        if key in entered:
            return "an alias refers to a node that contains it"
        if children is None:
            sizes[key] = len(node.value) + 2
            distinct += sizes[key]
            continue
        entered.add(key)
        distinct += 2
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    added = sizes[id(root)] - distinct
    if added > MAX_ALIAS_EXPANSION:
        return (f"excessive aliasing: aliases would add {added:,} characters to the document "
                f"(at most {MAX_ALIAS_EXPANSION:,})")
    return None


def _children(node: Any) -> list[Any] | None:
    """A node's children (keys and values of a mapping), or None for a scalar."""
    if isinstance(node.value, str):
        return None
    if node.id == "mapping":
        return [part for pair in node.value for part in pair]
    return list(node.value)


_LOADER: Any = None


def _loader_class() -> Any:
    """PyYAML's safe loader (libyaml's when available) typing values as kubectl does: unquoted dates
    stay strings as written, ``!!binary`` becomes its decoded text, ``!!set`` a mapping of nulls,
    ``!!omap``/``!!pairs`` lists of one-key mappings."""
    global _LOADER
    if _LOADER is None:
        import yaml

        timestamp = "tag:yaml.org,2002:timestamp"
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _LOADER = type("_Loader", (base,), {"yaml_implicit_resolvers": {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != timestamp]
            for first, resolvers in base.yaml_implicit_resolvers.items()}})
        _LOADER.add_constructor(timestamp, yaml.SafeLoader.construct_yaml_str)
        _LOADER.add_constructor("tag:yaml.org,2002:binary", _binary_as_text)
        _LOADER.add_constructor("tag:yaml.org,2002:set", yaml.SafeLoader.construct_yaml_map)
        for tag in ("tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
            _LOADER.add_constructor(tag, yaml.SafeLoader.construct_yaml_seq)
    return _LOADER


def _binary_as_text(loader: Any, node: Any) -> str:
    import yaml

    value = loader.construct_scalar(node)
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise yaml.constructor.ConstructorError(None, None, "!!binary value contains invalid base64 data",
                                                node.start_mark) from None
    return data.decode("utf-8", "replace")


def _yaml_problem(exc: Exception, offset: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {offset + mark.line + 1}, column {mark.column + 1})" if mark else str(problem)


def _checked(doc: Document) -> Document:
    """The document, or it with an error saying which of apiVersion, kind, metadata is unusable."""
    body = doc.body
    problem = _object_problem(body)
    if problem is None:
        return doc
    printable = isinstance(body, dict) and isinstance(body.get("metadata") or {}, dict)
    where = f" (line {doc.line})" if doc.line else ""
    return replace(doc, body=body if printable else None).failed(problem + where)


def _object_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"expected a mapping, got {type(body).__name__}"
    if not body.get("apiVersion") or not body.get("kind"):
        return "missing apiVersion or kind"
    for key in ("apiVersion", "kind"):
        if not isinstance(body[key], str):
            return f"{key} must be a string, not {type(body[key]).__name__} {body[key]!r}"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return f"metadata must be a mapping, not {type(metadata).__name__}"
    if not metadata or not metadata.get("name"):
        return "missing metadata.name"
    for key in ("name", "namespace"):
        if key in metadata and not isinstance(metadata[key], str):
            return f"metadata.{key} must be a string, not {type(metadata[key]).__name__} {metadata[key]!r}"
    return None


def apply_manifests(client: Client, source: str | Path | Iterable[Mapping[str, Any]], *,
                    namespace: str | None = None, field_manager: str = "dynkube", force: bool = False,
                    dry_run: bool = False, field_validation: str | None = None, validate: bool = False,
                    recursive: bool = True, wait_timeout: float = 60.0,
                    on_result: Callable[[ApplyResult, int, int], None] | None = None) -> list[ApplyResult]:
    """Server-side apply every document; returns one ApplyResult per document, in apply order.

    Failures (bad YAML, unknown kind, server errors, a CRD not Established within ``wait_timeout``)
    are reported per document and do not stop the others. ``validate=True`` checks each object
    against the server's OpenAPI schema first. ``on_result(result, done, total)`` is called as each
    document is finished (for progress). Anything else that stops the loop (an exception from
    ``on_result``, a bug) raises ``ApplyIncomplete`` carrying the results so far, the cause chained.
    """
    documents = sorted(load_documents(source, recursive=recursive), key=_apply_order)
    results: list[ApplyResult] = []
    options = dict(field_manager=field_manager, force=force, dry_run=dry_run, field_validation=field_validation)
    for doc in documents:
        try:
            results.append(ApplyResult(doc, "failed", error=doc.error) if doc.error else
                           _apply_one(client, doc, namespace, validate, options, wait_timeout))
            if on_result:
                on_result(results[-1], len(results), len(documents))
        except Exception as exc:
            raise ApplyIncomplete(f"apply stopped at {doc.where} after {len(results)} of {len(documents)} "
                                  f"document(s): {type(exc).__name__}: {exc}", results=results,
                                  remaining=documents[len(results):]) from exc
    return results


def _apply_order(doc: Document) -> int:
    kind = (doc.body or {}).get("kind") if isinstance(doc.body, dict) else None
    return _FIRST.get(str(kind), 2)


def _apply_one(client: Client, doc: Document, namespace: str | None, validate: bool,
               options: dict[str, Any], wait_timeout: float) -> ApplyResult:
    result = _apply_body(client, doc, namespace, validate, options)
    if result.ok and result.document.body and result.document.body["kind"] == "CustomResourceDefinition" \
            and not options["dry_run"]:
        try:
            _wait_for_crd(client, result.object, wait_timeout)
        except DynkubeError as exc:
            return replace(result, error=exc)
    return result


def _apply_body(client: Client, doc: Document, namespace: str | None, validate: bool,
                options: dict[str, Any]) -> ApplyResult:
    body = doc.body or {}
    try:
        resource = client.resource_for(body)
        if not resource.namespaced and "namespace" in body["metadata"]:  # kubectl ignores it (Helm writes it)
            body = {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "namespace"}}
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
        found: ApiObject = resource.get(name, namespace)
        return found
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
