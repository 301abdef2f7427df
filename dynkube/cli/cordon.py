"""``dynkube cordon`` and its inverse ``uncordon``: mark nodes unschedulable, or schedulable again."""

from __future__ import annotations

from dynkube.drain import cordon as cordon_node
from dynkube.drain import uncordon as uncordon_node

from .context import Context
from .options import AddCommand
from .targets import node_name


def register(command: AddCommand) -> None:
    """Add ``cordon`` and ``uncordon``."""
    for name, handler, what in (("cordon", cordon, "Mark nodes unschedulable."),
                                ("uncordon", uncordon, "Mark nodes schedulable again.")):
        p = command(name, handler, what, f"examples:\n  dynkube {name} node-1")
        p.add_argument("nodes", nargs="+", metavar="NODE")
        p.set_defaults(mutates=True)


def cordon(ctx: Context) -> int:
    for node in map(node_name, ctx.args.nodes):
        ctx.print(f"node/{node} {'cordoned' if cordon_node(ctx.client, node) else 'already cordoned'}")
    return 0


def uncordon(ctx: Context) -> int:
    for node in map(node_name, ctx.args.nodes):
        ctx.print(f"node/{node} {'uncordoned' if uncordon_node(ctx.client, node) else 'already uncordoned'}")
    return 0
