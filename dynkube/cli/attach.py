"""``dynkube attach POD [-c C] [-i] [-t]``: over ``Client.attach``."""

from __future__ import annotations

from .context import Context
from .options import AddCommand
from .pods import add_stream_options, pod_and_container
from .terminal import run_interactive, tty_needs_stdin


def register(command: AddCommand) -> None:
    """Add ``attach``."""
    p = command("attach", attach_command, "Attach to the main process of a running container.",
                "examples:\n  dynkube attach web-0\n  dynkube attach -it web-0 -c app")
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or a workload (deploy/web, svc/web) to pick one of")
    add_stream_options(p)


def attach_command(ctx: Context) -> int:
    """``dynkube attach POD [-c C] [-i] [-t]``: the container's output until it ends (or Ctrl-C)."""
    pod, container = pod_and_container(ctx, ctx.args.pod)
    tty_needs_stdin(ctx)
    stream = ctx.client.attach(pod, ctx.namespace, container=container, stdin=ctx.args.stdin, tty=ctx.args.tty)
    return run_interactive(ctx, stream)
