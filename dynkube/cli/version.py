"""``dynkube version``: the client's version, and the server's."""

from __future__ import annotations

import platform
import sys
from typing import Any

import dynkube

from .context import Context
from .options import AddCommand
from .printing import dump_json, dump_yaml


def register(command: AddCommand) -> None:
    """Add ``version``."""
    p = command("version", version, "Show the client and server versions.")
    p.add_argument("--client", action="store_true", help="client version only (no server request)")
    p.add_argument("-o", "--output", choices=("json", "yaml"), help="output format")


def client_version() -> dict[str, str]:
    return {"gitVersion": f"v{dynkube.__version__}", "pythonVersion": platform.python_version(),
            "platform": f"{sys.platform}/{platform.machine().lower()}"}


def version(ctx: Context) -> int:
    document: dict[str, Any] = {"clientVersion": client_version()}
    server_error = None
    if not ctx.args.client:
        try:
            document["serverVersion"] = dict(ctx.client.version())
        except dynkube.DynkubeError as exc:
            server_error = exc
    if ctx.args.output == "json":
        ctx.out.write(dump_json(document))
    elif ctx.args.output == "yaml":
        ctx.out.write(dump_yaml(document))
    else:
        ctx.print(f"Client Version: {document['clientVersion']['gitVersion']}")
        if "serverVersion" in document:
            ctx.print(f"Server Version: {document['serverVersion'].get('gitVersion', '?')}")
    if server_error is not None:
        raise server_error
    return 0
