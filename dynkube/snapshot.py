"""Snapshots: what a cluster serves (discovery, OpenAPI v3 schemas, version), saved to one file and
served back offline.

``save_snapshot`` records the server's answers to the read requests that discovery and the schema
store make; ``open_snapshot`` returns a ``Client`` whose transport answers those requests from the
file, so resolution, ``api_resources``, ``explain`` and ``validate`` run the same code as against
the live server. No objects and no secrets are recorded; anything else (a list, a write) raises
``SnapshotError``. The file is gzip-compressed JSON, format ``dynkube.io/snapshot`` version 1.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .client import Client
from .config import Config
from .core.discovery import AGGREGATED_ACCEPT
from .core import jsondecode
from .core.http import Headers, Request, Response
from .discovery import Discovery
from .errors import DynkubeError, InvalidInput, NotFound
from .schema import INDEX_PATH, parse_index

log = logging.getLogger(__name__)

FORMAT = "dynkube.io/snapshot"
VERSION = 1
_DISCOVERY_PATHS = ("/api", "/apis")
DOCUMENT_WAIT = 5.0  # seconds a group-version document that does not answer is waited on (see _document)


class SnapshotError(DynkubeError):
    """A snapshot file cannot be read (missing, corrupt, another format version), or a request
    asked for something a snapshot does not hold (objects) or cannot do (writes)."""


def save_snapshot(client: Client, path: str | Path) -> dict[str, Any]:
    """Record what ``client``'s server serves into ``path``; returns a summary
    (``{"server", "version", "groupVersions", "schemas", "bytes"}``).

    Records the aggregated discovery documents of /api and /apis, the OpenAPI v3 index and every
    group-version document it lists, and /version. The file is written whole or not at all.
    """
    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"cannot save a snapshot to {target}: it is a directory")
    transport = client.transport
    answers: dict[str, dict[str, Any]] = {}
    for discovery_path in _DISCOVERY_PATHS:
        answers[discovery_path] = _record(transport.request("GET", discovery_path,
                                                            headers={"Accept": AGGREGATED_ACCEPT}))
    index = transport.request("GET", INDEX_PATH, headers={"Accept": "application/json"})
    answers[INDEX_PATH] = _record(index)
    for key, entry in parse_index(index.content).items():
        recorded = _document(client, key, entry.url)
        if recorded is not None:
            answers[urlsplit(entry.url).path] = recorded
    version = transport.request_json("GET", "/version")
    answers["/version"] = {"contentType": "application/json", "body": version}
    document = {"format": FORMAT, "version": VERSION, "server": client.config.server,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "answers": answers}
    size = _write(target, document)
    return {"server": client.config.server, "version": version.get("gitVersion"),
            "schemas": len(answers) - len(_DISCOVERY_PATHS) - 2, "bytes": size}


def _document(client: Client, key: str, url: str) -> dict[str, Any] | None:
    """The recorded answer for one group-version's document, or None when it was removed meanwhile.

    A group-version being removed (its CRD deleted) stays in the index for a moment while its
    document answers 404 or an empty body: the index is read again until it drops the entry or
    the document answers, for at most DOCUMENT_WAIT seconds.
    """
    deadline = time.monotonic() + DOCUMENT_WAIT
    while True:
        parts = urlsplit(url)
        try:
            return _record(client.transport.request("GET", parts.path, params=dict(parse_qsl(parts.query)) or None,
                                                    headers={"Accept": "application/json"}))
        except (NotFound, SnapshotError):
            if time.monotonic() > deadline:
                raise
        index = client.transport.request("GET", INDEX_PATH, headers={"Accept": "application/json"})
        entry = parse_index(index.content).get(key)
        if entry is None:
            log.info("OpenAPI v3 document of %s was removed while the snapshot was taken; not recorded", key)
            return None
        url = entry.url
        time.sleep(0.1)


def _record(response: Response) -> dict[str, Any]:
    try:
        body = jsondecode.loads(response.content)
    except ValueError:
        raise SnapshotError(f"the answer to GET {response.url} is not JSON; cannot record it") from None
    return {"contentType": response.headers.get("Content-Type", "application/json"), "body": body}


def _write(target: Path, document: dict[str, Any]) -> int:
    data = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidInput(f"cannot save a snapshot to {target}: {exc.strerror or exc}") from None
    return len(data)


def read_snapshot(path: str | Path) -> dict[str, Any]:
    """The snapshot document of ``path``, checked: SnapshotError for a missing, corrupt or truncated
    file, one that is not a snapshot, or one of another format version. Its ``digest`` (of the
    file's bytes) is added."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot {source}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()[:16]
    try:
        document = jsondecode.loads(gzip.decompress(raw))
    except (OSError, EOFError, zlib.error) as exc:
        raise SnapshotError(f"the snapshot {source} is corrupt or truncated ({exc})") from None
    except ValueError:
        raise SnapshotError(f"the snapshot {source} is corrupt: its content is not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"{source} is not a dynkube snapshot")
    if document.get("version") != VERSION:
        raise SnapshotError(f"the snapshot {source} has format version {document.get('version')!r}; this dynkube "
                            f"reads version {VERSION} (save the snapshot again with this version)")
    answers = document.get("answers")
    if not isinstance(answers, dict) or not all(p in answers for p in (*_DISCOVERY_PATHS, INDEX_PATH, "/version")):
        raise SnapshotError(f"the snapshot {source} is incomplete: it lacks discovery, schemas or the version")
    return {**document, "digest": digest}


class SnapshotTransport:
    """A read-only stand-in for ``dynkube.transport.Transport`` that answers the recorded GETs."""

    def __init__(self, source: Path, document: Mapping[str, Any]) -> None:
        self.source = source
        # the digest keeps the discovery memory cache of one file's contents from serving another's
        self.base_url = f"snapshot://{source.resolve()}@{document.get('digest', '')}"
        self.server = str(document.get("server", ""))
        self.timeout = None
        self._answers: Mapping[str, Mapping[str, Any]] = document["answers"]

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        """Nothing to close."""

    def send(self, request: Request, **kwargs: Any) -> Response:
        """The recorded answer to GET ``request.path`` (query and headers do not matter)."""
        method, path = request.method.upper(), request.path
        if method != "GET":
            raise SnapshotError(f"the snapshot {self.source} is read-only: cannot {method} {path}")
        answer = self._answers.get(path.split("?", 1)[0])
        if answer is None:
            raise SnapshotError(f"the snapshot {self.source} holds no objects (cannot GET {path}): it is a read-only "
                                "record of discovery, OpenAPI schemas and the server version")
        return Response(200, Headers({"Content-Type": str(answer.get("contentType"))}),
                        json.dumps(answer.get("body")).encode(), "OK", self.url(path))

    def stream(self, request: Request, **kwargs: Any) -> Any:
        """Watches need a server: SnapshotError."""
        raise SnapshotError(f"the snapshot {self.source} cannot watch (GET {request.path}): it holds no objects")

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        """``send`` of a GET ``path``."""
        return self.send(Request(method, path))

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = jsondecode.loads(self.request(method, path, **kwargs).content)
        if not isinstance(body, dict):
            raise SnapshotError(f"the snapshot {self.source} answer to GET {path} is not a JSON object")
        return body


def open_snapshot(path: str | Path, *, namespace: str = "default") -> Client:
    """A ``Client`` that serves discovery, schemas and the version from a snapshot file, offline.

    Resolution, ``api_resources``, ``api_map``, ``explain``, ``validate`` and ``version`` work as
    against the recorded server; reading objects or writing raises SnapshotError.
    """
    source = Path(path)
    document = read_snapshot(source)
    client = Client(Config(server=str(document.get("server") or "https://snapshot.invalid"), namespace=namespace,
                           source=f"snapshot {source}"), cache_dir=False, qps=None)
    client.transport.close()
    transport = SnapshotTransport(source, document)
    client.transport = transport  # type: ignore[assignment]
    client.discovery = Discovery(transport, cache_dir=False)
    return client
