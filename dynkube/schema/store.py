"""The store: the ``/openapi/v3`` index fetched once, group-version documents fetched on demand and kept
in memory and on disk keyed by the hash the index gives; converted and compiled schemas reused."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlsplit

from cachetools import LRUCache

from .. import errors
from .._diskcache import DiskCache, default_cache_root, server_dir_name
from ..core import jsondecode
from ..core.http import Request, Response
from .convert import to_json_schema
from .explain import Explainer, Explanation, path_parts
from .models import gv_path, is_document, kind_models, model_in, schemas_of, split_api_version, suggest
from .validation import CompiledSchema, ValidationIssue

log = logging.getLogger(__name__)

INDEX_PATH = "/openapi/v3"
_INDEX_REFRESH_SECONDS = 1.0  # at most one index refetch per second when a group-version is missing
_DOCUMENTS_IN_MEMORY = 8  # parsed documents kept (the core one is ~2 MB of JSON); the disk cache backs them
_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
_HEX = re.compile(r"^[0-9A-Fa-f]{16,256}$")


class Transport(Protocol):
    """What SchemaStore needs from dynkube.transport.Transport."""

    def send(self, request: Request) -> Response: ...


def openapi_disk_cache(server: str, root: Path | None = None) -> DiskCache:
    """The disk cache for one server's OpenAPI documents: ``<root>/openapi/<host>/`` (no TTL: keyed by hash)."""
    root = root or default_cache_root()
    return DiskCache(root / "openapi" / server_dir_name(server), None, root=root, decode=jsondecode.loads)


class _Entry(NamedTuple):
    """One group-version of the index: its server-relative URL and the document hash in it."""

    url: str
    hash: str


class _State:
    """What a store has learned; guarded by the store's lock."""

    def __init__(self) -> None:
        self.index: dict[str, _Entry] | None = None
        self.fetched_at = 0.0
        # by document id ("<gv>@<hash>")
        self.documents: LRUCache[str, dict[str, Any]] = LRUCache(maxsize=_DOCUMENTS_IN_MEMORY)
        self.models: dict[str, dict[tuple[str, str, str], str]] = {}  # by document id
        self.compiled: dict[tuple[str, str], CompiledSchema] = {}  # by (document id, kind)


class SchemaStore:
    """OpenAPI v3 documents of one server, fetched lazily, with validation and explain on top.

    ``SchemaStore(transport, disk_cache=openapi_disk_cache(server))`` reads from a server;
    ``SchemaStore.from_documents({...})`` works on documents already in hand (no I/O at all).
    Thread-safe. Methods that may fetch are ``document``, ``validate``, ``validate_object``, ``explain``,
    ``json_schema`` and ``group_versions``.
    """

    def __init__(self, transport: Transport | None, *, disk_cache: DiskCache | None = None) -> None:
        self._transport = transport
        self._disk = disk_cache
        self._lock = threading.RLock()
        self._state = _State()
        self._local: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_documents(cls, documents: Mapping[str, Mapping[str, Any]]) -> SchemaStore:
        """A store over documents keyed ``"api/v1"``, ``"apis/apps/v1"``; it never fetches anything."""
        store = cls(None)
        for key, doc in documents.items():
            if not is_document(doc):
                raise errors.InvalidInput(f"document {key!r} has no components.schemas")
            store._local[key.strip("/")] = dict(doc)
        return store

    def invalidate(self) -> None:
        """Forget the index (so a new CRD's group-version is seen); documents stay cached by hash."""
        with self._lock:
            self._state.index = None
            self._state.fetched_at = 0.0

    def group_versions(self) -> list[str]:
        """Every group-version path the server publishes a document for (fetches the index once)."""
        if self._transport is None:
            return sorted(self._local)
        with self._lock:
            return sorted(k for k in self._index() if k.startswith(("api/", "apis/")))

    def document(self, group: str, version: str) -> dict[str, Any]:
        """The OpenAPI v3 document of a group-version; SchemaUnavailable if the server has none."""
        key = gv_path(group, version)
        with self._lock:
            return self._document(key)[1]

    def json_schema(self, group: str, version: str, kind: str) -> dict[str, Any]:
        """The self-contained JSON Schema used to validate a kind (see ``to_json_schema``)."""
        return self._compiled(group, version, kind).schema

    def validate(self, obj: Mapping[str, Any], group: str, version: str, kind: str, *,
                 strict: bool = False) -> list[ValidationIssue]:
        """Problems in ``obj`` against the kind's schema; ``[]`` when it is valid.

        Unknown fields are errors only with ``strict=True`` (as ``fieldValidation=Strict``); otherwise they
        are logged as warnings, since the server drops them. See docs/schema.md for what is not checked.
        When there are problems, the schema is checked for a newer version first (at most one index request
        a second), so a CRD changed since the schema was fetched is not held against the object.
        """
        if not isinstance(obj, Mapping):
            raise errors.InvalidInput(f"cannot validate a {type(obj).__name__}; expected a mapping")
        issues = self._compiled(group, version, kind).issues(obj, strict=strict)
        if issues and self._republished(gv_path(group, version)):
            issues = self._compiled(group, version, kind).issues(obj, strict=strict)
        return issues

    def validate_object(self, obj: Mapping[str, Any], *, strict: bool = False) -> list[ValidationIssue]:
        """``validate`` with the group, version and kind read from the object's ``apiVersion``/``kind``."""
        if not isinstance(obj, Mapping):
            raise errors.InvalidInput(f"cannot validate a {type(obj).__name__}; expected a mapping")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            raise errors.InvalidInput("the object needs apiVersion and kind to be validated")
        group, version = split_api_version(api_version)
        return self.validate(obj, group, version, kind, strict=strict)

    def explain(self, group: str, version: str, kind: str, field_path: Sequence[str] | str = (), *,
                recursive: bool = False) -> Explanation:
        """Describe a kind or a field path below it (``["spec", "replicas"]`` or ``"spec.replicas"``).

        Unknown fields raise ``FieldNotFound`` with close matches (after checking for a newer schema).
        """
        parts = path_parts(field_path)
        try:
            return self._explain(group, version, kind, parts, recursive)
        except errors.FieldNotFound:
            if not self._republished(gv_path(group, version)):
                raise
        return self._explain(group, version, kind, parts, recursive)

    # -- internals --

    def _explain(self, group: str, version: str, kind: str, parts: tuple[str, ...], recursive: bool) -> Explanation:
        with self._lock:
            _doc_id, doc, model = self._locate(group, version, kind)
        return Explainer(schemas_of(doc)).explain(group, version, kind, model, parts, recursive)

    def _compiled(self, group: str, version: str, kind: str) -> CompiledSchema:
        with self._lock:
            doc_id, doc, model = self._locate(group, version, kind)
            compiled = self._state.compiled.get((doc_id, kind))
            if compiled is None:
                compiled = CompiledSchema(to_json_schema(doc, model))
                self._state.compiled[(doc_id, kind)] = compiled
            return compiled

    def _locate(self, group: str, version: str, kind: str) -> tuple[str, dict[str, Any], str]:
        """(document id, document, model name) of a kind. A kind missing from a cached document refetches the
        index (at most once a second): a CRD added to a group-version changes that group-version's hash."""
        key = gv_path(group, version)
        doc_id, doc = self._document(key)
        models = self._models(doc_id, doc)
        if (group, version, kind) not in models and self._republished(key):
            doc_id, doc = self._document(key)
            models = self._models(doc_id, doc)
        return doc_id, doc, model_in(models, group, version, kind)

    def _republished(self, key: str) -> bool:
        """Refetch the index (unless fetched less than a second ago); True if ``key`` now has a new hash."""
        if self._transport is None:
            return False
        with self._lock:
            if self._state.index is None or time.monotonic() - self._state.fetched_at < _INDEX_REFRESH_SECONDS:
                return False
            before = self._state.index.get(key)
            after = self._index(refresh=True).get(key)
            return after is not None and after != before

    def _models(self, doc_id: str, doc: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
        models = self._state.models.get(doc_id)
        if models is None:
            models = self._state.models[doc_id] = kind_models(schemas_of(doc))
        return models

    def _forget_older(self, key: str, doc_id: str) -> None:
        """Drop what was built from an earlier document of the same group-version."""
        stale = key + "@"
        for old in [k for k in self._state.documents if k.startswith(stale) and k != doc_id]:
            del self._state.documents[old]
        self._state.models = {k: v for k, v in self._state.models.items() if not k.startswith(stale) or k == doc_id}
        self._state.compiled = {k: v for k, v in self._state.compiled.items()
                                if not k[0].startswith(stale) or k[0] == doc_id}

    def _document(self, key: str) -> tuple[str, dict[str, Any]]:
        """(identity, document) for a group-version path; identity changes when the document does."""
        if self._transport is None:
            if key not in self._local:
                raise self._unavailable(key, list(self._local))
            return f"local:{key}", self._local[key]
        entry = self._entry(key)
        doc_id = f"{key}@{entry.hash}"
        doc = self._state.documents.get(doc_id)
        if doc is None:
            doc = self._load(key, entry)
            self._state.documents[doc_id] = doc
            self._forget_older(key, doc_id)
        return doc_id, doc

    def _entry(self, key: str) -> _Entry:
        index = self._index()
        if key not in index and time.monotonic() - self._state.fetched_at >= _INDEX_REFRESH_SECONDS:
            index = self._index(refresh=True)
        if key not in index:
            raise self._unavailable(key, list(index))
        return index[key]

    @staticmethod
    def _unavailable(key: str, known: list[str]) -> errors.SchemaUnavailable:
        close = suggest(key, known)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return errors.SchemaUnavailable(f"the server publishes no OpenAPI v3 document for {key}{hint}")

    def _index(self, *, refresh: bool = False) -> dict[str, _Entry]:
        if self._state.index is not None and not refresh:
            return self._state.index
        try:
            response = self._get(INDEX_PATH)
        except errors.NotFound:
            raise errors.SchemaUnavailable(
                f"the server does not publish OpenAPI v3 (GET {INDEX_PATH} returned 404); it needs "
                "Kubernetes 1.24+ with the OpenAPIV3 feature on (GA and always on since 1.27)") from None
        self._state.index = parse_index(response.content)
        self._state.fetched_at = time.monotonic()
        return self._state.index

    def _get(self, path: str, params: dict[str, str] | None = None) -> Response:
        if self._transport is None:
            raise errors.SchemaUnavailable(f"this store holds given documents only; it cannot fetch {path}")
        return self._transport.send(Request("GET", path, params or {}, {"Accept": "application/json"}))

    def _load(self, key: str, entry: _Entry) -> dict[str, Any]:
        disk_key = _disk_key(key, entry.hash)
        if self._disk is not None and disk_key:
            cached = self._disk.read(disk_key)
            if is_document(cached):
                log.debug("OpenAPI v3 %s from the disk cache", key)
                return cached
            if cached is not None:
                log.warning("ignoring malformed cached OpenAPI document %s", disk_key)
        doc, redirected = self._fetch(key, entry)
        if self._disk is not None and disk_key and not redirected:
            self._disk.write(disk_key, doc)
            self._disk.prune(disk_key)  # documents of this group-version for older hashes
        return doc

    def _fetch(self, key: str, entry: _Entry) -> tuple[dict[str, Any], bool]:
        parts = urlsplit(entry.url)
        try:
            response = self._get(parts.path, dict(parse_qsl(parts.query)) or None)
        except errors.NotFound:
            raise errors.SchemaUnavailable(
                f"the OpenAPI v3 document for {key} is gone ({entry.url} returned 404); "
                "its group-version may have just been removed") from None
        doc = parse_document(response.content, entry.url)
        return doc, bool(response.history)


def parse_index(body: bytes) -> dict[str, _Entry]:
    """The ``/openapi/v3`` index as {group-version path: entry}; keys have no leading slash."""
    try:
        data = jsondecode.loads(body)
    except ValueError as exc:
        raise errors.SchemaUnavailable(f"the OpenAPI v3 index at {INDEX_PATH} is not JSON: {exc}") from None
    paths = data.get("paths") if isinstance(data, dict) else None
    if not isinstance(paths, dict):
        raise errors.SchemaUnavailable(f"the OpenAPI v3 index at {INDEX_PATH} has no 'paths' object")
    index: dict[str, _Entry] = {}
    for key, value in paths.items():
        url = value.get("serverRelativeURL") if isinstance(value, dict) else None
        if isinstance(url, str):
            index[key.strip("/")] = _Entry(url=url, hash=dict(parse_qsl(urlsplit(url).query)).get("hash", ""))
    return index


def parse_document(body: bytes, url: str) -> dict[str, Any]:
    """A group-version document from response bytes; SchemaUnavailable naming ``url`` if unusable."""
    try:
        doc = jsondecode.loads(body)
    except ValueError as exc:
        raise errors.SchemaUnavailable(f"the OpenAPI v3 document at {url} is not valid JSON: {exc}") from None
    if not is_document(doc):
        raise errors.SchemaUnavailable(f"the OpenAPI v3 document at {url} has no components.schemas")
    return doc


def _disk_key(key: str, hash_: str) -> str | None:
    """``apis/apps/v1/<HASH>.json``, or None when the path or hash is not safe as a file name."""
    segments = key.split("/")
    if not _HEX.match(hash_) or not all(_KEY_SEGMENT.match(s) and s not in (".", "..") for s in segments):
        return None
    return f"{key}/{hash_}.json"
