"""``get --raw``, ``create --raw`` and ``delete --raw``: one request to a path, over ``Client.request``,
the answer's body written as it comes (line by line, so ``?watch=true`` streams), as kubectl does."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import dynkube

from .context import Context, UsageError

Handler = Callable[[Context], "int | None"]
METHODS = {"get": "GET", "create": "POST", "delete": "DELETE"}


def add_raw_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", metavar="PATH", help="send one request to this path of the server (e.g. /readyz) "
                                                 "and print the answer as it is")


def unless_raw(handler: Handler) -> Handler:
    """The command's handler, or the raw request when ``--raw`` is given."""
    def run(ctx: Context) -> int | None:
        if ctx.args.raw is None:
            return handler(ctx)
        return raw_request(ctx)

    return run


def raw_request(ctx: Context) -> int:
    args = ctx.args
    method = METHODS[args.command]
    if getattr(args, "targets", None):
        raise UsageError("arguments may not be passed when --raw is specified")
    files = getattr(args, "filename", [])
    if method == "POST" and len(files) != 1:
        raise UsageError("--raw needs exactly one -f FILE (or -f - for standard input) with the body to send")
    if len(files) > 1:
        raise UsageError("--raw takes at most one -f FILE")
    body = _read_body(files[0]) if files else None
    lines = ctx.client.request(method, args.raw, body=body, accept="lines")
    try:
        for line in lines:
            ctx.out.write(line)
            ctx.out.flush()
    finally:
        lines.close()
    return 0


def _read_body(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    if dynkube.is_manifest_url(source):
        raise UsageError("--raw takes the body from a file or standard input, not a URL")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise dynkube.ManifestError(f"cannot read {source!r}: {exc.strerror}", source=source) from None
