"""``dynkube api-versions``: the group/versions the server serves."""

from __future__ import annotations

from .context import Context
from .options import AddCommand, add_cached_option


def register(command: AddCommand) -> None:
    """Add ``api-versions``."""
    add_cached_option(command("api-versions", api_versions, "List the group/versions the server serves."))


def api_versions(ctx: Context) -> int:
    for version in sorted({r.api_version for r in ctx.client.api_map(cached=ctx.args.cached)}):
        ctx.print(version)
    return 0
