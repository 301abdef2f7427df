"""Shared helpers for the schema tests: upstream's recorded OpenAPI v3 documents and CRDs, loaded once.

The data lives in ``fixtures/upstream/`` (copied, with its provenance in its README): real
kube-apiserver 1.35 documents and two real third-party CRDs, never edited.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from dynkube import errors
from dynkube.core.http import Request, Response
from dynkube.schema import SchemaStore, crd_documents

UPSTREAM = Path(__file__).resolve().parents[2] / "fixtures" / "upstream"
OPENAPI = UPSTREAM / "openapi-v3"
CRDS = UPSTREAM / "crds"

DOCUMENT_FILES = {
    "api/v1": "api__v1_openapi.json",
    "apis/apps/v1": "apis__apps__v1_openapi.json",
    "apis/batch/v1": "apis__batch__v1_openapi.json",
    "apis/apiextensions.k8s.io/v1": "apis__apiextensions.k8s.io__v1_openapi.json",
}


@functools.cache
def document_bytes(gv: str) -> bytes:
    return (OPENAPI / DOCUMENT_FILES[gv]).read_bytes()


@functools.cache
def _document(gv: str) -> dict[str, Any]:
    return json.loads(document_bytes(gv))


def document(gv: str) -> dict[str, Any]:
    """A private copy of a recorded document (tests may not share mutations)."""
    return copy.deepcopy(_document(gv))


@functools.cache
def builtin_store() -> SchemaStore:
    """One store over the four recorded documents, shared by read-only tests (compiles once)."""
    return SchemaStore.from_documents({gv: _document(gv) for gv in DOCUMENT_FILES})


@functools.cache
def crd_manifest(filename: str) -> dict[str, Any]:
    with (CRDS / filename).open(encoding="utf-8") as f:
        return next(d for d in yaml.safe_load_all(f) if d)


def crd_store(*crds: dict[str, Any]) -> SchemaStore:
    """A store over the documents the server would publish for these CRD manifests."""
    docs: dict[str, Any] = {}
    for crd in crds:
        docs.update(crd_documents(crd, base_document=_document("api/v1")))
    return SchemaStore.from_documents(docs)


def crd_manifest_for(schema: dict[str, Any], *, group: str = "example.com", kind: str = "Widget",
                     version: str = "v1") -> dict[str, Any]:
    """A minimal CRD manifest around a hand-written openAPIV3Schema."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": f"{kind.lower()}s", "singular": kind.lower()},
                 "versions": [{"name": version, "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": schema}}]},
    }


def sha512_hex(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


class RecordedTransport:
    """Stands in for dynkube.transport.Transport: answers from recorded bodies, records each request.

    Not a mock of ``requests`` and not an HTTP server: it implements the transport's ``send``
    interface over bytes, raising NotFound for unknown paths as the real transport does for a 404.
    """

    def __init__(self, bodies: dict[str, bytes], *, redirected: set[str] = frozenset()) -> None:
        self.bodies = dict(bodies)
        self.redirected = set(redirected)
        self.calls: list[tuple[str, dict[str, str] | None]] = []

    @classmethod
    def serving(cls, docs: dict[str, bytes]) -> RecordedTransport:
        """An index plus the given group-version documents, each at its ``?hash=`` URL."""
        transport = cls({})
        transport.publish(docs)
        return transport

    def publish(self, docs: dict[str, bytes]) -> None:
        paths = {}
        for gv, body in docs.items():
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={sha512_hex(body)}"}
            self.bodies[f"/openapi/v3/{gv}"] = body
        self.bodies["/openapi/v3"] = json.dumps({"paths": paths}).encode()

    def send(self, request: Request) -> Response:
        path, params = request.path, dict(request.params) or None
        self.calls.append((path, params))
        if path not in self.bodies:
            raise errors.NotFound({"kind": "Status", "code": 404, "reason": "NotFound", "message": "not found"},
                                  method=request.method, url=path)
        history = ("https://server" + path,) if path in self.redirected else ()
        return Response(200, content=self.bodies[path], history=history)

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.calls]
