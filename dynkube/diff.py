"""What applying manifests would change, as ``kubectl diff --server-side``: for each object a
server-side dry-run apply, and a unified diff of the live object against the result.

Both sides are compared without what only the server writes (managedFields, resourceVersion,
generation, uid, creationTimestamp), so a diff shows the change an apply makes. A Secret's values
are never shown: each is ``***``, marked ``(before)``/``(after)`` where it changes, as kubectl does.
Works for any kind, CRDs included, and for objects that do not exist yet (the live side is empty).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DynkubeError, NotFound
from .manifests import Document, load_documents
from .objects import dump_yaml

if TYPE_CHECKING:
    from .client import Client

SERVER_OWNED = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")
MASK = "***"


@dataclass(frozen=True)
class ObjectDiff:
    """The diff of one manifest document. ``name`` is kubectl diff's file name of the object
    (``apps.v1.Deployment.web.front``); ``live`` is None for an object that does not exist yet;
    ``error`` is set (and the rest empty) when the document could not be diffed."""

    document: Document
    name: str
    live: dict[str, Any] | None = None
    merged: dict[str, Any] | None = None
    error: DynkubeError | None = None

    @property
    def changed(self) -> bool:
        """True when applying would change the object (or create it)."""
        return self.error is None and self.live != self.merged

    def unified(self, context: int = 3) -> str:
        """The unified diff text (``diff -u -N`` of the two YAML texts), empty when unchanged."""
        if not self.changed:
            return ""
        before = dump_yaml(self.live).splitlines(keepends=True) if self.live is not None else []
        after = dump_yaml(self.merged).splitlines(keepends=True) if self.merged is not None else []
        lines = difflib.unified_diff(before, after, f"live/{self.name}", f"merged/{self.name}", n=context)
        return f"diff -u -N live/{self.name} merged/{self.name}\n" + "".join(lines)


def diff_manifests(client: Client, source: str | Path | Iterable[Mapping[str, Any]], *,
                   namespace: str | None = None, field_manager: str = "dynkube", force: bool = False,
                   recursive: bool = True) -> list[ObjectDiff]:
    """One ``ObjectDiff`` per document of ``source`` (YAML text, a file, a directory, a URL or
    dicts, as ``apply_manifests`` takes), sorted by kubectl diff's file names. Nothing is changed:
    each object is applied with ``dryRun=All``. A document that cannot be diffed (bad YAML, an
    unknown kind, a server error) has its ``error`` set; the others are still diffed."""
    diffs = [_diff_one(client, doc, namespace, field_manager, force)
             for doc in load_documents(source, recursive=recursive)]
    return sorted(diffs, key=lambda d: (d.error is not None, d.name))


def _diff_one(client: Client, doc: Document, namespace: str | None, field_manager: str, force: bool) -> ObjectDiff:
    if doc.error or doc.body is None:
        return ObjectDiff(doc, doc.where, error=doc.error)
    body = doc.body
    try:
        rc = client.resource_for(body)
        ns = (body["metadata"].get("namespace") or namespace or client.namespace) if rc.namespaced else None
        if not rc.namespaced and "namespace" in body["metadata"]:  # as apply: kubectl ignores it
            body = {**body, "metadata": {k: v for k, v in body["metadata"].items() if k != "namespace"}}
        group = f"{rc.group}." if rc.group else ""
        name = f"{group}{rc.version}.{rc.kind}.{ns + '.' if ns else ''}{body['metadata']['name']}"
        try:
            live: dict[str, Any] | None = rc.get(body["metadata"]["name"], ns).to_dict()
        except NotFound:
            live = None
        merged: dict[str, Any] | None = rc.apply(body, ns, field_manager=field_manager, force=force,
                                                 dry_run=True).to_dict()
    except DynkubeError as exc:
        return ObjectDiff(doc, doc.where, error=exc)
    live, merged = (_clean(live), _clean(merged))
    if rc.group == "" and rc.kind == "Secret":
        live, merged = _mask_secret(live, merged)
    return ObjectDiff(doc, name, live, merged)


def _clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_OWNED}
    return {**obj, "metadata": metadata}


def _mask_secret(live: dict[str, Any] | None, merged: dict[str, Any] | None
                 ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both sides with every data value replaced by ``***``; changed ones marked before/after."""
    before = dict((live or {}).get("data") or {})
    after = dict((merged or {}).get("data") or {})

    def masked(values: dict[str, Any], other: dict[str, Any], when: str) -> dict[str, str]:
        return {k: MASK if other.get(k) == v else f"{MASK} ({when})" for k, v in values.items()}

    if live is not None and before:
        live = {**live, "data": masked(before, after, "before")}
    if merged is not None and after:
        merged = {**merged, "data": masked(after, before, "after")}
    return live, merged
