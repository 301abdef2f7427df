"""``dynkube port-forward TYPE/NAME [LOCAL:]REMOTE...``: over ``Client.port_forward``, until interrupted."""

from __future__ import annotations

import signal
import threading

import dynkube

from .context import Context
from .options import AddCommand
from .pods import running_pod
from .terminal import stop_on


def register(command: AddCommand) -> None:
    """Add ``port-forward``."""
    p = command("port-forward", port_forward_command,
                "Forward local ports to a pod (or a pod of a Service or workload) until interrupted.",
                "examples:\n  dynkube port-forward pod/web-0 8080:80\n  dynkube port-forward svc/web :80\n"
                "  dynkube port-forward deploy/web 5000 6000:6001 --address 0.0.0.0")
    p.add_argument("target", metavar="POD|TYPE/NAME", help="pod/NAME, svc/NAME, deploy/NAME, ...")
    p.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE", help="ports to forward (LOCAL 0 or empty: a free one)")
    p.add_argument("--address", default="127.0.0.1", metavar="ADDRESS", help="local address to listen on")


def port_forward_command(ctx: Context) -> int:
    """``dynkube port-forward TYPE/NAME [LOCAL:]REMOTE...``: forward until interrupted."""
    specs: list[str | int | tuple[int, int]] = list(dynkube.port_pairs(ctx.args.ports))
    pod = running_pod(dynkube.attachable_pod(ctx.client, ctx.args.target, ctx.namespace), "forward port")
    kind, slash, name = ctx.args.target.partition("/")
    if slash and ctx.client.resource(kind).resource.kind == "Service":
        service = ctx.client.resource("services").get(name, ctx.namespace)
        specs = [(local, dynkube.service_target_port(service, pod, remote))
                 for local, remote in dynkube.port_pairs(specs)]
    stop = threading.Event()
    with ctx.client.port_forward(pod.metadata.name, specs, ctx.namespace, address=ctx.args.address) as forwarder:
        for local, remote in forwarder.forwarded:
            ctx.print(f"Forwarding from {ctx.args.address}:{local} -> {remote}")
        ctx.out.flush()
        with stop_on(signal.SIGTERM, stop):
            stop.wait()
    return 0
