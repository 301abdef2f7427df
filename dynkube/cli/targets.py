"""The objects a command names: ``KIND/NAME`` as one resource and a name, the object itself, a node."""

from __future__ import annotations

import dynkube

from .context import Context, UsageError
from .get import resolve_types


def split_type_name(ctx: Context, spec: str, what: str) -> tuple[dynkube.ResourceClient, str]:
    """``KIND/NAME`` (or ``KIND NAME`` joined by the caller) as one resource and a name."""
    kind, sep, name = spec.partition("/")
    if not sep or not kind or not name:
        raise UsageError(f"{what} takes KIND/NAME (e.g. pod/web-1), not {spec!r}")
    resources = resolve_types(ctx, kind)
    if len(resources) != 1:
        raise UsageError(f"{what} takes one kind, not {kind!r}")
    return resources[0], name


def fetch_object(ctx: Context, rc: dynkube.ResourceClient, name: str) -> dynkube.ApiObject:
    """The named object of ``rc``, in the command's namespace if the kind is namespaced."""
    return rc.get(name, ctx.namespace if rc.namespaced else None)


def node_name(spec: str) -> str:
    """A node's name from ``NAME`` or ``node/NAME``."""
    kind, sep, name = spec.rpartition("/")
    if sep and kind not in ("node", "nodes"):
        raise UsageError(f"expected a node name (or node/NAME), not {spec!r}")
    return name
