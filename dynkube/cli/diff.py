"""``dynkube diff``: what applying manifests would change (a server-side dry run), as kubectl diff."""

from __future__ import annotations

import dynkube
from dynkube.diff import diff_manifests

from .context import Context, UsageError, describe_error
from .options import AddCommand, add_file_options
from .sources import manifest_source, not_utf8


def register(command: AddCommand) -> None:
    """Add ``diff``."""
    p = command("diff", diff, "Show what applying manifests would change (server-side dry run).",
                "exit status: 0 no differences, 1 differences found, 2 an error\n"
                "examples:\n  dynkube diff -f stack.yaml\n  dynkube diff -f manifests/ -R")
    add_file_options(p)
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="diff as if taking over conflicting fields")


EXIT_DIFF_FOUND, EXIT_DIFF_FAILED = 1, 2  # kubectl diff: 0 no differences, 1 differences, >1 an error


def diff(ctx: Context) -> int:
    """Print the diff of every object of the manifests; the exit code says whether there were any."""
    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|-")
    diffs = []
    try:
        for source in args.filename:
            try:
                diffs += diff_manifests(ctx.client, manifest_source(source), namespace=args.namespace,
                                        field_manager=args.field_manager, force=args.force_conflicts,
                                        recursive=args.recursive)
            except UnicodeDecodeError as exc:
                raise not_utf8(source, exc) from None
    except dynkube.DynkubeError as exc:
        ctx.error(describe_error(exc))
        return EXIT_DIFF_FAILED
    failed = False
    for d in diffs:
        if d.error is not None:
            failed = True
            where = d.document.where
            message = describe_error(d.error)
            ctx.error(message if where in message else f"{message} ({where})")
        elif d.changed:
            ctx.out.write(d.unified())
    if failed:
        return EXIT_DIFF_FAILED
    return EXIT_DIFF_FOUND if any(d.changed for d in diffs) else 0
