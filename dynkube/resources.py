"""The resource map: every resource the server serves, and how a name a person types resolves to one.

Resolution follows kubectl: plural or singular first, then kind, then short name; ``name.group``
and ``name.version.group`` (group may be a dotted prefix: ``storageclass.storage``), ``group/version/name``
and (apiVersion, kind). Without a version the group's preferred version is used. URL paths are built
here and only here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, NoReturn
from urllib.parse import quote

from .errors import AmbiguousResource, InvalidInput, ResourceNotFound

# The groups kube-apiserver serves itself (its APIService priority table, past and present). As
# kubectl's RESTMapper, which prefers groups in discovery order, they outrank every other group:
# the server lists them before CRD groups (priority 1000) and aggregated APIs.
BUILTIN_GROUPS = frozenset({
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "apps",
    "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "extensions", "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "policy", "rbac.authorization.k8s.io",
    "resource.k8s.io", "scheduling.k8s.io", "settings.k8s.io", "storage.k8s.io", "storagemigration.k8s.io",
})
_VERSION = re.compile(r"^v\d+(?:(?:alpha|beta)\d+)?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_]*$")


class Subresource(NamedTuple):
    """A subresource such as ``status``, ``scale`` or ``log``; its kind may live in another group."""

    name: str
    kind: str
    group: str
    version: str
    verbs: frozenset[str]


class Resource:
    """One resource at one group-version, as discovery describes it: an immutable, hashable value.

    A slotted class rather than a dataclass (``dataclasses`` costs ~10 ms of ``import dynkube``, see
    docs/performance.md) or a NamedTuple (whose tuple methods and indexing are no part of a resource).
    """

    __slots__ = ("group", "version", "kind", "plural", "singular", "namespaced", "verbs", "short_names",
                 "categories", "subresources", "preferred")
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    verbs: frozenset[str]
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    subresources: tuple[Subresource, ...]
    preferred: bool

    def __init__(self, group: str, version: str, kind: str, plural: str, singular: str, namespaced: bool,
                 verbs: frozenset[str], short_names: tuple[str, ...] = (), categories: tuple[str, ...] = (),
                 subresources: tuple[Subresource, ...] = (), preferred: bool = True) -> None:
        init = object.__setattr__
        init(self, "group", group)
        init(self, "version", version)
        init(self, "kind", kind)
        init(self, "plural", plural)
        init(self, "singular", singular)
        init(self, "namespaced", namespaced)
        init(self, "verbs", verbs)
        init(self, "short_names", short_names)
        init(self, "categories", categories)
        init(self, "subresources", subresources)
        init(self, "preferred", preferred)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, field) for field in self.__slots__)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Resource is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Resource is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Resource) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[type[Resource], tuple[Any, ...]]:
        return Resource, self._values()  # pickle and copy build it again through __init__

    @property
    def name(self) -> str:
        """The resource's name: its plural (kubectl api-resources' NAME column)."""
        return self.plural

    @property
    def api_version(self) -> str:
        """``apps/v1``, or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``deployments.apps``, or ``pods`` for the core group (kubectl's fully qualified name)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource:
        """The named subresource, or ResourceNotFound listing those discovery reports."""
        for sub in self.subresources:
            if sub.name == name:
                return sub
        known = ", ".join(s.name for s in self.subresources) or "none"
        raise ResourceNotFound(f"{self.group_resource} has no subresource {name!r} (it has: {known})",
                               name=f"{self.plural}/{name}", candidates=tuple(s.name for s in self.subresources))

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The server-relative URL path: collection when ``name`` is None, all namespaces when
        ``namespace`` is None for a namespaced resource."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [base]
        if self.namespaced and namespace:
            parts += ["namespaces", _segment(namespace, "namespace")]
        parts.append(self.plural)
        if name is not None:
            parts.append(_segment(name, "name"))
        if subresource:
            if name is None:
                raise InvalidInput(f"subresource {subresource!r} of {self.group_resource} needs an object name")
            parts.append(subresource)
        return "/".join(parts)

    def __repr__(self) -> str:
        return f"<Resource {self.plural}.{self.api_version} kind={self.kind}>" if self.group else \
            f"<Resource {self.plural}.{self.version} kind={self.kind}>"


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or value in (".", "..") or "/" in value:
        raise InvalidInput(f"invalid {what} {value!r}: must be a non-empty string without '/'")
    return quote(value, safe="")


class ResourceMap:
    """All resources of a server, in discovery priority order (core first, then groups as served).

    ``preferred_versions`` maps group → preferred version; ``failed`` maps group/version → why it
    could not be discovered.
    """

    def __init__(self, resources: list[Resource], preferred_versions: dict[str, str] | None = None,
                 failed: dict[str, str] | None = None) -> None:
        self.resources = resources
        self.preferred_versions = preferred_versions if preferred_versions is not None else {}
        self.failed = failed if failed is not None else {}

    def __repr__(self) -> str:
        return f"<ResourceMap of {len(self.resources)} resources, {len(self.failed)} failed group-versions>"

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def preferred(self) -> list[Resource]:
        """One entry per group and plural: the preferred version where the group serves it there."""
        chosen: dict[tuple[str, str], Resource] = {}
        for r in self.resources:
            key = (r.group, r.plural)
            if key not in chosen or (r.preferred and not chosen[key].preferred):
                chosen[key] = r
        return list(chosen.values())

    def filter(self, *, group: str | None = None, verbs: Iterable[str] = (), namespaced: bool | None = None,
               category: str | None = None, preferred_only: bool = True) -> list[Resource]:
        """Resources matching every given criterion (by default one version per resource)."""
        wanted_verbs = set(verbs)
        pool = self.preferred() if preferred_only else self.resources
        return [r for r in pool
                if (group is None or r.group == group)
                and wanted_verbs <= r.verbs
                and (namespaced is None or r.namespaced == namespaced)
                and (category is None or category in r.categories)]

    def resolve(self, name: str, kind: str | None = None) -> Resource:
        """The one resource meant by ``name`` (or by ``name`` = apiVersion and ``kind``).

        Raises InvalidInput for a malformed name, ResourceNotFound (with close matches) or
        AmbiguousResource (with the candidates).
        """
        if kind is not None:
            group, version = _split_api_version(name)
            kind = _check_part(kind, kind)
            return self._pick(kind, self._lookup(kind, group, version), f"{name}/{kind}")
        query = _check_part(name, name)
        if "/" in query:
            return self._resolve_slashed(query)
        base, _, rest = query.partition(".")
        if rest:
            version_part, _, group_part = rest.partition(".")
            if group_part and _VERSION.match(version_part):
                found = self._lookup(base, group_part, version_part, group_prefix=True)
                if found:
                    return self._pick(base, found, query)
            return self._pick(base, self._lookup(base, rest, None, group_prefix=True), query)
        return self._pick(query, self._lookup(query, None, None), query)

    def _resolve_slashed(self, query: str) -> Resource:
        parts = query.split("/")
        if len(parts) > 3 or any(not p for p in parts):
            raise InvalidInput(f"malformed resource name {query!r}: expected NAME, NAME.GROUP, GROUP/VERSION/NAME "
                               "or VERSION/NAME")
        if len(parts) == 3:
            return self._pick(parts[2], self._lookup(parts[2], parts[0], parts[1]), query)
        first, name = parts
        if _VERSION.match(first) and any(r.group == "" and r.version == first for r in self.resources):
            return self._pick(name, self._lookup(name, "", first), query)
        return self._pick(name, self._lookup(name, first, None), query)

    def _lookup(self, name: str, group: str | None, version: str | None, *,
                group_prefix: bool = False) -> list[Resource]:
        """Candidates for ``name`` in the first tier that has any: plural/singular, kind, short name."""
        pool = [r for r in self.resources if _group_matches(r.group, group, group_prefix)
                and (version is None or r.version == version)]
        lower = name.lower()
        tiers = (
            lambda r: r.plural == lower or r.singular == lower,
            lambda r: r.kind.lower() == lower,
            lambda r: lower in r.short_names,
        )
        for matches in tiers:
            found = [r for r in pool if matches(r)]
            if found:
                if group_prefix and group is not None:
                    exact = [r for r in found if r.group == group]
                    found = exact or found
                return found
        return []

    def _pick(self, query: str, found: list[Resource], original: str) -> Resource:
        if not found:
            raise self._not_found(query, original)
        by_group: dict[str, list[Resource]] = {}
        for r in found:  # in discovery order
            by_group.setdefault(r.group, []).append(r)
        best = min(map(_standing, by_group))
        groups = [g for g in by_group if _standing(g) == best]
        if len(groups) > 1 and best == _OTHER:
            candidates = tuple(dict.fromkeys(r.group_resource for g in groups for r in by_group[g]))
            shown = ", ".join(candidates[:8]) + (f" and {len(candidates) - 8} more" if len(candidates) > 8 else "")
            raise AmbiguousResource(f"{query!r} matches more than one resource: {shown}; "
                                    "qualify it with its group (e.g. NAME.GROUP)", name=query, candidates=candidates)
        versions = by_group[groups[0]]  # among built-in groups, the first in discovery order (as kubectl)
        return next((r for r in versions if r.preferred), versions[0])

    def _not_found(self, query: str, original: str) -> ResourceNotFound:
        import difflib

        names = {n for r in self.resources for n in (r.plural, r.singular, r.kind, *r.short_names, r.group_resource)}
        close = tuple(difflib.get_close_matches(query, sorted(names), n=5, cutoff=0.6))
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return ResourceNotFound(f"the server doesn't have a resource type {original!r}{hint}", name=original,
                                candidates=close)


_CORE, _BUILTIN, _OTHER = 0, 1, 2


def _standing(group: str) -> int:
    """How a group ranks when a name matches in several: 0 the core group, 1 a Kubernetes built-in
    group (BUILTIN_GROUPS), 2 any other (CRDs, aggregated APIs). Only groups of standing 2 tie."""
    if not group:
        return _CORE
    return _BUILTIN if group in BUILTIN_GROUPS else _OTHER


def _group_matches(group: str, wanted: str | None, prefix: bool) -> bool:
    if wanted is None:
        return True
    if group == wanted:
        return True
    return prefix and group.startswith(wanted + ".")


def _check_part(value: object, whole: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"invalid resource name {whole!r}: expected a non-empty string")
    if not _NAME.match(value.replace("/", "")):
        raise InvalidInput(f"invalid resource name {whole!r}")
    return value.strip()


def _split_api_version(api_version: str) -> tuple[str, str]:
    if not isinstance(api_version, str) or not api_version or api_version.count("/") > 1 or \
            any(not p for p in api_version.split("/")):
        raise InvalidInput(f"invalid apiVersion {api_version!r}: expected VERSION or GROUP/VERSION")
    group, _, version = api_version.rpartition("/")
    return group, version
