"""``dynkube delete``: by type and name, selector, or manifests; then waits for the objects to be gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error, one_line
from .flags import BoolFlag, ValueAfterEquals
from .get import is_type_name, resolve_types
from .options import AddCommand, add_file_options, duration
from .printing import qualified_kind
from .raw import add_raw_option, unless_raw
from .sources import read_manifests


def register(command: AddCommand) -> None:
    """Add ``delete``."""
    p = command("delete", unless_raw(delete), "Delete objects by type and name, selector, or manifests.",
                "examples:\n  dynkube delete configmap cfg1 cfg2\n  dynkube delete -f stack.yaml\n"
                "  dynkube delete deploy web --cascade=foreground --wait=false\n"
                "  dynkube delete --raw /api/v1/namespaces/web/configmaps/cfg1")
    add_raw_option(p)
    p.add_argument("targets", nargs="*", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    add_file_options(p)
    p.set_defaults(mutates=True)
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="delete the objects matching this label selector")
    p.add_argument("--field-selector", metavar="SELECTOR", help="delete the objects matching this field selector")
    p.add_argument("--all", action="store_true", help="delete every object of the type in the namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with -l/--all: in every namespace")
    p.add_argument("--cascade", action=ValueAfterEquals, const="background",
                   choices=("background", "foreground", "orphan", "true", "false"),
                   help="what happens to dependents (default background)")
    p.add_argument("--wait", action=BoolFlag, default=True,
                   help="wait until the objects are gone (default true)")
    p.add_argument("--timeout", type=duration, metavar="DURATION", help="how long --wait waits (default: no limit)")
    p.add_argument("--grace-period", type=int, metavar="SECONDS", help="seconds the objects get to terminate")
    p.add_argument("--ignore-not-found", action="store_true", help="objects already gone are not an error")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks the deletion without doing it")


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
