"""The ``stubs`` command: a thin layer over ``dynkube.stubs.generate_stubs``."""

from __future__ import annotations

from dynkube.stubs import generate_stubs

from .context import Context
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``stubs``."""
    p = command("stubs", stubs_command, "Generate a package of TypedDicts for kinds the server serves "
                "(from its OpenAPI v3 schemas), for type checkers.",
                "examples:\n  dynkube stubs --output typings/ certificates.cert-manager.io deployments\n"
                "  dynkube --snapshot prod.snap stubs --output typings/")
    p.add_argument("kinds", nargs="*", metavar="KIND", help="kinds to type (default: every kind served)")
    p.add_argument("--output", required=True, metavar="DIR", help="directory to write the package into")
    p.add_argument("--package", default="dynkube_stubs", metavar="NAME", help="package name (default dynkube_stubs)")


def stubs_command(ctx: Context) -> int:
    args = ctx.args
    result = generate_stubs(ctx.client, args.output, args.kinds, package=args.package)
    for skipped in result.skipped:
        ctx.error(f"warning: not typed: {skipped}")
    ctx.print(f"wrote TypedDicts of {len(result.kinds)} kind(s) to {result.package}")
    return 0
