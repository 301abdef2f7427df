"""``dynkube api-resources``: the resources the server serves, filtered and sorted as kubectl's."""

from __future__ import annotations

from typing import Any

import dynkube

from .context import Context
from .flags import BoolFlag
from .options import AddCommand, add_cached_option
from .printing import dump_json, dump_yaml, format_table


def register(command: AddCommand) -> None:
    """Add ``api-resources``."""
    p = command("api-resources", api_resources, "List the resources the server serves.",
                "examples:\n  dynkube api-resources --api-group=apps -o wide\n"
                "  dynkube api-resources --namespaced=false --verbs=list -o name")
    p.add_argument("--namespaced", action=BoolFlag, default=None,
                   help="only namespaced (true) or cluster-scoped (false) resources")
    p.add_argument("--api-group", metavar="GROUP", help="only this API group ('' for the core group)")
    p.add_argument("--verbs", action="append", default=[], metavar="VERBS",
                   help="only resources supporting all these verbs (comma-separated)")
    p.add_argument("--categories", action="append", default=[], metavar="CATEGORY",
                   help="only resources in these categories")
    p.add_argument("--sort-by", choices=("name", "kind"), help="sort by name or kind instead of group")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    p.add_argument("-o", "--output", choices=("wide", "name", "json", "yaml"), help="output format")
    add_cached_option(p)


def resource_sort_key(r: dynkube.Resource, sort_by: str | None) -> tuple[str, ...]:
    if sort_by == "name":
        return (r.plural, r.group)
    if sort_by == "kind":
        return (r.kind, r.group)
    return (r.group, r.plural)


def resource_document(r: dynkube.Resource) -> dict[str, Any]:
    """One resource of ``api-resources -o json|yaml`` (the fields of a discovery APIResource)."""
    return {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "group": r.group,
            "version": r.version, "kind": r.kind, "verbs": sorted(r.verbs), "shortNames": list(r.short_names),
            "categories": list(r.categories)}


def api_resources_lines(resources: list[dynkube.Resource], output: str | None, no_headers: bool) -> list[str]:
    """The table (or names) of ``api-resources`` for resources already filtered and sorted."""
    if output == "name":
        return [r.group_resource for r in resources]
    headers = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = [[r.plural, ",".join(r.short_names), r.api_version, str(r.namespaced).lower(), r.kind] for r in resources]
    if output == "wide":
        headers += ["VERBS", "CATEGORIES"]
        for row, r in zip(rows, resources):
            row += [",".join(sorted(r.verbs)), ",".join(r.categories)]
    return format_table(None if no_headers else headers, rows)


def api_resources(ctx: Context) -> int:
    args = ctx.args
    verbs = [v.strip() for spec in args.verbs for v in spec.split(",") if v.strip()]
    group = args.api_group
    if group == "core":
        group = ""
    found = ctx.client.api_resources(group=group, verbs=verbs, namespaced=args.namespaced, cached=args.cached)
    categories = {c.strip() for spec in args.categories for c in spec.split(",") if c.strip()}
    if categories:
        found = [r for r in found if categories & set(r.categories)]
    found = sorted(found, key=lambda r: resource_sort_key(r, args.sort_by))
    if args.output in ("json", "yaml"):
        document = {"apiVersion": "v1", "kind": "List", "items": [resource_document(r) for r in found],
                    "metadata": {"resourceVersion": ""}}
        ctx.out.write(dump_json(document) if args.output == "json" else dump_yaml(document))
        return 0
    for line in api_resources_lines(found, args.output, args.no_headers):
        ctx.print(line)
    return 0
