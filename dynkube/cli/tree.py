"""``dynkube tree``: what the cluster serves, by API group (with object counts); with an object, what it owns."""

from __future__ import annotations

import datetime as dt
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dynkube
from dynkube.events import parse_time
from dynkube.owners import owner_tree, root_owner

from .context import Context, UsageError
from .options import AddCommand, add_cached_option
from .printing import age, as_list, dump_json, dump_yaml, format_table, paint
from .progress import Progress
from .targets import fetch_object, split_type_name


def register(command: AddCommand) -> None:
    """Add ``tree``."""
    p = command("tree", tree, "What the cluster serves, grouped by API group (with object counts); "
                "with an object, everything it owns.",
                "examples:\n  dynkube tree\n  dynkube tree --count\n  dynkube tree --api-group=apps -o json\n"
                "  dynkube tree deployment web\n  dynkube tree pod/web-1 --root")
    p.add_argument("targets", nargs="*", metavar="KIND NAME | KIND/NAME",
                   help="an object: draw what it owns (its ownership tree) instead of the overview")
    p.add_argument("--root", action="store_true", help="with an object: start from its root owner")
    p.add_argument("--count", action="store_true", help="count the objects of each listable resource")
    p.add_argument("--api-group", metavar="GROUP", help="only this API group ('' or 'core' for the core group)")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="with --count: count in every namespace (the default unless -n is given)")
    add_cached_option(p)


COUNT_WORKERS = 8  # tree --count: limit=1 lists in flight at once


def count_objects(rc: dynkube.ResourceClient, namespace: str | None) -> int | str:
    """How many objects a resource has (one request of one item's metadata: the rest is
    remainingItemCount)."""
    try:
        page = rc.list_page(namespace, all_namespaces=namespace is None and rc.namespaced, limit=1, metadata_only=True)
    except dynkube.Forbidden:
        return "forbidden"
    except dynkube.ApiError as exc:
        return f"error {exc.code}"
    remaining = page.metadata.get("remainingItemCount")
    if isinstance(remaining, int):
        return len(page) + remaining
    if page.continue_token:  # the server did not say how many: count by listing
        return sum(1 for _ in rc.list(namespace, all_namespaces=namespace is None and rc.namespaced,
                                      metadata_only=True))
    return len(page)


def tree_document(resource_map: Any, resources: list[dynkube.Resource],
                  counts: dict[tuple[str, str], int | str] | None) -> list[dict[str, Any]]:
    """Groups (core first, then by name) with their served versions and resources."""
    versions: dict[str, set[str]] = {}
    for r in resource_map:
        versions.setdefault(r.group, set()).add(r.version)
    groups: dict[str, list[dynkube.Resource]] = {}
    for r in sorted(resources, key=lambda r: (r.group, r.plural)):
        groups.setdefault(r.group, []).append(r)
    out = []
    for group, members in groups.items():
        preferred = resource_map.preferred_versions.get(group) or members[0].version
        entry: dict[str, Any] = {
            "group": group or "core", "preferredVersion": preferred,
            "versions": sorted(versions.get(group, {preferred}), key=lambda v: (v != preferred, v)),
            "resources": []}
        for r in members:
            item: dict[str, Any] = {"name": r.plural, "kind": r.kind, "version": r.version,
                                    "namespaced": r.namespaced, "shortNames": list(r.short_names)}
            if counts is not None and (r.group, r.plural) in counts:
                item["count"] = counts[(r.group, r.plural)]
            entry["resources"].append(item)
        out.append(entry)
    return out


def tree_lines(groups: list[dict[str, Any]], unicode: bool = True, colour: bool = False) -> list[str]:
    tee, elbow = ("├── ", "└── ") if unicode else ("|-- ", "`-- ")
    lines = []
    with_counts = any("count" in r for g in groups for r in g["resources"])
    for group in groups:
        others = [v for v in group["versions"] if v != group["preferredVersion"]]
        title = f"{group['group']} ({group['preferredVersion']}" + (f"; also {', '.join(others)}" if others else "") \
            + ")"
        lines.append(paint(title, "bold", colour))
        rows = []
        for r in group["resources"]:
            row = [r["name"] + (f" ({','.join(r['shortNames'])})" if r["shortNames"] else ""), r["kind"],
                   "namespaced" if r["namespaced"] else "cluster"]
            if with_counts:
                row.append(str(r.get("count", "-")))
            rows.append(row)
        table = format_table(None, rows)
        for i, line in enumerate(table):
            lines.append((elbow if i == len(table) - 1 else tee) + line)
    return lines


def tree(ctx: Context) -> int:
    args = ctx.args
    if args.targets:
        return owner_tree_command(ctx, args.targets)
    if args.root:
        raise UsageError("--root needs an object: tree KIND NAME --root")
    group = args.api_group
    if group == "core":
        group = ""
    resource_map = ctx.client.api_map(cached=args.cached)
    resources = resource_map.filter(group=group)
    if not resources:
        raise dynkube.ResourceNotFound(f"the server serves no API group {args.api_group!r}", name=str(group))
    counts: dict[tuple[str, str], int | str] | None = None
    if args.count:
        namespace = None if args.all_namespaces or not args.namespace else args.namespace
        listable = [r for r in resources if "list" in r.verbs]

        def count(r: dynkube.Resource) -> tuple[tuple[str, str], int | str]:
            rc = ctx.client.resource(r)
            return (r.group, r.plural), count_objects(rc, namespace if r.namespaced else None)

        warnings.simplefilter("ignore", dynkube.ServerWarning)  # deprecation notes of every kind listed: noise here
        progress = Progress(ctx)
        counts = {}
        with ThreadPoolExecutor(max_workers=COUNT_WORKERS) as pool:  # each request within the client's rate limit
            for done, (key, value) in enumerate(pool.map(count, listable), 1):
                counts[key] = value
                progress.show(done, len(listable), "counted")
        progress.clear()
    groups = tree_document(resource_map, resources, counts)
    if args.output == "json":
        ctx.out.write(dump_json(as_list(groups)))
        return 0
    if args.output == "yaml":
        ctx.out.write(dump_yaml(as_list(groups)))
        return 0
    encoding = (getattr(ctx.out, "encoding", None) or "").lower().replace("-", "")
    for line in tree_lines(groups, unicode=encoding == "utf8", colour=ctx.colour):
        ctx.print(line)
    summary = f"{len(groups)} API groups, {len(resources)} resources"
    if counts is not None:
        where = f"in namespace {args.namespace}" if args.namespace and not args.all_namespaces else "in all namespaces"
        summary += count_summary(counts, where)
    ctx.print(summary)
    return 0


def count_summary(counts: dict[tuple[str, str], int | str], where: str) -> str:
    """The end of tree's footer: the objects counted, and how many resources could not be (and why)."""
    counted = [c for c in counts.values() if isinstance(c, int)]
    reasons: dict[str, int] = {}
    for c in counts.values():
        if not isinstance(c, int):
            reasons[c] = reasons.get(c, 0) + 1
    why = f" (not counted: {', '.join(f'{n} {reason}' for reason, n in sorted(reasons.items()))})" if reasons else ""
    if not counted and reasons:  # "0 objects" would read as an empty cluster
        return f", no objects counted {where}{why}"
    return f", {sum(counted)} objects {where}{why}"


def owner_tree_command(ctx: Context, targets: list[str]) -> int:
    """``dynkube tree KIND NAME`` / ``tree KIND/NAME``: what the object owns, with readiness."""
    args = ctx.args
    if args.count or args.api_group is not None or args.cached:
        raise UsageError("--count, --api-group and --cached are for the cluster overview (tree without an object)")
    if len(targets) == 2 and "/" not in targets[0]:
        targets = [f"{targets[0]}/{targets[1]}"]
    if len(targets) != 1:
        raise UsageError(f"tree takes one object, KIND NAME or KIND/NAME (got {' '.join(targets)!r})")
    rc, name = split_type_name(ctx, targets[0], "tree")
    obj = fetch_object(ctx, rc, name)
    warnings.simplefilter("ignore", dynkube.ServerWarning)  # deprecation notes of every kind listed: noise here
    if args.root:
        obj = root_owner(ctx.client, obj)
    tree = owner_tree(ctx.client, obj)
    if args.output in ("json", "yaml"):
        document = tree.to_dict()
        ctx.out.write(dump_json(document) if args.output == "json" else dump_yaml(document))
        return 0
    encoding = (getattr(ctx.out, "encoding", None) or "").lower().replace("-", "")
    for line in owner_tree_lines(tree, dt.datetime.now(dt.timezone.utc), unicode=encoding == "utf8"):
        ctx.print(line)
    return 0


def owner_tree_lines(tree: Any, now: dt.datetime, unicode: bool = True) -> list[str]:
    """kubectl-tree's table: NAMESPACE, NAME drawn as a tree, READY, REASON, AGE."""
    tee, elbow, bar = ("├─", "└─", "│ ") if unicode else ("|-", "`-", "| ")
    rows = []

    def visit(node: Any, prefix: str, branch: str) -> None:
        ref = node.ref
        rows.append([ref.namespace, f"{prefix}{branch}{ref.kind}/{ref.name}", node.ready or "-", node.reason,
                     age(parse_time(node.created), now) if node.created else "<unknown>"])
        children = node.children
        deeper = prefix + ("" if not branch else ("  " if branch == elbow else bar))
        for i, child in enumerate(children):
            visit(child, deeper, elbow if i == len(children) - 1 else tee)

    visit(tree, "", "")
    return format_table(["NAMESPACE", "NAME", "READY", "REASON", "AGE"], rows)
