"""``dynkube describe``: the details of objects of any kind, and their events."""

from __future__ import annotations

import dynkube
from dynkube.descriptions import describe as describe_object

from .context import Context, UsageError
from .get import parse_targets
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``describe``."""
    p = command("describe", describe, "Show the details of objects of any kind, and their events.",
                "examples:\n  dynkube describe deploy web\n  dynkube describe pods -l app=web\n"
                "  dynkube describe gizmo/g1")
    p.add_argument("targets", nargs="+", metavar="RESOURCE [NAME...] | TYPE/NAME...")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="describe the objects matching this label selector")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="objects of every namespace")


def describe(ctx: Context) -> int:
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
