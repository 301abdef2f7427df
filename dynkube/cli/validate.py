"""``dynkube validate``: manifests checked against the server's schemas (or a snapshot's, offline),
without sending them; over ``Client.validate``."""

from __future__ import annotations

from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error
from .flags import BoolFlag
from .options import AddCommand, add_file_options
from .printing import dump_json
from .sources import manifest_source, not_utf8


def register(command: AddCommand) -> None:
    """Add ``validate``."""
    p = command("validate", validate_command, "Check manifests against the server's schemas "
                "(or a snapshot's, offline), without sending them.",
                "examples:\n  dynkube validate -f manifests/ -R\n"
                "  dynkube validate -f manifests/ --snapshot prod.snap -o json")
    add_file_options(p)
    p.add_argument("--strict", action=BoolFlag, default=True,
                   help="flag unknown fields, as the server's fieldValidation=Strict (default true)")
    p.add_argument("-o", "--output", choices=("json",), help="json: {documents, problems: [{file, index, kind, "
                   "name, path, message}]}")


def _problems(client: dynkube.Client, doc: dynkube.Document, strict: bool) -> list[dict[str, Any]]:
    """Every problem of one document, as the entries of ``validate -o json``."""
    body = doc.body or {}
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    entry = {"file": doc.source, "index": doc.index, "kind": body.get("kind"), "name": (metadata or {}).get("name")}
    if doc.error is not None:
        return [{**entry, "path": "", "message": str(doc.error).removeprefix(f"{doc.where}: ")}]
    try:
        issues = client.validate(body, strict=strict)
    except dynkube.DynkubeError as exc:
        return [{**entry, "path": "", "message": describe_error(exc).removeprefix("error: ")}]
    return [{**entry, "path": issue.path, "message": issue.message} for issue in issues]


def validate_command(ctx: Context) -> int:
    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|- with the manifests to validate")
    problems: list[dict[str, Any]] = []
    documents = 0
    for source in args.filename:
        try:
            loaded = dynkube.load_documents(manifest_source(source), recursive=args.recursive)
        except UnicodeDecodeError as exc:
            raise not_utf8(source, exc) from None
        for doc in loaded:
            documents += 1
            problems += _problems(ctx.client, doc, args.strict)
    if args.output == "json":
        ctx.out.write(dump_json({"documents": documents, "problems": problems}))
    else:
        for p in problems:
            subject = f"{p['file']} document {p['index'] + 1}" + (f" ({str(p['kind']).lower()}/{p['name']})"
                                                                  if p["kind"] and p["name"] else "")
            ctx.error(f"{subject}: {p['path'] + ': ' if p['path'] else ''}{p['message']}")
        invalid = len({(p["file"], p["index"]) for p in problems})
        ctx.print(f"{documents - invalid} of {documents} document(s) valid")
    if problems:
        raise CommandFailed
    return 0
