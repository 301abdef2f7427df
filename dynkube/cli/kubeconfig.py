"""``dynkube config ...``: the kubeconfig commands, over ``dynkube.KubeconfigFiles`` (files only, no server)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import dynkube

from .context import CommandFailed, Context, UsageError
from .jsonpath import JSONPathError, Template
from .options import AddCommand, add_global_options
from .parsing import CommandParser
from .printing import dump_json, dump_yaml, format_table


def register(command: AddCommand) -> None:
    """Add ``config`` and its subcommands."""
    config = command("config", _no_subcommand, "Show and change kubeconfig files (contexts, the merged view).",
                     "examples:\n  dynkube config get-contexts\n  dynkube config use-context staging\n"
                     "  dynkube config set-context --current --namespace=web\n  dynkube config view --minify")
    sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=CommandParser)

    def subcommand(name: str, handler: Callable[[Context], int | None], help_text: str,
                   **options: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, **options)
        add_global_options(p, False)
        p.set_defaults(handler=handler, command=f"config {name}")
        return p

    p = subcommand("get-contexts", get_contexts, "List the contexts (* marks the current one).")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these contexts")
    p.add_argument("-o", "--output", choices=("name",), help="'name': names only")
    p.add_argument("--no-headers", action="store_true", help="omit the header line")
    subcommand("current-context", current_context, "Print the current context.")
    p = subcommand("use-context", use_context, "Make a context the current one.")
    p.add_argument("name", metavar="NAME")
    p = subcommand("set-context", set_context, "Set a context's namespace, cluster or user (creating the context "
                   "if it does not exist).", conflict_handler="resolve")  # its --namespace is the context's
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--current", action="store_true", help="the current context")
    p.add_argument("--namespace", dest="context_namespace", metavar="NS", help="the context's namespace")
    p.add_argument("--cluster", metavar="NAME", help="the context's cluster entry")
    p.add_argument("--user", metavar="NAME", help="the context's user entry")
    p = subcommand("view", view, "Show the merged kubeconfig (certificate, key and token data redacted).")
    p.add_argument("--minify", action="store_true", help="only the current (or --context) context and its entries")
    p.add_argument("--flatten", action="store_true", help="certificate and key files read into their -data fields")
    p.add_argument("--raw", action="store_true", help="show certificate, key and token data as they are")
    p.add_argument("-o", "--output", default="yaml", metavar="FORMAT", help="yaml (default), json or "
                   "jsonpath=TEMPLATE")


def _no_subcommand(ctx: Context) -> int:
    raise UsageError("config needs a subcommand: get-contexts, current-context, use-context, set-context or view")


def _files(ctx: Context) -> dynkube.KubeconfigFiles:
    return dynkube.KubeconfigFiles.load(ctx.args.kubeconfig or None)


def get_contexts(ctx: Context) -> int:
    contexts = _files(ctx).contexts()
    wanted = set(ctx.args.names)
    shown = [c for c in contexts if not wanted or c.name in wanted]
    if ctx.args.output == "name":
        for c in shown:
            ctx.print(c.name)
    else:
        rows = [["*" if c.current else "", c.name, c.cluster, c.user, c.namespace] for c in shown]
        headers = None if ctx.args.no_headers else ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
        for line in format_table(headers, rows):
            ctx.print(line)
    missing = sorted(wanted - {c.name for c in contexts})
    for name in missing:
        ctx.error(f"error: context {name} not found")
    if missing:
        raise CommandFailed
    return 0


def current_context(ctx: Context) -> int:
    name = ctx.args.context or _files(ctx).current_context
    if not name:
        ctx.error("error: current-context is not set")
        raise CommandFailed
    ctx.print(name)
    return 0


def use_context(ctx: Context) -> int:
    _files(ctx).use_context(ctx.args.name)
    ctx.print(f'Switched to context "{ctx.args.name}".')
    return 0


def set_context(ctx: Context) -> int:
    args = ctx.args
    files = _files(ctx)
    if args.current and args.name:
        raise UsageError("give either a context name or --current, not both")
    name = files.current_context if args.current else args.name
    if not name:
        raise UsageError("a context name or --current is needed" if not args.current else
                         "--current: no current-context is set")
    created = files.set_context(name, namespace=args.context_namespace, cluster=args.cluster, user=args.user)
    ctx.print(f'Context "{name}" {"created" if created else "modified"}.')
    return 0


def view(ctx: Context) -> int:
    args = ctx.args
    output, _, template = args.output.partition("=")
    if output not in ("yaml", "json", "jsonpath") or (output == "jsonpath") != bool(template):
        raise UsageError(f"unknown output format {args.output!r}: expected yaml, json or jsonpath=TEMPLATE")
    document = _files(ctx).view(minify=args.minify, flatten=args.flatten, raw=args.raw, context=args.context)
    if output == "jsonpath":
        ctx.out.write(_render(template, document))
    else:
        ctx.out.write(dump_json(document) if output == "json" else dump_yaml(document))
    return 0


def _render(template: str, document: Any) -> str:
    try:
        return Template(template).render(document)
    except JSONPathError as exc:
        raise UsageError(str(exc)) from None
