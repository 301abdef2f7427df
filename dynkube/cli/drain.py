"""``dynkube drain``: cordon nodes and evict their pods, honouring PodDisruptionBudgets."""

from __future__ import annotations

from dynkube.drain import drain as drain_node

from .context import Context
from .options import AddCommand, duration
from .targets import node_name


def register(command: AddCommand) -> None:
    """Add ``drain``."""
    p = command("drain", drain, "Cordon nodes and evict their pods (honouring PodDisruptionBudgets).",
                "examples:\n  dynkube drain node-1 --ignore-daemonsets\n"
                "  dynkube drain node-1 --force --delete-emptydir-data --timeout=5m")
    p.add_argument("nodes", nargs="+", metavar="NODE")
    p.set_defaults(mutates=True)
    p.add_argument("--force", action="store_true", help="also evict pods that declare no controller")
    p.add_argument("--ignore-daemonsets", action="store_true", help="leave DaemonSet-managed pods (else refused)")
    p.add_argument("--delete-emptydir-data", action="store_true",
                   help="also evict pods with emptyDir volumes (their data is lost)")
    p.add_argument("--pod-selector", metavar="SELECTOR", help="only the pods matching this label selector")
    p.add_argument("--grace-period", type=int, default=-1, metavar="SECONDS",
                   help="seconds each pod gets to terminate (default: the pod's own)")
    p.add_argument("--timeout", type=duration, metavar="DURATION", help="give up after this long (default: no limit)")


def drain(ctx: Context) -> int:
    args = ctx.args

    def report(line: str) -> None:
        if line.startswith(("Warning:", "error when evicting")):
            ctx.error(line)
        else:
            ctx.print(line)
            ctx.out.flush()

    for node in map(node_name, args.nodes):
        drain_node(ctx.client, node, force=args.force, ignore_daemonsets=args.ignore_daemonsets,
                   delete_emptydir_data=args.delete_emptydir_data, pod_selector=args.pod_selector,
                   grace_period_seconds=args.grace_period if args.grace_period is not None and args.grace_period >= 0
                   else None, timeout=args.timeout, report=report)
        ctx.print(f"node/{node} drained")
    return 0
