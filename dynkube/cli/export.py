"""The ``export`` and ``import`` commands: a thin layer over ``dynkube.export``."""

from __future__ import annotations

from typing import TextIO

import dynkube
from dynkube.export import ExportProgress, ExportResult, Layout, export, import_export

from .apply import apply_line
from .context import CommandFailed, Context, UsageError
from .flags import ValueAfterEquals
from .options import AddCommand
from .printing import paint


def register(command: AddCommand) -> None:
    """Add ``export`` and its inverse, ``import``."""
    p = command("export", export_command, "Write objects as clean YAML that applies again (backup, migration).",
                "examples:\n  dynkube export backup/ -n web\n  dynkube export backup/ -A --include-secrets\n"
                "  dynkube export - -n web --kinds deploy,svc,cm > web.yaml")
    p.add_argument("output", metavar="DIR|FILE|-", help="directory to write (empty or absent), or a file with "
                   "--layout=stream, or '-' for the standard output")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace and cluster-scoped kind")
    p.add_argument("--kinds", action="append", default=[], metavar="KINDS",
                   help="only these kinds (comma-separated; default rules do not apply to them)")
    p.add_argument("--exclude-kinds", action="append", default=[], metavar="KINDS",
                   help="leave these kinds out (comma-separated)")
    p.add_argument("-l", "--selector", metavar="SELECTOR", help="only objects matching this label selector")
    p.add_argument("--layout", choices=("tree", "stream"), default="tree",
                   help="tree: NAMESPACE/GROUP/KIND/NAME.yaml (default); stream: one multi-document file")
    p.add_argument("--include-secrets", action="store_true", help="export Secrets too (files written 0600)")
    p.add_argument("--include-owned", action="store_true",
                   help="also objects owned by another exported object (e.g. a Deployment's Pods)")
    p.add_argument("--include-managed", action="store_true",
                   help="also objects the control plane makes and keeps itself (see docs/export.md)")

    p = command("import", import_command, "Apply an export (to this or another cluster or namespace).",
                "examples:\n  dynkube import backup/\n  dynkube import backup/ -n web-copy\n"
                "  dynkube import web.yaml --dry-run=server")
    p.set_defaults(mutates=True)
    p.add_argument("source", metavar="DIR|FILE", help="an export directory or stream file")
    p.add_argument("--field-manager", default="dynkube", metavar="NAME", help="field manager (default dynkube)")
    p.add_argument("--force-conflicts", action="store_true", help="take over fields owned by other managers")
    p.add_argument("--dry-run", action=ValueAfterEquals, const="server", choices=("none", "server"),
                   help="'server': the server checks and answers without persisting")


def _names(specs: list[str]) -> list[str]:
    return [name.strip() for spec in specs for name in spec.split(",") if name.strip()]


class _Progress:
    """One line on a terminal's stderr, rewritten in place; nothing when stderr is not a terminal."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.enabled = hasattr(err, "isatty") and err.isatty()
        self.shown = False

    def show(self, text: str) -> None:
        if self.enabled:
            self.err.write(f"\r{text}\x1b[K")
            self.err.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False


def export_command(ctx: Context) -> int:
    args = ctx.args
    if args.all_namespaces and args.namespace:
        raise UsageError("give either -n NAMESPACE or -A, not both")
    layout = Layout.STREAM if args.output == "-" else Layout(args.layout)
    progress = _Progress(ctx.err)

    def report(step: ExportProgress) -> None:
        progress.show(f"[{step.kinds_done}/{step.kinds_total} kinds] {step.objects} objects written")

    target = ctx.out if args.output == "-" else args.output
    try:
        result = export(ctx.client, target, namespace=None if args.all_namespaces else ctx.namespace,
                        all_namespaces=args.all_namespaces, kinds=_names(args.kinds),
                        exclude_kinds=_names(args.exclude_kinds), label_selector=args.selector, layout=layout,
                        include_secrets=args.include_secrets, include_owned=args.include_owned,
                        include_managed=args.include_managed, on_progress=report)
    finally:
        progress.clear()
    summary = ctx.err if args.output == "-" else ctx.out
    summary.write(_summary(result, args.output) + "\n")
    for failure in result.failures:
        ctx.error(paint(f"error: cannot export {failure}", "red", ctx.err_colour))
    if not result.ok:
        ctx.error(f"error: {len(result.failures)} kind(s) failed; the rest was written")
        raise CommandFailed
    return 0


def _summary(result: ExportResult, output: str) -> str:
    where = "the standard output" if output == "-" else output
    line = f"exported {result.objects} object(s) of {result.kinds} kind(s) to {where}"
    if result.skipped:
        line += " (left out: " + ", ".join(f"{n} {reason}" for reason, n in sorted(result.skipped.items())) + ")"
    if "secrets" in result.kinds_left_out:
        line += "; secrets were not exported (--include-secrets)"
    return line


def import_command(ctx: Context) -> int:
    args = ctx.args
    dry_run = args.dry_run == "server"
    counts: dict[str, int] = {}

    def report(result: dynkube.ApplyResult, done: int, total: int) -> None:
        ok, line = apply_line(result, dry_run)
        action = result.action if ok else "failed"
        counts[action] = counts.get(action, 0) + 1
        if ok:
            ctx.print(line)
        else:
            ctx.error(paint(line, "red", ctx.err_colour))
        ctx.out.flush()

    results = import_export(ctx.client, args.source, namespace=args.namespace, dry_run=dry_run,
                            field_manager=args.field_manager, force=args.force_conflicts, on_result=report)
    if not results:
        raise dynkube.ManifestError(f"{args.source} holds no objects to import")
    ctx.print(", ".join(f"{n} {action}" for action, n in sorted(counts.items())))
    if counts.get("failed"):
        ctx.error(f"error: {counts['failed']} of {len(results)} object(s) failed")
        raise CommandFailed
    return 0
