"""``dynkube rollout status|restart|history|undo``, over ``dynkube.rollout``."""

from __future__ import annotations

from typing import Any

import dynkube
from dynkube import rollout as lib

from .context import Context, UsageError
from .flags import BoolFlag
from .get import parse_targets
from .options import AddCommand, duration
from .printing import dump_yaml, qualified_kind
from .targets import fetch_object


def register(command: AddCommand) -> None:
    """Add ``rollout``."""
    p = command("rollout", rollout, "Follow, restart, list or undo the rollout of an object.",
                "examples:\n  dynkube rollout status deploy/web --timeout=2m\n  dynkube rollout restart sts db\n"
                "  dynkube rollout history deploy/web\n  dynkube rollout undo deploy/web --to-revision=1")
    p.add_argument("action", choices=("status", "restart", "history", "undo"), help="what to do")
    p.add_argument("targets", nargs="+", metavar="TYPE NAME... | TYPE/NAME...")
    p.add_argument("--timeout", type=duration, metavar="DURATION",
                   help="status: how long to wait (default: no limit)")
    p.add_argument("-w", "--watch", action=BoolFlag, default=True,
                   help="status: follow until complete (default true); false: print the status once")
    p.add_argument("--revision", type=int, metavar="N", help="history: show this revision's pod template")
    p.add_argument("--to-revision", type=int, metavar="N", help="undo: the revision to go back to (default: previous)")


def rollout(ctx: Context) -> int:
    """rollout status|restart|history|undo on one or more objects."""
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
