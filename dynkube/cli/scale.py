"""``dynkube scale``: set the replicas of objects of any kind through their ``scale`` subresource."""

from __future__ import annotations

import dynkube

from .changes import add_change_options, one_type, print_result, selected_objects
from .context import CommandFailed, Context, UsageError
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``scale``."""
    p = command("scale", scale, "Set the replicas of objects of any kind with a scale subresource.",
                "examples:\n  dynkube scale deploy web --replicas=3\n  dynkube scale gizmo/g1 --replicas=0\n"
                "  dynkube scale deploy web --current-replicas=3 --replicas=1")
    add_change_options(p)
    p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME...")
    p.add_argument("--replicas", type=int, required=True, metavar="N", help="the new number of replicas")
    p.add_argument("--current-replicas", type=int, metavar="N", help="only if the replicas are now N")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="the objects matching this label selector")
    p.add_argument("--all", action="store_true", help="every object of the type in the namespace")


def scale(ctx: Context) -> int:
    args = ctx.args
    if args.replicas < 0:
        raise UsageError("--replicas must be 0 or more")
    [target] = one_type(ctx, args.targets, "scale")
    if not any(s.name == "scale" for s in target.resource.resource.subresources):
        raise dynkube.InvalidInput(f"{target.resource.plural} has no scale subresource: its objects cannot be scaled")
    rc = target.resource
    for obj in selected_objects(ctx, target, "scale"):
        name, namespace = obj.metadata.name, obj.metadata.get("namespace")
        if args.current_replicas is not None:
            current = rc.get(name, namespace, subresource="scale").get("spec", {}).get("replicas", 0)
            if current != args.current_replicas:
                ctx.error(f"error: Expected replicas to be {args.current_replicas}, was {current}")
                raise CommandFailed()
        rc.patch(name, {"spec": {"replicas": args.replicas}}, namespace, patch_type="merge", subresource="scale",
                 dry_run=args.dry_run == "server")
        print_result(ctx, dict(obj), "scaled")
    return 0
