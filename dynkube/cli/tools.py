"""The generic tools over any kind: events, describe, tree KIND NAME (owners), wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dynkube
from dynkube.events import Event, list_events, watch_events

from .context import Context, UsageError
from .get import resolve_types
from .printing import as_list, dump_json, dump_yaml, format_table, human_duration


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
    return rc.get(name, ctx.namespace if rc.namespaced else None)


# ---- events ------------------------------------------------------------------------------------

def age(when: dt.datetime | None, now: dt.datetime) -> str:
    return "<unknown>" if when is None else human_duration(int((now - when).total_seconds()))


def last_seen(event: Event, now: dt.datetime) -> str:
    """kubectl events' LAST SEEN: ``45s``, or ``45s (x3 over 5m)`` for a repeated event."""
    seen = age(event.last_seen, now)
    if event.count > 1:
        return f"{seen} (x{event.count} over {age(event.first_seen, now)})"
    return seen


def event_row(event: Event, now: dt.datetime, with_namespace: bool) -> list[str]:
    row = [last_seen(event, now), event.type, event.reason, event.object, event.message]
    return [event.namespace, *row] if with_namespace else row


EVENT_HEADERS = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def events(ctx: Context) -> int:
    args = ctx.args
    types = [t.strip() for spec in args.types for t in spec.split(",") if t.strip()]
    target = None
    if args.for_object:
        rc, name = split_type_name(ctx, args.for_object, "--for")
        target = fetch_object(ctx, rc, name)
    namespace = None if args.all_namespaces else ctx.namespace
    options: dict[str, Any] = {"all_namespaces": args.all_namespaces, "for_object": target, "types": types}
    if args.watch:
        return _watch_events(ctx, namespace, options)
    found = list_events(ctx.client, namespace, **options)
    if args.output in ("json", "yaml"):
        document = as_list([e.raw for e in found])
        ctx.out.write(dump_json(document) if args.output == "json" else dump_yaml(document))
        return 0
    if not found:
        where = "any namespace" if args.all_namespaces else f"{namespace} namespace"
        ctx.error(f"No events found in {where}.")
        return 0
    now = dt.datetime.now(dt.timezone.utc)
    headers = (["NAMESPACE"] if args.all_namespaces else []) + EVENT_HEADERS
    for line in format_table(None if args.no_headers else headers,
                             [event_row(e, now, args.all_namespaces) for e in found]):
        ctx.print(line)
    return 0


def _watch_events(ctx: Context, namespace: str | None, options: dict[str, Any]) -> int:
    """One line per event as it comes (the current ones first), kubectl events --watch's columns."""
    with_namespace = bool(options["all_namespaces"])
    headers = (["NAMESPACE"] if with_namespace else []) + EVENT_HEADERS
    widths = [len(h) + 3 for h in headers[:-1]]
    if not ctx.args.no_headers:
        ctx.print(_fixed(headers, widths))
    for event in watch_events(ctx.client, namespace, **options):
        ctx.print(_fixed(event_row(event, dt.datetime.now(dt.timezone.utc), with_namespace), widths))
        ctx.out.flush()
    return 0


def _fixed(cells: list[str], widths: list[int]) -> str:
    """Cells padded to at least ``widths`` (a stream cannot be aligned to rows not yet seen)."""
    return "".join(c.ljust(w) for c, w in zip(cells, widths)) + cells[-1]


# ---- describe ----------------------------------------------------------------------------------

def describe(ctx: Context) -> int:
    from dynkube.descriptions import describe as describe_object

    from .get import parse_targets

    args = ctx.args
    objects: list[dynkube.ApiObject] = []
    for target in parse_targets(ctx, args.targets):
        rc = target.resource
        namespace = ctx.namespace if rc.namespaced and not args.all_namespaces else None
        if target.names:
            if args.selector:
                raise UsageError("give names or -l/--selector, not both")
            objects += [rc.get(name, ctx.namespace if rc.namespaced else None) for name in target.names]
        else:
            objects += rc.list(namespace, all_namespaces=args.all_namespaces and rc.namespaced,
                               label_selector=args.selector)
    if not objects:
        where = "" if args.all_namespaces else f" in {ctx.namespace} namespace"
        ctx.error(f"No resources found{where}.")
        return 0
    texts = [describe_object(ctx.client, obj).render() for obj in objects]
    ctx.out.write("\n\n".join(texts))
    return 0


# ---- tree KIND NAME (owners) ----------------------------------------------------------------------

def owner_tree_command(ctx: Context, targets: list[str]) -> int:
    """``dynkube tree KIND NAME`` / ``tree KIND/NAME``: what the object owns, with readiness."""
    import warnings

    from dynkube.owners import owner_tree, root_owner

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
    from dynkube.events import parse_time

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


# ---- wait ------------------------------------------------------------------------------------------

DEFAULT_WAIT = 30.0  # kubectl wait's --timeout


def wait_condition(value: str) -> str:
    """kubectl's --for forms, checked before any request: delete, create, condition=TYPE[=STATUS],
    jsonpath={PATH}[=VALUE]."""
    if value in ("delete", "create") or value.startswith(("condition=", "jsonpath=")):
        return value
    raise UsageError(f"unrecognized condition: {value!r} (expected delete, create, condition=TYPE[=STATUS] or "
                     "jsonpath={PATH}[=VALUE])")


def _wait_targets(ctx: Context) -> list[tuple[dynkube.ResourceClient, str, str | None]]:
    """(resource, name, namespace) of every object to wait for; selectors are resolved once, now."""
    from .get import parse_targets

    args = ctx.args
    found: list[tuple[dynkube.ResourceClient, str, str | None]] = []
    for target in parse_targets(ctx, args.targets):
        rc = target.resource
        namespace = ctx.namespace if rc.namespaced else None
        if target.names:
            if args.selector or args.all:
                raise UsageError("give names, or -l/--selector or --all, not both")
            found += [(rc, name, namespace) for name in target.names]
            continue
        if not (args.selector or args.all):
            raise UsageError("resource(s) were provided, but no name was specified (or -l/--selector, --all)")
        every = args.all_namespaces and rc.namespaced
        found += [(rc, obj.metadata.name, obj.metadata.get("namespace"))
                  for obj in rc.list(None if every else namespace, all_namespaces=every,
                                     label_selector=args.selector, metadata_only=True)]
    return found


def wait(ctx: Context) -> int:
    """Wait for each object in turn (each gets the whole --timeout, as kubectl's)."""
    from .printing import qualified_kind

    args = ctx.args
    condition = wait_condition(args.for_condition)
    timeout = DEFAULT_WAIT if args.timeout is None else args.timeout
    targets = _wait_targets(ctx)
    if not targets and condition != "delete":  # nothing to delete is what --for=delete waits for
        raise dynkube.InvalidInput("no matching resources found")
    for rc, name, namespace in targets:
        if condition == "delete" and not _exists(rc, name, namespace):
            continue  # already gone: nothing to report, as kubectl
        try:
            dynkube.wait_for(rc, name, namespace, condition=condition, timeout=timeout)
        except dynkube.WaitTimeout:
            if condition not in ("delete", "create") and not _exists(rc, name, namespace):
                rc.get(name, namespace)  # raises NotFound, reported as kubectl reports it
            where = "" if condition == "create" else f" on {rc.plural}/{name}"
            raise dynkube.WaitTimeout(f"timed out waiting for the condition{where}") from None
        ctx.print(f"{qualified_kind(rc.api_version, rc.kind)}/{name} condition met")
    return 0


def _exists(rc: dynkube.ResourceClient, name: str, namespace: str | None) -> bool:
    try:
        rc.get(name, namespace, metadata_only=True)
    except dynkube.NotFound:
        return False
    return True



# ---- diff ------------------------------------------------------------------------------------------

EXIT_DIFF_FOUND, EXIT_DIFF_FAILED = 1, 2  # kubectl diff: 0 no differences, 1 differences, >1 an error


def diff(ctx: Context) -> int:
    """Print the diff of every object of the manifests; the exit code says whether there were any."""
    from dynkube.diff import diff_manifests

    from .context import describe_error
    from .sources import manifest_source, not_utf8

    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|-")
    diffs = []
    try:
        for source in args.filename:
            try:
                diffs += diff_manifests(ctx.client, manifest_source(source), namespace=args.namespace,
                                        field_manager=args.field_manager, force=args.force_conflicts,
                                        recursive=args.recursive)
            except UnicodeDecodeError as exc:
                raise not_utf8(source, exc) from None
    except dynkube.DynkubeError as exc:
        ctx.error(describe_error(exc))
        return EXIT_DIFF_FAILED
    failed = False
    for d in diffs:
        if d.error is not None:
            failed = True
            where = d.document.where
            message = describe_error(d.error)
            ctx.error(message if where in message else f"{message} ({where})")
        elif d.changed:
            ctx.out.write(d.unified())
    if failed:
        return EXIT_DIFF_FAILED
    return EXIT_DIFF_FOUND if any(d.changed for d in diffs) else 0


# ---- rollout -----------------------------------------------------------------------------------------

def rollout(ctx: Context) -> int:
    """rollout status|restart|history|undo on one or more objects."""
    from dynkube import rollout as lib

    from .get import parse_targets
    from .printing import qualified_kind

    args = ctx.args
    objects = []
    for target in parse_targets(ctx, args.targets):
        if not target.names:
            raise UsageError("rollout needs the objects' names: TYPE NAME... or TYPE/NAME...")
        objects += [fetch_object(ctx, target.resource, name) for name in target.names]
    for obj in objects:
        shown = f"{qualified_kind(obj.apiVersion, obj.kind)}/{obj.metadata.name}"
        if args.action == "status":
            _rollout_status(ctx, obj)
        elif args.action == "restart":
            lib.rollout_restart(ctx.client, obj)
            ctx.print(f"{shown} restarted")
        elif args.action == "history":
            _rollout_history(ctx, obj, shown)
        else:
            done = lib.rollout_undo(ctx.client, obj, to_revision=args.to_revision or 0)
            ctx.print(f"{shown} rolled back" if done is not None else
                      f"{shown} skipped rollback (current template already matches the revision)")
    return 0


def _rollout_status(ctx: Context, obj: dynkube.ApiObject) -> None:
    from dynkube import rollout as lib

    if not ctx.args.watch:
        ctx.print(lib.rollout_status(obj).message)
        return
    timeout = ctx.args.timeout or float("inf")

    def progress(status: Any) -> None:
        ctx.print(status.message)
        ctx.out.flush()

    try:
        lib.wait_for_rollout(ctx.client, obj, timeout=timeout, on_progress=progress)
    except dynkube.WaitTimeout:
        raise dynkube.WaitTimeout("timed out waiting for the condition") from None


def _rollout_history(ctx: Context, obj: dynkube.ApiObject, shown: str) -> None:
    from dynkube import rollout as lib

    history = lib.rollout_history(ctx.client, obj)
    if ctx.args.revision:
        found = next((r for r in history if r.number == ctx.args.revision), None)
        if found is None:
            raise dynkube.RolloutError(f"unable to find the specified revision {ctx.args.revision}", obj=shown)
        template = dict(found.replica_set["spec"]["template"])
        ctx.print(f"{shown} with revision #{found.number}")
        ctx.print("Pod Template:")
        ctx.out.write("".join(f"  {line}\n" for line in dump_yaml(template).splitlines()))
        return
    ctx.print(f"{shown} ")
    rows = [("REVISION", "CHANGE-CAUSE")] + [(str(r.number), r.change_cause or "<none>") for r in history]
    width = max(len(number) for number, _ in rows) + 2  # kubectl's tabwriter padding
    for number, cause in rows:
        ctx.print(f"{number:<{width}}{cause}")
    ctx.print()


# ---- cordon, uncordon, drain ---------------------------------------------------------------------------

def _node_name(spec: str) -> str:
    kind, sep, name = spec.rpartition("/")
    if sep and kind not in ("node", "nodes"):
        raise UsageError(f"expected a node name (or node/NAME), not {spec!r}")
    return name


def cordon(ctx: Context) -> int:
    from dynkube.drain import cordon as cordon_node

    for node in map(_node_name, ctx.args.nodes):
        ctx.print(f"node/{node} {'cordoned' if cordon_node(ctx.client, node) else 'already cordoned'}")
    return 0


def uncordon(ctx: Context) -> int:
    from dynkube.drain import uncordon as uncordon_node

    for node in map(_node_name, ctx.args.nodes):
        ctx.print(f"node/{node} {'uncordoned' if uncordon_node(ctx.client, node) else 'already uncordoned'}")
    return 0


def drain(ctx: Context) -> int:
    from dynkube.drain import drain as drain_node

    args = ctx.args

    def report(line: str) -> None:
        if line.startswith(("Warning:", "error when evicting")):
            ctx.error(line)
        else:
            ctx.print(line)
            ctx.out.flush()

    for node in map(_node_name, args.nodes):
        drain_node(ctx.client, node, force=args.force, ignore_daemonsets=args.ignore_daemonsets,
                   delete_emptydir_data=args.delete_emptydir_data, pod_selector=args.pod_selector,
                   grace_period_seconds=args.grace_period if args.grace_period is not None and args.grace_period >= 0
                   else None, timeout=args.timeout, report=report)
        ctx.print(f"node/{node} drained")
    return 0
