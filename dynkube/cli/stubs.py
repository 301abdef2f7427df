"""The ``stubs`` command: a thin layer over ``dynkube.stubs.generate_stubs``."""

from __future__ import annotations

from dynkube.stubs import generate_stubs

from .context import Context


def stubs_command(ctx: Context) -> int:
    args = ctx.args
    result = generate_stubs(ctx.client, args.output, args.kinds, package=args.package)
    for skipped in result.skipped:
        ctx.error(f"warning: not typed: {skipped}")
    ctx.print(f"wrote TypedDicts of {len(result.kinds)} kind(s) to {result.package}")
    return 0
