"""``dynkube explain``: a kind or one of its fields, from the server's schema."""

from __future__ import annotations

from .context import Context
from .options import AddCommand


def register(command: AddCommand) -> None:
    """Add ``explain``."""
    p = command("explain", explain, "Describe a kind or one of its fields, from the server's schema.",
                "examples:\n  dynkube explain deployment.spec.strategy\n  dynkube explain gizmos --recursive")
    p.add_argument("path", metavar="RESOURCE[.field.path]")
    p.add_argument("--recursive", action="store_true", help="every nested field")
    p.add_argument("--api-version", metavar="GROUP/VERSION", help="explain this version of the kind")


def explain(ctx: Context) -> int:
    text = ctx.client.explain(ctx.args.path, recursive=ctx.args.recursive, api_version=ctx.args.api_version).render()
    ctx.out.write(text if text.endswith("\n") else text + "\n")
    return 0
