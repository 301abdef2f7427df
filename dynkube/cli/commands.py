"""The commands other than ``get``: api-resources, api-versions, version, apply, delete, explain, tree."""

from __future__ import annotations

import platform
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error, one_line
from .get import is_type_name, resolve_types
from .printing import as_list, dump_json, dump_yaml, format_table, paint, qualified_kind
from .sources import manifest_source, not_utf8, read_manifests

PROGRESS_FROM = 5  # objects in a run from which a terminal gets a progress line
COUNT_WORKERS = 8  # tree --count: limit=1 lists in flight at once


# ---- api-resources, api-versions, version ------------------------------------------------

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


def api_versions(ctx: Context) -> int:
    for version in sorted({r.api_version for r in ctx.client.api_map(cached=ctx.args.cached)}):
        ctx.print(version)
    return 0


def client_version() -> dict[str, str]:
    return {"gitVersion": f"v{dynkube.__version__}", "pythonVersion": platform.python_version(),
            "platform": f"{sys.platform}/{platform.machine().lower()}"}


def version(ctx: Context) -> int:
    document: dict[str, Any] = {"clientVersion": client_version()}
    server_error = None
    if not ctx.args.client:
        try:
            document["serverVersion"] = dict(ctx.client.version())
        except dynkube.DynkubeError as exc:
            server_error = exc
    if ctx.args.output == "json":
        ctx.out.write(dump_json(document))
    elif ctx.args.output == "yaml":
        ctx.out.write(dump_yaml(document))
    else:
        ctx.print(f"Client Version: {document['clientVersion']['gitVersion']}")
        if "serverVersion" in document:
            ctx.print(f"Server Version: {document['serverVersion'].get('gitVersion', '?')}")
    if server_error is not None:
        raise server_error
    return 0


# ---- apply ---------------------------------------------------------------------------------

def _field_validation(mode: str | None) -> tuple[bool, str]:
    """(client-side schema check, server field validation) of ``--validate``."""
    if mode in (None, "strict"):
        return False, "Strict"
    if mode == "true":
        return True, "Strict"
    return False, {"warn": "Warn", "ignore": "Ignore", "false": "Ignore"}[mode]


def apply_line(result: dynkube.ApplyResult, dry_run: bool) -> tuple[bool, str]:
    """(ok, line) for one apply result: ``kind.group/name created`` or ``... failed: reason``."""
    obj = result.object or result.document.body or {}
    metadata = obj.get("metadata") or {}
    name = f"{qualified_kind(str(obj.get('apiVersion') or ''), str(obj.get('kind') or 'object'))}/" \
           f"{metadata.get('name') or '?'}" if obj else ""
    if result.error is None:
        return True, f"{name} {result.action}" + (" (server dry run)" if dry_run else "")
    where = result.document.where
    reason = describe_error(result.error).removeprefix("error: ").removeprefix(f"{where}: ")
    subject = f"{name} ({where})" if name else where
    return False, f"{subject} failed: {reason}"


def apply(ctx: Context) -> int:
    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|- with the manifests to apply")
    if not args.server_side:
        raise UsageError("--server-side=false (client-side apply) is not supported: dynkube always applies "
                         "server-side")
    if args.dry_run == "client":
        raise UsageError("--dry-run=client is not supported (dynkube applies on the server); use --dry-run=server")
    dry_run = args.dry_run == "server"
    validate, field_validation = _field_validation(args.validate)
    progress = _Progress(ctx)
    outcome = {"failed": 0, "total": 0}

    def report(result: dynkube.ApplyResult, done: int, total: int) -> None:
        progress.clear()
        ok, line = apply_line(result, dry_run)
        if ok:
            colour = {"created": "green", "configured": "yellow"}.get(result.action, "")
            action = result.action
            ctx.print(line.replace(f" {action}", " " + paint(action, colour, ctx.colour), 1) if colour else line)
        else:
            outcome["failed"] += 1
            ctx.error(paint(line, "red", ctx.err_colour))
        outcome["total"] += 1
        ctx.out.flush()  # line by line: a reader that goes away stops the apply there (exit 141)
        progress.show(done, total)

    for source in args.filename:
        try:
            dynkube.apply_manifests(
                ctx.client, manifest_source(source), namespace=args.namespace, field_manager=args.field_manager,
                force=args.force_conflicts, dry_run=dry_run, field_validation=field_validation, validate=validate,
                recursive=args.recursive, on_result=report, on_progress=progress.stage, collect=False,
                wait_for_crds="used")
        except UnicodeDecodeError as exc:
            raise not_utf8(source, exc) from None
    progress.clear()
    if not outcome["total"]:
        raise dynkube.ManifestError("no objects passed to apply")
    if outcome["failed"]:
        ctx.error(f"error: {outcome['failed']} of {outcome['total']} object(s) failed")
        raise CommandFailed
    return 0


class _Progress:
    """``[done/total]`` on a terminal's stderr while many objects are applied; nothing otherwise."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.enabled = hasattr(ctx.err, "isatty") and ctx.err.isatty()
        self.shown = False

    def show(self, done: int, total: int, what: str = "applying") -> None:
        if self.enabled and total >= PROGRESS_FROM and done < total:
            self.ctx.err.write(f"\r[{done}/{total}] {what}\x1b[K")
            self.ctx.err.flush()
            self.shown = True

    def stage(self, stage: str, done: int, total: int) -> None:
        """CRDs sent (``applying``) or Established (``waiting``) so far, before their results are shown."""
        self.show(done, total, "CRDs applied" if stage == "applying" else "CRDs established")

    def clear(self) -> None:
        if self.shown:
            self.ctx.err.write("\r\x1b[K")
            self.ctx.err.flush()
            self.shown = False


# ---- delete ----------------------------------------------------------------------------------

def _propagation(cascade: str | None) -> str | None:
    return {None: None, "true": "background", "false": "orphan"}.get(cascade, cascade)


def _delete_targets(ctx: Context) -> Iterator[tuple[dynkube.ResourceClient | None, str, str | None, str]]:
    """(resource, name, namespace, problem) for every object to delete."""
    args = ctx.args
    if args.filename:
        if args.targets:
            raise UsageError("give either -f or RESOURCE NAME, not both")
        for source in args.filename:
            for where, body, problem in read_manifests(source, args.recursive):
                if body is None:
                    yield None, where, None, problem or ""
                    continue
                try:
                    rc = ctx.client.resource_for(body)
                except dynkube.DynkubeError as exc:
                    yield None, where, None, describe_error(exc).removeprefix("error: ")
                    continue
                in_body = body["metadata"].get("namespace")
                if rc.namespaced and args.namespace and in_body and in_body != args.namespace:
                    yield None, where, None, (f"the namespace of the object ({in_body!r}) does not match "
                                              f"--namespace={args.namespace}")
                    continue
                yield rc, body["metadata"]["name"], (in_body or ctx.namespace) if rc.namespaced else None, ""
        return
    if not args.targets:
        raise UsageError("you must specify -f FILE or RESOURCE NAME (or RESOURCE with -l or --all)")
    if is_type_name(args.targets[0]):
        for arg in args.targets:
            if not is_type_name(arg):
                raise UsageError(f"arguments in resource/name form may not be mixed with others (got {arg!r})")
            kind, _, name = arg.rpartition("/")
            rc = ctx.client.resource(kind)
            yield rc, name, ctx.namespace if rc.namespaced else None, ""
        return
    names = args.targets[1:]
    selecting = bool(args.selector or args.field_selector or args.all)
    if args.all and (args.selector or args.field_selector):
        raise UsageError("--all deletes every object: give it no -l or --field-selector")
    if names and selecting:
        raise UsageError("names cannot be given together with -l, --field-selector or --all")
    if not names and not selecting:
        raise UsageError("resource(s) were given but no name: give NAME..., -l SELECTOR or --all")
    for rc in resolve_types(ctx, args.targets[0]):
        namespace = ctx.namespace if rc.namespaced else None
        if names:
            for name in names:
                yield rc, name, namespace, ""
            continue
        all_namespaces = bool(args.all_namespaces and rc.namespaced)
        for obj in rc.list(None if all_namespaces else namespace, all_namespaces=all_namespaces,
                           label_selector=args.selector, field_selector=args.field_selector):
            yield rc, obj["metadata"]["name"], obj["metadata"].get("namespace"), ""


def deleted_uid(answer: dict[str, Any]) -> str | None:
    """The uid of what a DELETE removed: the object's (still finalizing), or the Status's details."""
    metadata = answer.get("metadata") if answer.get("kind") != "Status" else answer.get("details")
    return (metadata or {}).get("uid") or None


def delete(ctx: Context) -> int:
    args = ctx.args
    dry_run = args.dry_run == "server"
    policy = _propagation(args.cascade)
    failed = False
    deleted: list[tuple[dynkube.ResourceClient, str, str | None, str | None]] = []
    targets = list(_delete_targets(ctx))
    if not targets:  # a selection (-l, --field-selector, --all) that matched nothing
        ctx.print("No resources found")
    for rc, name, namespace, problem in targets:
        if rc is None:
            ctx.error(f"error: {name}: {problem}")
            failed = True
            continue
        label = f"{qualified_kind(rc.api_version, rc.kind)} \"{name}\""
        try:
            answer = rc.delete(name, namespace, propagation_policy=policy, grace_period_seconds=args.grace_period,
                               dry_run=dry_run)
        except dynkube.NotFound as exc:
            if not args.ignore_not_found:
                ctx.error(describe_error(exc))
                failed = True
            continue
        except dynkube.ApiError as exc:
            ctx.error(describe_error(exc))
            failed = True
            continue
        ctx.print(f"{label} deleted" + (" (server dry run)" if dry_run else ""))
        ctx.out.flush()
        deleted.append((rc, name, namespace, deleted_uid(answer)))
    if args.wait and not dry_run:
        deadline = time.monotonic() + (args.timeout or 7 * 24 * 3600)
        for rc, name, namespace, uid in deleted:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                dynkube.wait_for(rc, name, namespace, condition="delete", timeout=remaining, uid=uid)
            except dynkube.WaitTimeout as exc:
                ctx.error(f"error: {one_line(str(exc))}")
                failed = True
    if failed:
        raise CommandFailed
    return 0


# ---- explain -------------------------------------------------------------------------------

def explain(ctx: Context) -> int:
    text = ctx.client.explain(ctx.args.path, recursive=ctx.args.recursive, api_version=ctx.args.api_version).render()
    ctx.out.write(text if text.endswith("\n") else text + "\n")
    return 0


# ---- tree ------------------------------------------------------------------------------------

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
        from .tools import owner_tree_command

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
        progress = _Progress(ctx)
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
