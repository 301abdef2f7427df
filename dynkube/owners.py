"""The ownership graph: from an object down to everything it owns, and up to its root owner.

Ownership is ``metadata.ownerReferences``, followed by uid, across every kind the server serves,
namespaced and cluster-scoped. Going down lists every listable kind once with metadata-only lists
(``PartialObjectMetadata``: no spec, status or data is transferred), several at a time within the
client's rate limit: a namespaced object's dependents are in its namespace; a cluster-scoped
object's may be anywhere. Going up GETs each owner (metadata only). Readiness of the objects in a
tree comes from their ``status.conditions`` (``Ready``, else ``Available``), read only for kinds
that have a status subresource.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError, DanglingOwner, InvalidInput, NotFound, OwnerCycle, ResourceNotFound
from .objects import ApiObject

if TYPE_CHECKING:
    from .client import Client, ResourceClient
    from .resources import Resource

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
SKIPPED_GROUPS = {"events.k8s.io"}  # events are never owned, and are the most numerous objects
SKIPPED_CORE = {"events"}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Which object: enough to name it and to read it again."""

    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(slots=True)
class OwnerNode:
    """One object of an ownership tree, with what it owns. ``ready`` is ``"True"``/``"False"``/
    ``"Unknown"`` from its Ready (else Available) condition, ``""`` when it has none."""

    ref: ObjectRef
    created: str = ""
    ready: str = ""
    reason: str = ""
    children: list[OwnerNode] = field(default_factory=list)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, OwnerNode]]:
        """Every node of the tree, depth first, with its depth (this node: 0)."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def to_dict(self) -> dict[str, Any]:
        """The tree as plain data (``-o json|yaml`` of ``dynkube tree KIND NAME``)."""
        ref = self.ref
        return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "namespace": ref.namespace,
                "uid": ref.uid, "ready": self.ready, "reason": self.reason, "created": self.created,
                "children": [c.to_dict() for c in self.children]}


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    """The ObjectRef of an object read from the server (needs apiVersion, kind, metadata.uid)."""
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    if not isinstance(metadata, Mapping) or not metadata.get("uid") or not obj.get("kind"):
        raise InvalidInput("an ownership walk needs an object read from the server (with kind and metadata.uid)")
    return ObjectRef(str(obj.get("apiVersion", "")), str(obj["kind"]), str(metadata.get("name", "")),
                     str(metadata.get("namespace") or ""), str(metadata["uid"]))


# ---- up ------------------------------------------------------------------------------------------

def owner_chain(client: Client, obj: Mapping[str, Any]) -> list[ObjectRef]:
    """``obj``, its owner, that one's owner... up to the root owner (the last item). The controller
    reference is followed (else the first); each owner is read metadata-only, to check its uid.

    An owner that does not exist, or exists with another uid, raises ``DanglingOwner``; a reference
    back to an object already on the chain, ``OwnerCycle``.
    """
    chain = [ref_of(obj)]
    refs = obj["metadata"].get("ownerReferences") or []
    while refs:
        ref = next((r for r in refs if r.get("controller")), refs[0])
        owner, refs = _read_owner(client, ref, chain[-1])
        if any(owner.uid == seen.uid for seen in chain):
            raise OwnerCycle(f"the owner references of {chain[0]} form a cycle: "
                             + " -> ".join(map(str, [*chain, owner])), obj=str(chain[-1]))
        chain.append(owner)
    return chain


def root_owner(client: Client, obj: Mapping[str, Any]) -> ApiObject:
    """The object at the top of ``obj``'s owner chain, read whole (``obj`` itself when it has no owner)."""
    root = owner_chain(client, obj)[-1]
    if root.uid == ref_of(obj).uid:
        return obj if isinstance(obj, ApiObject) else ApiObject(obj)
    rc = client.resource(root.api_version, root.kind)
    return rc.get(root.name, root.namespace or None)


def _read_owner(client: Client, ref: Mapping[str, Any], dependent: ObjectRef) -> tuple[ObjectRef, list[Any]]:
    """The owner a reference names (checked by uid) and the owner's own owner references."""
    what = f"{ref.get('kind')}/{ref.get('name')}"
    owner = None
    try:
        rc = client.resource(str(ref.get("apiVersion")), str(ref.get("kind")))
        owner = rc.get(str(ref.get("name")), (dependent.namespace or None) if rc.namespaced else None,
                       metadata_only=True)
    except (NotFound, ResourceNotFound):
        pass
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        state = "does not exist" if owner is None else "was replaced by another object of that name"
        raise DanglingOwner(f"{dependent} names owner {what} (uid {ref.get('uid')}), which {state}",
                            obj=str(dependent))
    meta = owner["metadata"]
    found = ObjectRef(rc.api_version, rc.kind, str(meta.get("name", "")), str(meta.get("namespace") or ""),
                      str(meta["uid"]))
    return found, list(meta.get("ownerReferences") or [])


# ---- down ----------------------------------------------------------------------------------------

def owner_tree(client: Client, obj: Mapping[str, Any], *, workers: int = DEFAULT_WORKERS,
               readiness: bool = True) -> OwnerNode:
    """``obj`` and everything it owns, transitively, as a tree of ``OwnerNode``s.

    Lists each listable kind once (metadata only), ``workers`` at a time; kinds the user may not
    list are skipped (logged). A dependent reached twice (several owners, or a cycle) appears once,
    under the first owner found. ``readiness=False`` skips reading the tree's objects' conditions.
    """
    if not isinstance(workers, int) or workers < 1:
        raise InvalidInput(f"workers must be a positive integer, not {workers!r}")
    root = ref_of(obj)
    index = _dependents_index(client, root.namespace or None, workers)
    tree = OwnerNode(root, created=str(obj["metadata"].get("creationTimestamp") or ""))
    seen = {root.uid}
    pending = [tree]
    while pending:
        node = pending.pop()
        for child, created in sorted(index.get(node.ref.uid, []), key=lambda c: (c[0].kind, c[0].name)):
            if child.uid in seen:
                continue
            seen.add(child.uid)
            node.children.append(OwnerNode(child, created=created))
        pending.extend(node.children)
    if readiness:
        _fill_readiness(client, tree, obj, workers)
    return tree


def _listable(client: Client, namespaced_only: bool) -> list[Resource]:
    resources = client.api_resources(verbs=["list"], cached=True)
    return [r for r in resources if r.group not in SKIPPED_GROUPS and not (r.group == "" and r.plural in SKIPPED_CORE)
            and (r.namespaced or not namespaced_only)]


def _dependents_index(client: Client, namespace: str | None, workers: int) -> dict[str, list[tuple[ObjectRef, str]]]:
    """owner uid -> [(dependent, creationTimestamp)] over every listable kind in scope."""
    resources = _listable(client, namespace is not None)

    def scan(resource: Resource) -> list[tuple[str, ObjectRef, str]]:
        rc = client.resource(resource)
        try:
            items = list(rc.list(namespace if resource.namespaced else None,
                                 all_namespaces=namespace is None and resource.namespaced, metadata_only=True))
        except (ApiError, ResourceNotFound) as exc:
            log.info("owners: %s not searched: %s", resource.group_resource, exc)
            return []
        return [(owner["uid"], _dependent_ref(rc, item), str(item["metadata"].get("creationTimestamp") or ""))
                for item in items for owner in item["metadata"].get("ownerReferences") or [] if owner.get("uid")]

    index: dict[str, list[tuple[ObjectRef, str]]] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for found in pool.map(scan, resources):
            for owner_uid, ref, created in found:
                index.setdefault(owner_uid, []).append((ref, created))
    return index


def _dependent_ref(rc: ResourceClient, item: ApiObject) -> ObjectRef:
    meta = item["metadata"]
    return ObjectRef(rc.api_version, rc.kind, str(meta.get("name", "")), str(meta.get("namespace") or ""),
                     str(meta.get("uid", "")))


def _fill_readiness(client: Client, tree: OwnerNode, obj: Mapping[str, Any], workers: int) -> None:
    nodes = [node for _, node in tree.walk()]

    def read(node: OwnerNode) -> None:
        full = obj if node is tree and "status" in obj else _read_status(client, node.ref)
        if full is not None:
            node.ready, node.reason = readiness_of(full)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(read, nodes))


def _read_status(client: Client, ref: ObjectRef) -> Mapping[str, Any] | None:
    try:
        rc = client.resource(ref.api_version, ref.kind)
        if not any(s.name == "status" for s in rc.resource.subresources):
            return None  # no status to read (a ConfigMap, a Secret): its data is not fetched
        return rc.get(ref.name, ref.namespace or None)
    except (ApiError, ResourceNotFound) as exc:
        log.info("owners: readiness of %s unknown: %s", ref, exc)
        return None


def readiness_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(status, reason) of the object's Ready condition, else its Available one; ("", "") if neither."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    for wanted in ("Ready", "Available"):
        for c in conditions:
            if isinstance(c, Mapping) and c.get("type") == wanted:
                return str(c.get("status", "")), str(c.get("reason") or "")
    return "", ""
