"""``dynkube snapshot save``: what the server serves, to a file for offline use with ``--snapshot FILE``
(over ``dynkube.snapshot``)."""

from __future__ import annotations

from dynkube.snapshot import save_snapshot

from .context import Context, UsageError
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``snapshot``."""
    p = command("snapshot", snapshot_command, "Save what the server serves (discovery, OpenAPI schemas, "
                "version) to a file, for offline use with --snapshot.",
                "examples:\n  dynkube snapshot save cluster.snap\n"
                "  dynkube --snapshot cluster.snap explain deploy.spec.strategy")
    p.add_argument("action", choices=("save",), help="save: record the live server")
    p.add_argument("file", metavar="FILE", help="the snapshot file to write")


def snapshot_command(ctx: Context) -> int:
    args = ctx.args
    if args.snapshot:
        raise UsageError("snapshot save records a live server: do not give --snapshot")
    saved = save_snapshot(ctx.client, args.file)
    ctx.print(f"saved a snapshot of {saved['server']} ({saved['version']}): discovery, {saved['schemas']} "
              f"OpenAPI documents, {saved['bytes'] // 1024} KiB to {args.file}")
    return 0
