"""``dynkube apply``: server-side apply of manifests, one line per object, as kubectl's."""

from __future__ import annotations

import dynkube

from .context import CommandFailed, Context, UsageError, describe_error
from .flags import BoolFlag, ValueAfterEquals
from .options import AddCommand, add_file_options
from .printing import paint, qualified_kind
from .progress import Progress
from .sources import manifest_source, not_utf8


def register(command: AddCommand) -> None:
    """Add ``apply``."""
    p = command("apply", apply, "Create or update objects from manifests (server-side apply).",
                "examples:\n  dynkube apply -f stack.yaml\n  dynkube apply -f manifests/ -R --dry-run=server\n"
                "  cat app.yaml | dynkube apply -f - --field-manager=ci --force-conflicts")
    add_file_options(p)
    p.set_defaults(mutates=True)
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="take over fields owned by other managers")
    p.add_argument("--server-side", action=BoolFlag, default=True,
                   help="accepted as kubectl's: dynkube always applies server-side (false is refused)")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server", "client"),
                   help="'server': the server checks and answers without persisting")
    p.add_argument("--validate", action=ValueAfterEquals, const="true", metavar="MODE",
                   choices=("true", "false", "strict", "warn", "ignore"),
                   help="true: check each object against the server's schema before sending; "
                        "strict (default)/warn/ignore: the server's field validation")


def _field_validation(mode: str | None) -> tuple[bool, str]:
    """(client-side schema check, server field validation) of ``--validate``."""
    if mode in (None, "strict"):
        return False, "Strict"
    if mode == "true":
        return True, "Strict"
    return False, {"warn": "Warn", "ignore": "Ignore", "false": "Ignore"}[mode]


def apply_line(result: dynkube.ApplyResult, dry_run: bool) -> tuple[bool, str]:
    """(ok, line) for one apply result: ``kind.group/name created`` or ``... failed: reason``."""
    obj = result.object or result.document.body or {}
    metadata = obj.get("metadata") or {}
    name = f"{qualified_kind(str(obj.get('apiVersion') or ''), str(obj.get('kind') or 'object'))}/" \
           f"{metadata.get('name') or '?'}" if obj else ""
    if result.error is None:
        return True, f"{name} {result.action}" + (" (server dry run)" if dry_run else "")
    where = result.document.where
    reason = describe_error(result.error).removeprefix("error: ").removeprefix(f"{where}: ")
    subject = f"{name} ({where})" if name else where
    return False, f"{subject} failed: {reason}"


def apply(ctx: Context) -> int:
    args = ctx.args
    if not args.filename:
        raise UsageError("must specify -f FILE|DIR|URL|- with the manifests to apply")
    if not args.server_side:
        raise UsageError("--server-side=false (client-side apply) is not supported: dynkube always applies "
                         "server-side")
    if args.dry_run == "client":
        raise UsageError("--dry-run=client is not supported (dynkube applies on the server); use --dry-run=server")
    dry_run = args.dry_run == "server"
    validate, field_validation = _field_validation(args.validate)
    progress = Progress(ctx)
    outcome = {"failed": 0, "total": 0}

    def report(result: dynkube.ApplyResult, done: int, total: int) -> None:
        progress.clear()
        ok, line = apply_line(result, dry_run)
        if ok:
            colour = {"created": "green", "configured": "yellow"}.get(result.action, "")
            action = result.action
            ctx.print(line.replace(f" {action}", " " + paint(action, colour, ctx.colour), 1) if colour else line)
        else:
            outcome["failed"] += 1
            ctx.error(paint(line, "red", ctx.err_colour))
        outcome["total"] += 1
        ctx.out.flush()  # line by line: a reader that goes away stops the apply there (exit 141)
        progress.show(done, total)

    for source in args.filename:
        try:
            dynkube.apply_manifests(
                ctx.client, manifest_source(source), namespace=args.namespace, field_manager=args.field_manager,
                force=args.force_conflicts, dry_run=dry_run, field_validation=field_validation, validate=validate,
                recursive=args.recursive, on_result=report, on_progress=progress.stage, collect=False,
                wait_for_crds="used")
        except UnicodeDecodeError as exc:
            raise not_utf8(source, exc) from None
    progress.clear()
    if not outcome["total"]:
        raise dynkube.ManifestError("no objects passed to apply")
    if outcome["failed"]:
        ctx.error(f"error: {outcome['failed']} of {outcome['total']} object(s) failed")
        raise CommandFailed
    return 0
