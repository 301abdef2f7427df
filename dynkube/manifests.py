"""Manifests: multi-document YAML in, server-side apply per object, one result per document.

Documents come from text, files, directories, stdin or http(s) URLs, and are split on ``---`` lines
before parsing, so one broken document fails alone; values are typed as kubectl types them, alias
expansion is bounded. Namespaces go first, then CustomResourceDefinitions (applied several at a
time, waited on together until Established, then one discovery refresh), then the rest in file
order; files are parsed again stage by stage, so memory is bounded by the largest one. Each object
gets a result: created, configured, unchanged or failed with its error.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import logging
import itertools
import math
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import (ApplyIncomplete, DynkubeError, Gone, InvalidInput, ManifestError, NotFound, TransportError,
                     WaitTimeout)
from .objects import ApiObject, encode_json
from .transport import DEFAULT_TIMEOUT, Timeout, fetch_url, shown_url

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_URL = re.compile(r"https?://[^\s/]+\S*\Z", re.IGNORECASE)
_SEPARATOR = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)
_FIRST = {"Namespace": 0, "CustomResourceDefinition": 1}


class CrdWait(enum.StrEnum):
    """Which applied CRDs ``apply_manifests`` waits for until Established and served: ``ALL``, or only
    those whose kinds later documents of the same apply use (``USED``: kubectl waits for none)."""

    ALL = "all"
    USED = "used"


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
    shown, text = _url_text(url, timeout)
    return parse_documents(text, shown)


def _url_text(url: str, timeout: Timeout) -> tuple[str, str]:
    """(the URL as shown, its text) for ``load_url``."""
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
        return shown, fetched.content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"cannot read manifest {shown}: not UTF-8 text (byte {exc.start})", source=shown) from None


def _looks_like_path(text: str) -> bool:
    return text == "-" or ("\n" not in text and ":" not in text)


def _load_path(path: Path, recursive: bool) -> list[Document]:
    return [doc for name, read in _path_readers(path, recursive) for doc in parse_documents(read(), name)]


def _path_readers(path: Path, recursive: bool) -> list[tuple[str, Callable[[], str]]]:
    """(source name, a function reading its text) for ``-`` (stdin, read once), a file or the
    manifest files of a directory, in name order."""
    if str(path) == "-":
        text = sys.stdin.read()
        return [("<stdin>", lambda: text)]
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        files = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        return [(str(f), lambda f=f: _read_file(f)) for f in files]  # type: ignore[misc]
    return [(str(path), lambda: _read_file(path))]


def _read_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}", source=str(path)) from None


def parse_documents(text: str, source: str) -> list[Document]:
    """Split YAML text into documents and parse each alone; ``List`` kinds are expanded.

    Documents are numbered from 1 among those with content; lines are the file's. Values YAML types
    as dates, binaries or sets become what kubectl makes of them (see ``_Loader``).
    """
    documents: list[Document] = []
    index = 0
    for offset, chunk in _chunks(text):
        found = _chunk_documents(chunk, offset, source, index)
        if found is not None:
            documents.extend(found)
            index += 1
    return documents


def _chunk_documents(chunk: str, offset: int, source: str, index: int) -> list[Document] | None:
    """The documents of one chunk (several for a ``List``), numbered ``index``; None when it is empty."""
    line = _first_content_line(chunk, offset)
    body, problem = _parse_chunk(chunk, offset, line)
    if body is None and problem is None:
        return None
    doc = Document(source, index, None, line=line)
    if problem is not None:
        return [doc.failed(problem)]
    if isinstance(body, dict) and _is_list(body):
        return [_checked(replace(doc, body=item)) for item in body["items"]]
    return [_checked(replace(doc, body=body))]


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
        if _may_have_alias(chunk) and (problem := _alias_problem(node)):
            return None, f"invalid YAML: {problem} (line {line})"
        data = _construct(loader, node)
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


def _may_have_alias(chunk: str) -> bool:
    """Whether a ``*`` of the text may start an alias (where a node starts: first on its line, or after
    ``:``, ``?``, ``-``, ``[``, ``{`` or ``,``); documents without one skip the expansion check, so a
    ``*`` inside descriptions costs nothing."""
    at = chunk.find("*")
    while at != -1:
        before = chunk[chunk.rfind("\n", 0, at) + 1:at].rstrip(" \t")
        if (not before or before[-1] in ":?-[{,") and chunk[at + 1:at + 2] not in ("", " ", "\t", "\r", "\n"):
            return True
        at = chunk.find("*", at + 1)
    return False


_STR, _MAP, _SEQ, _MERGE = (f"tag:yaml.org,2002:{name}" for name in ("str", "map", "seq", "merge"))


def _construct(loader: Any, node: Any) -> Any:
    """The node's value as ``loader.construct_document`` makes it (aliases as copies), without
    PyYAML's generic machinery for the plain mappings, sequences and strings manifests are made of;
    any other node (numbers, merge keys, tags, unhashable keys) is the loader's to construct."""
    kind, tag = type(node), node.tag
    if tag == _STR and kind is _NODES[0]:
        return node.value
    if tag == _SEQ and kind is _NODES[1]:
        return [_construct(loader, child) for child in node.value]
    if tag == _MAP and kind is _NODES[2] and all(key.tag != _MERGE for key, _ in node.value):
        out = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            if isinstance(key, (dict, list)):
                break  # unhashable: the loader says so
            out[key] = _construct(loader, value_node)
        else:
            return out
    return loader.construct_object(node, deep=True)


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
_BASE_RESOLVE: Any = None  # the tag resolution of the loader's base class
_NODES: tuple[Any, ...] = ()  # PyYAML's ScalarNode, SequenceNode, MappingNode


def _loader_class() -> Any:
    """PyYAML's safe loader (libyaml's when available) typing values as kubectl does: unquoted dates
    stay strings as written, ``!!binary`` becomes its decoded text, ``!!set`` a mapping of nulls,
    ``!!omap``/``!!pairs`` lists of one-key mappings."""
    global _LOADER, _BASE_RESOLVE, _NODES
    if _LOADER is None:
        import yaml

        timestamp = "tag:yaml.org,2002:timestamp"
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _BASE_RESOLVE = base.resolve
        _NODES = (yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode)
        _LOADER = type("_Loader", (base,), {"yaml_implicit_resolvers": {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != timestamp]
            for first, resolvers in base.yaml_implicit_resolvers.items()}, "resolve": _cached_resolve})
        _LOADER.add_constructor(timestamp, yaml.SafeLoader.construct_yaml_str)
        _LOADER.add_constructor("tag:yaml.org,2002:binary", _binary_as_text)
        _LOADER.add_constructor("tag:yaml.org,2002:set", yaml.SafeLoader.construct_yaml_map)
        for tag in ("tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
            _LOADER.add_constructor(tag, yaml.SafeLoader.construct_yaml_seq)
    return _LOADER


_RESOLVED: dict[str, str] = {}  # the tag of short plain scalars ("string", "object", "true"...), by value
_RESOLVED_MAX = 50_000


def _cached_resolve(loader: Any, kind: Any, value: Any, implicit: tuple[bool, bool]) -> Any:
    """The loader's tag resolution, remembered for short plain scalars (it depends only on their text)."""
    if kind is not _NODES[0] or not implicit[0] or len(value) > 64:
        return _BASE_RESOLVE(loader, kind, value, implicit)
    tag = _RESOLVED.get(value)
    if tag is None:
        tag = _BASE_RESOLVE(loader, kind, value, implicit)
        if len(_RESOLVED) < _RESOLVED_MAX:
            _RESOLVED[value] = tag
    return tag


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
                    on_result: Callable[[ApplyResult, int, int], None] | None = None,
                    on_progress: Callable[[str, int, int], None] | None = None,
                    collect: bool = True, wait_for_crds: str | CrdWait = CrdWait.ALL) -> list[ApplyResult]:
    """Server-side apply every document; returns one ApplyResult per document, in apply order.

    Failures (bad YAML, unknown kind, server errors, a CRD not Established within ``wait_timeout``)
    are reported per document and do not stop the others. CRDs are sent ``CRD_WORKERS`` at a time
    and waited for together; ``wait_for_crds="used"`` waits only for those later documents use, and
    the wait gives up when no CRD became Established for ``wait_timeout`` seconds. ``validate=True``
    checks each object against the server's OpenAPI schema first. ``on_result(result, done, total)`` is called as each
    document is finished; ``on_progress(stage, done, total)`` while CRDs are sent (stage
    ``"applying"``) and waited for (``"waiting"``). Files are read again for each stage, so memory is
    bounded by the largest file; ``collect=False`` keeps no results (the list returned is empty; use
    ``on_result``) and reports CRDs with only their apiVersion, kind and name. Anything else that
    stops the loop (an exception from ``on_result``, a bug) raises ``ApplyIncomplete`` carrying the
    results so far, the cause chained.
    """
    try:
        waiting = CrdWait(wait_for_crds)
    except ValueError:
        raise InvalidInput(f"wait_for_crds must be one of {', '.join(m.value for m in CrdWait)}, "
                           f"not {wait_for_crds!r}") from None
    plan = _Plan.scan(source, recursive)
    results: list[ApplyResult] = []
    done = 0
    options = dict(field_manager=field_manager, force=force, dry_run=dry_run, field_validation=field_validation)
    current: Document | None = None
    try:
        for stage in range(3):
            finished: Iterable[ApplyResult]
            if stage == 1:
                needed = None if waiting is CrdWait.ALL or plan.used is None else plan.used
                wait = _CrdWait(client, wait_timeout, on_progress, slim=not collect, needed=needed)
                finished = wait.apply_all(plan.documents(1), plan.count(1), namespace, validate, options)
            else:
                finished = (ApplyResult(doc, "failed", error=doc.error) if doc.error else
                            _apply_body(client, doc, namespace, validate, options)
                            for doc in plan.documents(stage))
            for result in finished:
                current = result.document
                done += 1
                if collect:
                    results.append(result)
                if on_result:
                    on_result(result, done, plan.total)
    except Exception as exc:
        where = f" at {current.where}" if current else ""
        raise ApplyIncomplete(f"apply stopped{where} after {done} of {plan.total} document(s): "
                              f"{type(exc).__name__}: {exc}", results=results,
                              remaining=plan.remaining(done)) from exc
    return results


CRD_WORKERS = 8  # CRDs sent at a time; the client's rate limit still applies to every request
_TOP_KIND = re.compile(r"^kind:[ \t]*(['\"]?)([A-Za-z][A-Za-z0-9]*)\1[ \t]*(?:#.*)?$", re.MULTILINE)
_TOP_API_VERSION = re.compile(r"^apiVersion:[ \t]*(['\"]?)([A-Za-z0-9./-]+)\1[ \t]*(?:#.*)?$", re.MULTILINE)


def _kind_hint(chunk: str) -> str | None:
    """The kind of a block-style document, from its one top-level ``kind:`` line, without parsing it;
    None when that is not certain (flow style, JSON, no or several such lines)."""
    return _top_value(_TOP_KIND, chunk)


def _top_value(line: re.Pattern[str], chunk: str) -> str | None:
    """The value of the one top-level line of a key (``line``), or None when there is not exactly one."""
    found = list(line.finditer(chunk))
    key = line.pattern[1:line.pattern.index(":")]
    if len(found) != 1 or chunk.count("\n" + key) + chunk.startswith(key) != 1:
        return None
    return found[0].group(2)


@dataclass(frozen=True)
class _Entry:
    """A document in apply ``stage``: kept (``document``), or to parse again from chunk ``chunk`` of
    text ``text`` (item ``item`` of a List)."""

    stage: int
    document: Document | None = None
    text: int = 0
    chunk: int = 0
    index: int = 0
    item: int | None = None


class _Plan:
    """The documents of a source in apply order without their bodies: Namespaces, failed documents
    and objects given as dicts are kept; the others are parsed again from their text when applied."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.texts: list[tuple[str, Callable[[], str]]] = []  # (source name, how to read it again)
        self.used: set[tuple[str, str]] | None = set()  # (group, kind) of the later documents; None: unknown

    @property
    def total(self) -> int:
        return len(self.entries)

    def count(self, stage: int) -> int:
        return sum(1 for entry in self.entries if entry.stage == stage)

    @classmethod
    def scan(cls, source: str | Path | Iterable[Mapping[str, Any]], recursive: bool) -> _Plan:
        """The plan of ``source`` (what ``load_documents`` takes): every text is read and split now,
        and parsed only where a document's kind is not plain from its text."""
        plan = cls()
        if isinstance(source, str) and is_manifest_url(source):
            shown, text = _url_text(source, DEFAULT_TIMEOUT)
            plan.add_text(shown, lambda: text, text)
        elif isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
            for name, read in _path_readers(Path(source), recursive):
                plan.add_text(name, read, read())
        elif isinstance(source, str):
            plan.add_text("<text>", lambda: source, source)
        else:
            for doc in load_documents(source):
                plan.entries.append(_Entry(_apply_order(doc), doc))
                plan.note_use(doc.body)
        plan.entries.sort(key=lambda e: e.stage)
        return plan

    def add_text(self, name: str, read: Callable[[], str], text: str) -> None:
        number = len(self.texts)
        self.texts.append((name, read))
        index = 0
        for chunk_number, (offset, chunk) in enumerate(_chunks(text)):
            hint = _kind_hint(chunk)
            if hint is not None and hint != "Namespace" and not hint.endswith("List"):
                self.entries.append(_Entry(_FIRST.get(hint, 2), None, number, chunk_number, index))
                if hint != "CustomResourceDefinition":
                    self.note_use({"apiVersion": _top_value(_TOP_API_VERSION, chunk), "kind": hint})
                index += 1
                continue
            documents = _chunk_documents(chunk, offset, name, index)
            if documents is None:
                continue
            for item, doc in enumerate(documents):
                stage = _apply_order(doc)
                kept = doc if doc.error is not None or stage == 0 else None
                if stage == 2:
                    self.note_use(doc.body)
                self.entries.append(_Entry(stage, kept, number, chunk_number, index,
                                           item if len(documents) > 1 else None))
            index += 1

    def note_use(self, body: Mapping[str, Any] | None) -> None:
        """Remember the group and kind of a document applied after the CRDs."""
        if self.used is None or not isinstance(body, Mapping):
            return
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            self.used = None  # its kind may be a CRD's: wait for all
            return
        self.used.add((api_version.rpartition("/")[0], kind))

    def documents(self, stage: int) -> Iterator[Document]:
        """The documents of a stage in order, parsed again from their text (one text held at a time)."""
        cached: tuple[int, list[tuple[int, str]]] | None = None
        for entry in self.entries:
            if entry.stage != stage:
                continue
            if entry.document is not None:
                yield entry.document
                continue
            if cached is None or cached[0] != entry.text:
                cached = None  # let the previous text go before reading the next
                cached = (entry.text, list(_chunks(self.texts[entry.text][1]())))
            offset, chunk = cached[1][entry.chunk]
            documents = _chunk_documents(chunk, offset, self.texts[entry.text][0], entry.index) or []
            item = entry.item or 0
            if item < len(documents):
                yield documents[item]

    def remaining(self, done: int) -> list[Document]:
        """The documents after the first ``done``, in apply order (parsed again)."""
        return [doc for stage in range(3) for doc in self.documents(stage)][done:]


def _apply_order(doc: Document) -> int:
    kind = (doc.body or {}).get("kind") if isinstance(doc.body, dict) else None
    return _FIRST.get(str(kind), 2)


class _CrdWait:
    """The CRD stage: CRDs applied ``CRD_WORKERS`` at a time (the client's rate limit applies to each
    request), all waited for together until Established (one list, then one watch from it), then
    discovery refreshed once (again, at most once a second, only while a kind is not yet served)."""

    def __init__(self, client: Client, timeout: float, on_progress: Callable[[str, int, int], None] | None,
                 slim: bool, needed: set[tuple[str, str]] | None) -> None:
        self.client = client
        self.needed = needed  # (group, kind) to wait for; None: every CRD
        self.timeout = timeout
        self.on_progress = on_progress
        self.slim = slim
        self.crds = client.resource("customresourcedefinitions.apiextensions.k8s.io")
        self.pending: set[str] = set()
        self.kinds: list[tuple[str, str]] = []  # (apiVersion, kind) that discovery must serve
        self.deadline = 0.0  # when the wait gives up: ``timeout`` after the last CRD became Established

    def apply_all(self, documents: Iterator[Document], count: int, namespace: str | None, validate: bool,
                  options: dict[str, Any]) -> Iterator[ApplyResult]:
        """The results of the CRD documents, in their order, once all are Established."""
        first = next(documents, None)
        if first is None:
            return
        states = _crd_states(self.crds)
        results: list[ApplyResult] = []

        def apply(doc: Document) -> ApplyResult:
            if doc.error:
                return ApplyResult(doc, "failed", error=doc.error)
            return _apply_body(self.client, doc, namespace, validate, options, states)

        with ThreadPoolExecutor(CRD_WORKERS, thread_name_prefix="dynkube-apply") as pool:
            window: deque[Future[ApplyResult]] = deque()
            for doc in itertools.chain([first], documents):
                window.append(pool.submit(apply, doc))
                if len(window) >= 2 * CRD_WORKERS:  # parse ahead only as far as the workers need
                    results.append(self._sent(window.popleft().result(), len(results) + 1, count))
            while window:
                results.append(self._sent(window.popleft().result(), len(results) + 1, count))
        if not options["dry_run"]:
            timeouts = self._wait_established(len(results))
            results = [replace(r, error=timeouts[r.object["metadata"]["name"]])
                       if r.object is not None and r.object["metadata"]["name"] in timeouts else r for r in results]
            self._wait_served()
        yield from results

    def _sent(self, result: ApplyResult, done: int, count: int) -> ApplyResult:
        """Note what is still to wait for from an answer; the result as kept until the wait is over."""
        if self.on_progress:
            self.on_progress("applying", done, count)
        applied = result.object
        spec: Mapping[str, Any] = (applied.get("spec") if applied is not None else None) or {}
        if applied is None or self.needed is not None and \
                (spec.get("group"), (spec.get("names") or {}).get("kind")) not in self.needed:
            return _slim(result) if self.slim else result
        if not _is_established(applied):
            self.pending.add(applied["metadata"]["name"])
        served = [v.get("name") for v in spec.get("versions") or [] if v.get("served")]
        if served and spec.get("group") and (spec.get("names") or {}).get("kind"):
            self.kinds.append((f"{spec['group']}/{served[0]}", spec["names"]["kind"]))
        return _slim(result) if self.slim else result

    def _wait_established(self, count: int) -> dict[str, WaitTimeout]:
        """Wait for every pending CRD at once, until none became Established for ``timeout`` seconds;
        a WaitTimeout for each one still not Established."""
        self.deadline = time.monotonic() + self.timeout
        version = ""
        while self.pending and time.monotonic() < self.deadline:
            if not version:
                version = self._list_established()
            else:
                version = self._watch_established(version)
            if self.on_progress:
                self.on_progress("waiting", count - len(self.pending), count)
        return {name: WaitTimeout(f"timed out waiting for customresourcedefinitions/{name} to satisfy "
                                  f"'Established' (none of the CRDs became Established in the last "
                                  f"{self.timeout:.0f}s)") for name in self.pending}

    def _established(self, name: str) -> None:
        if name in self.pending:
            self.pending.discard(name)
            self.deadline = time.monotonic() + self.timeout

    def _list_established(self) -> str:
        """One paged list of CRDs: drop the Established ones from pending; the list's resourceVersion."""
        token = None
        while True:
            page = self.crds.list_page(limit=_CRD_PAGE, continue_token=token)
            for crd in page:
                if _is_established(crd):
                    self._established(crd["metadata"]["name"])
            token = page.continue_token or None
            if token is None:
                return page.resource_version

    def _watch_established(self, version: str) -> str:
        """Watch CRDs from ``version`` until none is pending or the deadline; the last version seen
        ("" after 410 Gone: list again)."""
        seconds = max(1, math.ceil(self.deadline - time.monotonic()))
        try:
            with self.crds.watch(resource_version=version, timeout_seconds=seconds) as events:
                for event in events:
                    version = event.resource_version or version
                    name = (event.object.get("metadata") or {}).get("name")
                    if name in self.pending and _is_established(event.object):
                        self._established(name)
                    if not self.pending or time.monotonic() >= self.deadline:
                        break
        except Gone:
            return ""
        return version

    def _wait_served(self) -> None:
        """Refresh discovery once if it lacks a kind of the CRDs; again while one is still missing."""
        if not self.kinds:
            return

        def all_served(resource_map: Any) -> bool:
            for api_version, kind in self.kinds:
                resource_map.resolve(api_version, kind)
            return True

        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.client.discovery.with_refresh_on_miss(all_served)
                return
            except DynkubeError:
                if time.monotonic() >= deadline:
                    log.warning("CRDs are Established but not all in discovery after %.0fs", self.timeout)
                    return


_CRD_PAGE = 100  # CRDs a page when listing them: a few MB of schemas at most
_CRD_TABLE_PAGE = 500  # CRDs' metadata a page


def _crd_states(crds: Any) -> dict[str, Any]:
    """What an apply can change of each CRD on the server (``_crd_state``), by name: one paged list
    of their metadata (a Table's rows carry it) instead of a GET per CRD."""
    states: dict[str, Any] = {}
    token = None
    while True:
        page = crds.list_page(limit=_CRD_TABLE_PAGE, continue_token=token, as_table=True)
        if page.kind != "Table":  # a server that prints no tables: the whole objects
            return {crd["metadata"]["name"]: _crd_state(crd["metadata"]) for crd in crds.list(limit=_CRD_PAGE)}
        for obj in (row.get("object") for row in page.rows):
            metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
            if isinstance(metadata, Mapping) and metadata.get("name"):
                states[metadata["name"]] = _crd_state(metadata)
        token = page.continue_token or None
        if token is None:
            return states


def _crd_state(metadata: Mapping[str, Any]) -> tuple[Any, str]:
    """A CRD's generation (which any change of its spec raises) and its metadata without bookkeeping."""
    rest = {k: v for k, v in metadata.items() if k not in _BOOKKEEPING}
    return metadata.get("generation"), json.dumps(rest, sort_keys=True)


def _is_established(crd: Mapping[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
               for c in conditions)


def _slim(result: ApplyResult) -> ApplyResult:
    """The result with only apiVersion, kind and name of its document and object (memory stays small)."""
    def slim(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not isinstance(body, Mapping):
            return None
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        return {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"), "metadata": {"name": name}}
    obj = slim(result.object)
    return replace(result, document=replace(result.document, body=slim(result.document.body)),
                   object=None if obj is None else ApiObject(obj))


def _apply_body(client: Client, doc: Document, namespace: str | None, validate: bool,
                options: dict[str, Any], states: Mapping[str, Any] | None = None) -> ApplyResult:
    """Apply one document; created, configured or unchanged from a GET before, or from ``states``
    (``_crd_state`` by name, for CRDs)."""
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
        name = body["metadata"]["name"]
        if states is None:
            before = _current(resource, name, body["metadata"].get("namespace") or ns)
            state = None if before is None else _desired_state(before)
        else:
            state = states.get(name)
        applied = resource.apply(body, ns, **options)
    except DynkubeError as exc:
        return ApplyResult(doc, "failed", error=exc)
    if state is None:
        action = "created"
    elif state == (_desired_state(applied) if states is None else _crd_state(applied.get("metadata") or {})):
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
