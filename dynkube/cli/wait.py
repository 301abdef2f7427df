"""``dynkube wait``: until objects of any kind meet a condition, in kubectl's --for forms."""

from __future__ import annotations

import dynkube

from .context import Context, UsageError
from .get import parse_targets
from .options import AddCommand, duration
from .printing import qualified_kind


def register(command: AddCommand) -> None:
    """Add ``wait``."""
    p = command("wait", wait, "Wait until objects of any kind meet a condition.",
                "examples:\n  dynkube wait --for=condition=Available deploy/web\n"
                "  dynkube wait --for=delete pod/web-1 --timeout=60s\n"
                "  dynkube wait --for=jsonpath='{.status.phase}'=Running pods -l app=web\n"
                "  dynkube wait --for=condition=Ready=false gizmos --all")
    p.add_argument("targets", nargs="+", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    p.add_argument("--for", dest="for_condition", required=True, metavar="CONDITION",
                   help="delete, create, condition=TYPE[=STATUS] or jsonpath={PATH}[=VALUE]")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="wait for the objects matching this label selector")
    p.add_argument("--all", action="store_true", help="wait for every object of the type in the namespace")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="with -l/--all: in every namespace")
    p.add_argument("--timeout", type=duration, metavar="DURATION",
                   help="how long to wait for each object (default 30s; 0: check once)")


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
