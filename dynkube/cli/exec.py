"""``dynkube exec POD [-c C] [-i] [-t] -- CMD...``: over ``Client.exec_stream``."""

from __future__ import annotations

from .context import Context, UsageError
from .options import AddCommand
from .pods import add_stream_options, pod_and_container
from .terminal import run_interactive, tty_needs_stdin


def register(command: AddCommand) -> None:
    """Add ``exec``."""
    p = command("exec", exec_command, "Run a command in a container; its exit code becomes dynkube's.",
                "examples:\n  dynkube exec web-0 -- ls /\n  dynkube exec -it deploy/web -c app -- sh")
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or a workload (deploy/web, svc/web) to pick one of")
    p.add_argument("cmd", nargs="*", metavar="-- COMMAND [ARG...]", help="the command and its arguments")
    add_stream_options(p)


def exec_command(ctx: Context) -> int:
    """``dynkube exec POD [-c C] [-i] [-t] -- CMD...``: the command's exit code becomes ours."""
    command = ctx.args.cmd[1:] if ctx.args.cmd[:1] == ["--"] else ctx.args.cmd
    if not command:
        raise UsageError("you must specify at least one command for the container")
    pod, container = pod_and_container(ctx, ctx.args.pod)
    tty_needs_stdin(ctx)
    stream = ctx.client.exec_stream(pod, command, ctx.namespace, container=container, stdin=ctx.args.stdin,
                                    tty=ctx.args.tty)
    return run_interactive(ctx, stream)
